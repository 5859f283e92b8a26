package authserver

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coda-fs/coda/auth/password"
	"github.com/coda-fs/coda/server/proto"
)

func TestInitPersistsAcrossReopen(t *testing.T) {
	e := newEnv(t)
	e.pdb("nu", "alice")
	if err := e.svc.SetPassword("alice", []byte("alice-pw")); err != nil {
		t.Fatal(err)
	}
	pv, wv := e.svc.pdb.Version(), e.svc.pw.Version()
	if err := e.db.Close(); err != nil {
		t.Fatal(err)
	}
	db := openStore(t, e.dir)
	s := e.start(db, true)
	if s.pdb.Version() != pv || s.pw.Version() != wv {
		t.Fatalf("versions after reopen %d/%d, want %d/%d", s.pdb.Version(), s.pw.Version(), pv, wv)
	}
	for user, pw := range map[string]string{"admin": adminPW, "alice": "alice-pw"} {
		if _, err := s.Login(context.Background(), user, []byte(pw), "127.0.0.1:1"); err != nil {
			t.Errorf("login %s after reopen: %v", user, err)
		}
	}
	if ids, admin := s.CPS(proto.AdminUserID); !admin || len(ids) != 3 {
		t.Errorf("CPS(admin) = %v, %v; want admin, AnyUser and Administrators", ids, admin)
	}
}

func TestInitRefusesEmptyPasswordAndSecondRun(t *testing.T) {
	db := openStore(t, t.TempDir())
	if err := Init(db, nil); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Fatalf("Init with empty password: %v", err)
	}
	if err := initWith(db, []byte("pw"), testParams); err != nil {
		t.Fatal(err)
	}
	if err := initWith(db, []byte("pw2"), testParams); err == nil || !strings.Contains(err.Error(), "already exist") {
		t.Fatalf("second Init: %v", err)
	}
}

func TestInitUsesProductionHash(t *testing.T) {
	db := openStore(t, t.TempDir())
	if err := Init(db, []byte("pw")); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	_, pw, err := openAll(db, &mu)
	if err != nil {
		t.Fatal(err)
	}
	hash, ok := pw.Value().lookup(proto.AdminUserID, "admin")
	if !ok || password.NeedsRehash(hash, password.DefaultParams()) {
		t.Fatalf("admin hash missing or not made with the default parameters")
	}
}

func TestLoginIssuesTokenTheServiceAccepts(t *testing.T) {
	e := newEnv(t)
	info, err := e.login("admin", adminPW)
	if err != nil {
		t.Fatal(err)
	}
	wantExp := e.clock.Now().Add(25 * time.Hour).UnixNano()
	if info.UserID != proto.AdminUserID || info.User != "admin" || info.Expires != wantExp || len(info.Token) == 0 {
		t.Fatalf("token info %+v, want admin (1) expiring %d", info, wantExp)
	}
	id, err := e.svc.OpenToken(info.Token)
	if err != nil {
		t.Fatal(err)
	}
	if id.UserID != 1 || id.User != "admin" || id.Expires.UnixNano() != wantExp {
		t.Fatalf("ident %+v", id)
	}
}

func TestFailedLoginsLookAlike(t *testing.T) {
	e := newEnv(t)
	e.pdb("nu", "nopw") // a user without a password entry
	cases := map[string][2]string{
		"wrong password": {"admin", "guess-one"},
		"unknown user":   {"mallory", "guess-two"},
		"no password":    {"nopw", "guess-three"},
		"empty password": {"admin", ""},
	}
	var texts []string
	for name, c := range cases {
		_, err := e.login(c[0], c[1])
		if !errors.Is(err, proto.ErrAuth) {
			t.Fatalf("%s: error %v, want proto.ErrAuth", name, err)
		}
		wantCode(t, err, proto.CodeAuth, "login failed")
		if c[1] != "" && strings.Contains(err.Error(), c[1]) {
			t.Fatalf("%s: error %q holds the password", name, err)
		}
		texts = append(texts, err.Error())
	}
	for _, x := range texts[1:] {
		if x != texts[0] {
			t.Fatalf("failed logins differ: %q vs %q", texts[0], x)
		}
	}
	log := e.log.String()
	if n := strings.Count(log, "login failed"); n != len(cases) {
		t.Fatalf("%d 'login failed' log lines, want %d:\n%s", n, len(cases), log)
	}
	if !strings.Contains(log, "user=mallory") || !strings.Contains(log, "addr=127.0.0.1:40000") {
		t.Fatalf("log does not name user and address:\n%s", log)
	}
	for _, c := range cases {
		if c[1] != "" && strings.Contains(log, c[1]) {
			t.Fatalf("log holds password %q:\n%s", c[1], log)
		}
	}
}

