package dbsync_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/coda-fs/coda/server/proto"
	"github.com/coda-fs/coda/server/servertest"
)

// waitLogin logs in as user at s until it works, up to 5 s (the bar for a
// change on the SCM to reach the other servers); it returns how long it
// took.
func waitLogin(t *testing.T, s *servertest.Server, user, password string) time.Duration {
	t.Helper()
	c := s.AnonClient()
	defer c.Close()
	start := time.Now()
	for {
		_, err := c.Login(user, password)
		if err == nil {
			return time.Since(start)
		}
		if !errors.Is(err, proto.ErrAuth) {
			t.Fatalf("login as %s at %s: %v", user, s, err)
		}
		if time.Since(start) > 5*time.Second {
			t.Fatalf("login as %s at %s still fails after 5 s: %v", user, s, err)
		}
		time.Sleep(50 * time.Millisecond) // poll: the copy arrives by itself
	}
}

// TestFollowerCopiesTheSCM: a server that is not the SCM serves logins
// from its copy of the realm databases; a new user and a new password on
// the SCM reach it within 5 s; it keeps serving logins and tokens while
// the SCM is down, refuses changes (naming the SCM), and catches up when
// the SCM is back.
func TestFollowerCopiesTheSCM(t *testing.T) {
	scm := servertest.Start(t, servertest.Options{})
	f := servertest.StartFollower(t, scm, servertest.Options{})
	waitLogin(t, f, "admin", servertest.AdminPassword)

	scm.AddUser("bob", "bob-password")
	took := waitLogin(t, f, "bob", "bob-password")
	t.Logf("a new user reached the other server in %v", took)

	// A token from one server is good at the other (one realm key).
	c := f.AnonClient()
	tok, err := c.Login("bob", "bob-password")
	if err != nil {
		t.Fatal(err)
	}
	sc := scm.AnonClient()
	if id, err := sc.Bind(tok.Token); err != nil || id.User != "bob" {
		t.Fatalf("the SCM refused the other server's token: %+v %v", id, err)
	}

	// Changes go to the SCM only.
	ac := f.Admin()
	_, err = ac.PDB(context.Background(), []string{"nu", "carol"})
	ac.Close()
	if err == nil || !strings.Contains(err.Error(), scm.Addr) {
		t.Fatalf("pdbtool nu on the other server: %v, want a refusal naming the SCM %s", err, scm.Addr)
	}

	// The SCM goes down: logins and tokens keep working.
	scm.Stop()
	if _, err := f.AnonClient().Login("bob", "bob-password"); err != nil {
		t.Fatalf("login with the SCM down: %v", err)
	}
	if _, err := c.Bind(tok.Token); err != nil {
		t.Fatalf("bind with the SCM down: %v", err)
	}

	// Back up, a password change on the SCM reaches the copy.
	scm.Restart()
	a := scm.Admin()
	if err := a.SetPassword(context.Background(), "bob", []byte("new-password")); err != nil {
		t.Fatal(err)
	}
	a.Close()
	waitLogin(t, f, "bob", "new-password")
	if _, err := f.AnonClient().Login("bob", "bob-password"); !errors.Is(err, proto.ErrAuth) {
		t.Fatalf("the old password still works at the other server: %v", err)
	}
}

// TestDBFetchNeedsTheAdminKey: a user's connection, even an
// administrator's token, cannot fetch the databases (they hold password
// hashes).
func TestDBFetchNeedsTheAdminKey(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	for name, c := range map[string]*servertest.Client{"anonymous": s.AnonClient(), "admin token": s.Client()} {
		var out proto.DBFetchReply
		err := c.Call(proto.OpDBFetch, &proto.DBFetch{}, &out, nil)
		if !errors.Is(err, proto.ErrAccess) || len(out.DBs) != 0 {
			t.Errorf("%s: dbfetch gave %v and %d databases, want %v", name, err, len(out.DBs), proto.ErrAccess)
		}
	}
}
