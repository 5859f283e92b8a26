package venustest

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/coda-fs/coda/client"
	"github.com/coda-fs/coda/client/venus"
	"github.com/coda-fs/coda/server/proto"
	"github.com/coda-fs/coda/server/servertest"
)

// RootVolume is the name of the realm's root volume NewServer creates.
const RootVolume = "coda.root"

// NewServer starts an in-process server with the realm's root volume.
func NewServer(t testing.TB) *servertest.Server {
	t.Helper()
	s := servertest.Start(t, servertest.Options{Logger: Logger(t, "server")})
	s.CreateVolume(RootVolume)
	return s
}

// Options tune a test venus. Zero values are fine.
type Options struct {
	CacheDir      string // default: a new temp dir
	Mount         string // default: a new temp dir
	CacheSize     int64
	NoPassthrough bool
	// CAFile: "" pins the server's CA file; TOFU: trust on first use.
	CAFile string
	TOFU   bool
	// Servers overrides the server addresses.
	Servers []string
	// Anonymous leaves the test process (root) without a token; by
	// default venus holds the admin's token for local uid 0, as the
	// local-cell script does after `coda clog admin`.
	Anonymous bool
}

// Venus is a running in-process venus mount.
type Venus struct {
	Mount    string // the mount point
	Root     string // Mount/REALM: the realm's root directory
	CacheDir string
	Core     *venus.Venus

	t      testing.TB
	opts   client.VenusOptions
	tokens map[uint32]proto.TokenInfo // handed to venus again on Restart
	cancel context.CancelFunc
	done   chan error
}

// Start mounts a venus for srv's realm and stops it when the test ends.
func Start(t testing.TB, srv *servertest.Server, o Options) *Venus {
	t.Helper()
	if o.CacheDir == "" {
		o.CacheDir = filepath.Join(t.TempDir(), "cache")
	}
	if o.Mount == "" {
		o.Mount = filepath.Join(t.TempDir(), "mnt")
	}
	if o.CAFile == "" && !o.TOFU {
		o.CAFile = srv.CAFile
	}
	if o.Servers == nil {
		o.Servers = []string{srv.Addr}
	}
	v := &Venus{Mount: o.Mount, Root: filepath.Join(o.Mount, srv.Realm), CacheDir: o.CacheDir, t: t}
	v.opts = client.VenusOptions{Realm: srv.Realm, Servers: o.Servers, Mount: o.Mount,
		CacheDir: o.CacheDir, CacheSize: o.CacheSize, CAFile: o.CAFile,
		NoPassthrough: o.NoPassthrough, UnmountWait: 500 * time.Millisecond, Logger: Logger(t, "venus")}
	if err := v.start(); err != nil {
		t.Fatalf("venus did not start: %v", err)
	}
	t.Cleanup(v.Stop)
	if !o.Anonymous {
		v.LogIn(srv, 0, "admin", servertest.AdminPassword)
	}
	return v
}

// LogIn gets user's token from srv and hands it to venus for local uid
// local, as `coda clog` does.
func (v *Venus) LogIn(srv *servertest.Server, local uint32, user, password string) {
	v.t.Helper()
	c := srv.AnonClient()
	defer c.Close()
	tok, err := c.Login(user, password)
	if err != nil {
		v.t.Fatalf("log in as %s: %v", user, err)
	}
	if _, err := v.Core.SetToken(context.Background(), local, tok); err != nil {
		v.t.Fatalf("venus: set the token of %s for uid %d: %v", user, local, err)
	}
	if v.tokens == nil {
		v.tokens = map[uint32]proto.TokenInfo{}
	}
	v.tokens[local] = tok
}

// Run runs venus with opts until it is ready or fails; it returns the
// error of a venus that fails to start (for tests of start-up errors).
func Run(t testing.TB, opts client.VenusOptions) (*Venus, error) {
	v := &Venus{Mount: opts.Mount, CacheDir: opts.CacheDir, t: t, opts: opts}
	if err := v.start(); err != nil {
		return nil, err
	}
	t.Cleanup(v.Stop)
	return v, nil
}

func (v *Venus) start() error {
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	opts := v.opts
	opts.Started = func(c *venus.Venus) { v.Core = c }
	opts.Ready = func() { close(ready) }
	v.cancel, v.done = cancel, make(chan error, 1)
	go func() { v.done <- client.RunVenus(ctx, opts) }()
	select {
	case <-ready:
		return nil
	case err := <-v.done:
		cancel()
		v.cancel = nil
		return err
	case <-time.After(60 * time.Second):
		cancel()
		v.cancel = nil
		return context.DeadlineExceeded
	}
}

// Stop unmounts and waits for venus to end. Stopping twice is fine.
func (v *Venus) Stop() {
	if v.cancel == nil {
		return
	}
	v.cancel()
	v.cancel = nil
	if err := <-v.done; err != nil {
		v.t.Errorf("venus exit: %v", err)
	}
}

// Restart stops venus and starts it again on the same cache and mount.
func (v *Venus) Restart() {
	v.t.Helper()
	v.Stop()
	v.Core = nil
	if err := v.start(); err != nil {
		v.t.Fatalf("venus did not restart: %v", err)
	}
	for local, tok := range v.tokens {
		if _, err := v.Core.SetToken(context.Background(), local, tok); err != nil {
			v.t.Fatalf("venus: set the token for uid %d again: %v", local, err)
		}
	}
}

// Path joins names to the realm's root directory.
func (v *Venus) Path(names ...string) string {
	return filepath.Join(append([]string{v.Root}, names...)...)
}

// Logger returns a logger that writes to the test's log until the test
// ends (then it discards), at debug level when CODA_TEST_DEBUG is set.
func Logger(t testing.TB, who string) *slog.Logger {
	w := &testWriter{t: t}
	t.Cleanup(w.close)
	level := slog.LevelWarn
	if os.Getenv("CODA_TEST_DEBUG") != "" {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level})).With("who", who)
}

type testWriter struct {
	mu   sync.Mutex
	t    testing.TB
	done bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(string(p))
	}
	return len(p), nil
}

func (w *testWriter) close() {
	w.mu.Lock()
	w.done = true
	w.mu.Unlock()
}

var _ io.Writer = (*testWriter)(nil)