func TestThrottleAfterFiveFailures(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	fail := func(user, addr string) {
		t.Helper()
		if _, err := e.svc.Login(ctx, user, []byte("wrong"), addr); !errors.Is(err, proto.ErrAuth) {
			t.Fatalf("login %s from %s: %v", user, addr, err)
		}
	}
	for range password.Threshold {
		fail("admin", "10.1.1.1:1000")
		e.clock.Advance(time.Second)
	}
	if w := e.takeWaits(); len(w) != 0 {
		t.Fatalf("first %d failures waited %v", password.Threshold, w)
	}
	// The sixth attempt waits, even with the right password; it succeeds.
	if _, err := e.svc.Login(ctx, "admin", []byte(adminPW), "10.1.1.1:1001"); err != nil {
		t.Fatal(err)
	}
	if w := e.takeWaits(); len(w) != 1 || w[0] < time.Second {
		t.Fatalf("sixth attempt waited %v, want one wait >= 1s", w)
	}
	// Another user from the same host (other port) is throttled too.
	fail("bob", "10.1.1.1:2000")
	if w := e.takeWaits(); len(w) != 1 || w[0] < time.Second {
		t.Fatalf("attempt from the throttled host waited %v", w)
	}
	// Another host, another user: no wait.
	fail("carol", "10.2.2.2:1000")
	if w := e.takeWaits(); len(w) != 0 {
		t.Fatalf("unrelated attempt waited %v", w)
	}
	// A minute later the window has passed.
	e.clock.Advance(password.Window + time.Second)
	fail("bob", "10.1.1.1:3000")
	if w := e.takeWaits(); len(w) != 0 {
		t.Fatalf("attempt after the window waited %v", w)
	}
}

func TestThrottleWaitRespectsContext(t *testing.T) {
	e := newEnv(t)
	e.svc.sleep = sleepFor // the real wait
	for range password.Threshold {
		_, _ = e.login("admin", "wrong")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	_, err := e.svc.Login(ctx, "admin", []byte(adminPW), "127.0.0.1:1")
	if err == nil || !errors.Is(err, context.Canceled) {
		t.Fatalf("login with a cancelled context while throttled: %v", err)
	}
	if d := time.Since(start); d >= password.Delay {
		t.Fatalf("cancelled login took %v", d)
	}
	// With time to wait, the real wait happens and the login succeeds.
	start = time.Now()
	if _, err := e.svc.Login(context.Background(), "admin", []byte(adminPW), "127.0.0.1:1"); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < password.Delay {
		t.Fatalf("throttled login took %v, want >= %v", d, password.Delay)
	}
}

func TestChangePassword(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	err := e.svc.ChangePassword(ctx, "admin", []byte("wrong"), []byte("new-pw"), "127.0.0.1:1")
	if !errors.Is(err, proto.ErrAuth) {
		t.Fatalf("change with a wrong old password: %v", err)
	}
	wantCode(t, e.svc.ChangePassword(ctx, "admin", []byte(adminPW), nil, "127.0.0.1:1"), proto.CodeInvalid, "empty")
	if err := e.svc.ChangePassword(ctx, "admin", []byte(adminPW), []byte("new-pw"), "127.0.0.1:1"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.login("admin", adminPW); !errors.Is(err, proto.ErrAuth) {
		t.Fatalf("old password still works: %v", err)
	}
	if _, err := e.login("admin", "new-pw"); err != nil {
		t.Fatalf("new password: %v", err)
	}
}

func TestSetPassword(t *testing.T) {
	e := newEnv(t)
	wantCode(t, e.svc.SetPassword("ghost", []byte("pw")), proto.CodeNotFound, "no such user")
	wantCode(t, e.svc.SetPassword("System:AnyUser", []byte("pw")), proto.CodeNotFound, "no such user")
	e.pdb("nu", "alice")
	if err := e.svc.SetPassword("alice", []byte("pw1")); err != nil {
		t.Fatal(err)
	}
	if _, err := e.login("alice", "pw1"); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.SetPassword("alice", nil); err != nil { // au du
		t.Fatal(err)
	}
	if _, err := e.login("alice", "pw1"); !errors.Is(err, proto.ErrAuth) {
		t.Fatalf("login after the password was deleted: %v", err)
	}
	if strings.Contains(e.log.String(), "pw1") {
		t.Fatal("log holds a password")
	}
}

func TestDeleteUserRemovesPassword(t *testing.T) {
	e := newEnv(t)
	out := e.pdb("nu", "carol")
	if err := e.svc.SetPassword("carol", []byte("carol-pw")); err != nil {
		t.Fatal(err)
	}
	info, err := e.login("carol", "carol-pw")
	if err != nil {
		t.Fatal(err)
	}
	e.pdb("d", "carol")
	if _, ok := e.svc.pw.Value()[info.UserID]; ok {
		t.Fatal("password entry survives the user")
	}
	if _, err := e.login("carol", "carol-pw"); !errors.Is(err, proto.ErrAuth) {
		t.Fatalf("login of a deleted user: %v", err)
	}
	wantCode(t, func() error { _, err := e.svc.OpenToken(info.Token); return err }(), proto.CodeAccess, "no such user")
	// Re-created with the same id, carol has no password.
	if want := "created user carol (id 2)\n"; out != want {
		t.Fatalf("nu printed %q, want %q", out, want)
	}
	e.pdb("nui", "carol", "2")
	if _, err := e.login("carol", "carol-pw"); !errors.Is(err, proto.ErrAuth) {
		t.Fatalf("re-created user logs in with the old password: %v", err)
	}
}
