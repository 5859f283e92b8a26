package fusefs_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/coda-fs/coda/client/venustest"
	"github.com/coda-fs/coda/server/bintest"
)

// shFails runs script, which must fail with a message containing want.
func shFails(t *testing.T, script, want string) {
	t.Helper()
	_, err := venustest.ShErr(script)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("%s: got %v, want an error with %q", script, err, want)
	}
}

const (
	asNobody = "setpriv --reuid=65534 --regid=65534 --clear-groups "
	aliceUID = 4242 // a local uid that holds alice's token
	asAlice  = "setpriv --reuid=4242 --regid=4242 --clear-groups "
)

// TestPermissions: mode bits judged against Coda identities through the
// mount: root holds the admin's token, local uid 4242 alice's, nobody none
// (System:AnyUser, "other").
func TestPermissions(t *testing.T) {
	srv := venustest.NewServer(t)
	alice := srv.AddUser("alice", "alice-password")
	v := venustest.Start(t, srv, venustest.Options{})
	v.LogIn(srv, aliceUID, "alice", "alice-password")
	p := v.Path
	// Let others reach the mount point through the test's temp dirs.
	for d := filepath.Dir(v.Mount); d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
		os.Chmod(d, 0o755)
	}
	venustest.Sh(t, "echo secret > "+p("secret")+" && chmod 600 "+p("secret")+
		" && echo open > "+p("open")+" && chmod 644 "+p("open")+
		" && mkdir "+p("home")+" && chown "+strconv.Itoa(int(alice))+" "+p("home"))
	cfs(t, "sa", p("home"), "alice", "rlidwk")
	if got := venustest.Sh(t, "stat -c %u:%a "+p("secret")); got != "1:600\n" {
		t.Errorf("the admin's file is %q, want owner 1 (admin)", got)
	}
	shFails(t, asNobody+"cat "+p("secret"), "Permission denied")
	if got := venustest.Sh(t, asNobody+"cat "+p("open")); got != "open\n" {
		t.Errorf("nobody reads %q", got)
	}
	shFails(t, asNobody+"chmod 666 "+p("open"), "Operation not permitted")
	shFails(t, asNobody+"sh -c 'echo x >> "+p("open")+"'", "Permission denied")
	shFails(t, asNobody+"touch "+p("new"), "Permission denied")
	shFails(t, asAlice+"touch "+p("new"), "Permission denied") // AnyUser rl on the root
	shFails(t, asAlice+"chown 4242 "+p("home/../open"), "Operation not permitted")
	venustest.Sh(t, asAlice+"sh -c 'echo mine > "+p("home/mine")+" && chmod 600 "+p("home/mine")+"'")
	if got := venustest.Sh(t, "stat -c %u:%a "+p("home/mine")); got != strconv.Itoa(int(alice))+":600\n" {
		t.Errorf("alice's file is %q", got)
	}
	shFails(t, asNobody+"cat "+p("home/mine"), "Permission denied")
	shFails(t, asAlice+"test -x "+p("open")+" || exit 1", "exit status 1")
	venustest.Sh(t, "test -r "+p("secret"))    // the admin reads anything
	shFails(t, p("open"), "Permission denied") // no execute bit: not even the admin
}

// cfs runs the real `coda cfs` with args and fails the test when it fails.
func cfs(t *testing.T, args ...string) string {
	t.Helper()
	r := bintest.Run(t, "", append([]string{"cfs"}, args...)...)
	if r.Code != 0 {
		t.Fatalf("cfs %v: exit %d: %s", args, r.Code, r.Stderr)
	}
	return r.Stdout
}

func TestErrnos(t *testing.T) {
	srv := venustest.NewServer(t)
	v := venustest.Start(t, srv, venustest.Options{})
	p := v.Path
	venustest.Sh(t, "mkdir -p "+p("d/e")+" "+p("other")+" && echo x > "+p("d/f"))
	shFails(t, "mkdir "+p("d"), "File exists")
	shFails(t, "rmdir "+p("d"), "Directory not empty")
	shFails(t, "rm "+p("d/e")+" 2>&1 || unlink "+p("d/e"), "Is a directory")
	shFails(t, "rmdir "+p("d/f"), "Not a directory")
	shFails(t, "cat "+p("d/f/x"), "Not a directory")
	shFails(t, "cat "+p("d/missing"), "No such file or directory")
	venustest.Sh(t, "ln "+p("d/f")+" "+p("d/g")+" && ln "+p("d/f")+" "+p("other/f")+" && test $(stat -c %h "+p("d/g")+") = 3")
	shFails(t, "mkdir "+v.Mount+"/x", "Permission denied")
	if _, err := venustest.Output(venustest.Command("rename", p("d/e"), p("d/e/sub"))); err == nil ||
		!strings.Contains(err.Error(), "invalid argument") {
		t.Errorf("renaming a directory into itself: %v, want EINVAL", err)
	}
}
