package e2e

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coda-fs/coda/server/bintest"
	"github.com/coda-fs/coda/server/proto"
	"github.com/coda-fs/coda/server/servertest"
)

// secretCopy copies the SCM's realm secret to a file of the test's, as the
// operator does before joining a server.
func secretCopy(t *testing.T, c *cell, mode os.FileMode) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(c.data, "db", "realm.secret"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "realm.secret")
	if err := os.WriteFile(path, b, mode); err != nil {
		t.Fatal(err)
	}
	os.Chmod(path, mode)
	return path
}

// login logs in at addr, pinning the realm CA caPEM.
func login(t *testing.T, addr string, caPEM []byte, user, password string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := servertest.Dial(ctx, addr, realm, caPEM)
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.Login(user, password)
	return err
}

// TestJoinRealm: a second server joins with a copy of the realm secret,
// serves logins of users made on the SCM (within 5 s), keeps serving them
// with the SCM stopped, and sends changes to the SCM.
func TestJoinRealm(t *testing.T) {
	c := newCell(t)
	ca, _ := os.ReadFile(c.caFile())
	admin := func(args ...string) bintest.Result {
		full := append([]string{args[0], "-h", c.addr, "--key", c.keyFile()}, args[1:]...)
		return bintest.Run(t, "alice-secret\nalice-secret\n", full...)
	}
	if r := admin("pdbtool", "nu", "alice"); r.Code != 0 {
		t.Fatal(r.Stderr)
	}
	if r := admin("au", "nu", "alice"); r.Code != 0 {
		t.Fatal(r.Stderr)
	}

	dir := t.TempDir()
	data2, addr2 := filepath.Join(dir, "vice2"), freeAddr(t)
	r := bintest.Run(t, "", "server", "init", "--data", data2, "--realm", realm, "--id", "2", "--listen", addr2,
		"--join", c.addr, "--secret", secretCopy(t, c, 0o600))
	if r.Code != 0 || !strings.Contains(r.Stdout, "joined realm") {
		t.Fatalf("join: exit %d, %s%s", r.Code, r.Stdout, r.Stderr)
	}
	for _, name := range []string{"server.key", "volutil.key", "realm.secret"} {
		if st, err := os.Stat(filepath.Join(data2, "db", name)); err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v %v, want mode 0600", name, st.Mode(), err)
		}
	}
	if _, err := os.Stat(filepath.Join(data2, "db", "ca.key")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the joined server holds the CA key: %v", err)
	}
	ready := filepath.Join(dir, "ready2")
	s2 := bintest.Start(t, filepath.Join(dir, "server2.log"), ready, "server", "--data", data2, "--ready-file", ready)
	t.Cleanup(s2.Stop)

	deadline := time.Now().Add(5 * time.Second)
	for {
		err := login(t, addr2, ca, "alice", "alice-secret")
		if err == nil {
			break
		}
		if !errors.Is(err, proto.ErrAuth) || time.Now().After(deadline) {
			t.Fatalf("login at the joined server: %v", err)
		}
		time.Sleep(50 * time.Millisecond) // poll: the copy arrives by itself
	}

	c.proc.Stop()
	if err := login(t, addr2, ca, "alice", "alice-secret"); err != nil {
		t.Fatalf("login at the joined server with the SCM down: %v", err)
	}
	r = bintest.Run(t, "", "pdbtool", "-h", addr2, "--key", filepath.Join(data2, "db", "volutil.key"), "nu", "bob")
	if r.Code == 0 || !strings.Contains(r.Stderr, c.addr) {
		t.Errorf("pdbtool nu at the joined server: exit %d, %q, want a refusal naming the SCM %s", r.Code, r.Stderr, c.addr)
	}
}

// TestJoinRefusals: a wrong secret, a secret file others can read, and a
// server id that belongs to another address are each refused with one
// line, leaving no data directory.
func TestJoinRefusals(t *testing.T) {
	c := newCell(t)
	wrong := filepath.Join(t.TempDir(), "wrong.secret")
	os.WriteFile(wrong, []byte(strings.Repeat("ab", 32)+"\n"), 0o600)
	cases := []struct {
		name, id, secret, want string
	}{
		{"wrong secret", "2", wrong, "realm secret rejected"},
		{"readable secret", "2", secretCopy(t, c, 0o644), "chmod 600"},
		{"the SCM's id", "1", secretCopy(t, c, 0o600), "belongs to " + c.addr},
	}
	for _, tc := range cases {
		data := filepath.Join(t.TempDir(), "vice")
		r := bintest.Run(t, "", "server", "init", "--data", data, "--realm", realm, "--id", tc.id,
			"--listen", freeAddr(t), "--join", c.addr, "--secret", tc.secret)
		if r.Code != 1 || !strings.Contains(r.Stderr, tc.want) || strings.Count(r.Stderr, "\n") != 1 {
			t.Errorf("%s: exit %d, stderr %q, want one line with %q", tc.name, r.Code, r.Stderr, tc.want)
		}
		if _, err := os.Stat(data); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: a refused join left %s", tc.name, data)
		}
	}
}
