package authserver

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coda-fs/coda/auth/password"
	"github.com/coda-fs/coda/server/proto"
	"github.com/coda-fs/coda/server/store"
)

const (
	testRealm   = "test.realm"
	adminPW     = "admin-secret-pw"
	testSCMAddr = "10.0.0.1:2432"
)

var testSecret = bytes.Repeat([]byte("k"), 32)

// testParams make argon2 cheap in tests (production uses 64 MiB).
var testParams = password.Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 32}

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// logBuf collects log output.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// env is an initialised SCM auth service on a real store.
type env struct {
	t     *testing.T
	dir   string
	db    *store.DB
	clock *clock
	log   *logBuf
	svc   *Service
	// waits records the throttle delays the service asked for.
	mu    sync.Mutex
	waits []time.Duration
}

func openStore(t *testing.T, dir string) *store.DB {
	t.Helper()
	db, err := store.Open(store.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// newEnv makes a store in a temporary directory, runs Init and starts an
// SCM service.
func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, dir: t.TempDir(), clock: newClock(), log: &logBuf{}}
	e.db = openStore(t, e.dir)
	if err := initWith(e.db, []byte(adminPW), testParams); err != nil {
		t.Fatal(err)
	}
	e.svc = e.start(e.db, true)
	return e
}

// start starts a service on db with the env's clock, log and sleep hook.
func (e *env) start(db *store.DB, scm bool) *Service {
	e.t.Helper()
	s, err := New(Config{DB: db, Realm: testRealm, Secret: testSecret, SCM: scm, SCMAddr: testSCMAddr,
		Logger: slog.New(slog.NewTextHandler(e.log, nil)), Now: e.clock.Now})
	if err != nil {
		e.t.Fatal(err)
	}
	s.params = testParams
	s.sleep = func(ctx context.Context, d time.Duration) error {
		e.mu.Lock()
		e.waits = append(e.waits, d)
		e.mu.Unlock()
		return nil
	}
	return s
}

func (e *env) takeWaits() []time.Duration {
	e.mu.Lock()
	defer e.mu.Unlock()
	w := e.waits
	e.waits = nil
	return w
}

// pdb runs a pdbtool command that must succeed.
func (e *env) pdb(args ...string) string {
	e.t.Helper()
	out, err := e.svc.PDB(args)
	if err != nil {
		e.t.Fatalf("pdbtool %s: %v", strings.Join(args, " "), err)
	}
	return out
}

// login logs in from 127.0.0.1.
func (e *env) login(user, pw string) (proto.TokenInfo, error) {
	return e.svc.Login(context.Background(), user, []byte(pw), "127.0.0.1:40000")
}

// wantCode checks that err is a *proto.Error with code c whose message
// contains want.
func wantCode(t *testing.T, err error, c proto.Code, want string) {
	t.Helper()
	var pe *proto.Error
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T) is not a *proto.Error", err, err)
	}
	if pe.Code != c || !strings.Contains(pe.Error(), want) {
		t.Fatalf("error %q (code %d), want code %d containing %q", pe.Error(), pe.Code, c, want)
	}
	if strings.Contains(pe.Error(), "\n") {
		t.Fatalf("error %q spans lines", pe.Error())
	}
}
