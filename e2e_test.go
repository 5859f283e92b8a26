package main

// Tests of the built binary, run as separate processes as an operator
// would run them (DESIGN.md §6, the third tier).

import (
	"bytes"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coda-fs/coda/server/bintest"
	"github.com/coda-fs/coda/server/pki"
)

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestServerAndAdminToolsEndToEnd runs the built binary as an operator
// would: server init, server, createvol_rep, volutil (through a busybox
// symlink), refusals of a wrong key and a wrong CA, and SIGTERM.
func TestServerAndAdminToolsEndToEnd(t *testing.T) {
	dir := t.TempDir()
	data, listen := filepath.Join(dir, "server"), freePort(t)
	if r := bintest.Run(t, bintest.AdminPassword+"\n", "server", "init", "--data", data, "--realm", "e2e.test", "--id", "1", "--listen", listen); r.Code != 0 {
		t.Fatalf("server init: exit %d: %s", r.Code, r.Stderr)
	}
	key := filepath.Join(data, "db", "volutil.key")
	ready := filepath.Join(dir, "server.ready")
	srv := bintest.Start(t, filepath.Join(dir, "server.log"), ready, "server", "--data", data, "--ready-file", ready)
	if addr := strings.TrimSpace(string(mustRead(t, ready))); addr != listen {
		t.Errorf("ready file says %q, want %q", addr, listen)
	}

	r := bintest.Run(t, "", "createvol_rep", "coda.root", listen, "--key", key)
	if r.Code != 0 || !regexp.MustCompile(`^[0-9a-f]+\nreplica 1 `+regexp.QuoteMeta(listen)+` [0-9a-f]+\n$`).MatchString(r.Stdout) {
		t.Fatalf("createvol_rep: exit %d, stdout %q, stderr %q", r.Code, r.Stdout, r.Stderr)
	}
	id, _, _ := strings.Cut(r.Stdout, "\n")

	code, out, errs := runAs(t, filepath.Join(dir, "volutil"), "-h", listen, "--key", key, "getvolumelist")
	if code != 0 || !regexp.MustCompile(`(?m)^coda\.root +`+id+` +rw +`+regexp.QuoteMeta(listen)+` `).MatchString(out) {
		t.Fatalf("volutil getvolumelist: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	r = bintest.Run(t, "", "volutil", "-h", listen, "info", "coda.root", "--key", key)
	if r.Code != 0 || !strings.Contains(r.Stdout, "name    coda.root\nid      "+id+"\n") {
		t.Fatalf("volutil info: exit %d, stdout %q", r.Code, r.Stdout)
	}

	other := t.TempDir() // another admin key beside the right CA
	os.WriteFile(filepath.Join(other, "ca.pem"), mustRead(t, filepath.Join(data, "db", "ca.pem")), 0o644)
	wrongKey := filepath.Join(other, "volutil.key")
	k, _ := pki.NewAdminKey()
	pki.WriteSecretFile(wrongKey, k)
	r = bintest.Run(t, "", "volutil", "-h", listen, "--key", wrongKey, "getvolumelist")
	if r.Code != 1 || !strings.Contains(r.Stderr, "refused the admin key") || strings.Count(r.Stderr, "\n") != 1 {
		t.Fatalf("wrong key: exit %d, stderr %q", r.Code, r.Stderr)
	}
	otherCA, _, _ := pki.NewCA("e2e.test")
	caFile := filepath.Join(other, "other-ca.pem")
	os.WriteFile(caFile, otherCA, 0o644)
	r = bintest.Run(t, "", "volutil", "-h", listen, "--key", key, "--ca", caFile, "getvolumelist")
	if r.Code != 1 || !strings.Contains(r.Stderr, "not signed by the pinned realm CA") {
		t.Fatalf("wrong CA: exit %d, stderr %q", r.Code, r.Stderr)
	}

	srv.Signal(syscall.SIGTERM)
	if !srv.Wait(30 * time.Second) {
		t.Fatal("coda server did not stop within 30s of SIGTERM")
	}
	if c := srv.Cmd.ProcessState.ExitCode(); c != 0 {
		t.Errorf("coda server exited %d after SIGTERM: %s", c, mustRead(t, srv.LogFile))
	}
	if _, err := os.Stat(ready); err == nil {
		t.Error("the ready file outlived the server")
	}
}

// runAs runs the binary through a symlink named like path (a busybox
// name) and returns its exit status, stdout and stderr.
func runAs(t *testing.T, path string, args ...string) (int, string, string) {
	t.Helper()
	if err := os.Symlink(bintest.Binary(t), path); err != nil {
		t.Fatal(err)
	}
	var out, errw bytes.Buffer
	cmd := exec.Command(path, args...)
	cmd.Stdout, cmd.Stderr = &out, &errw
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	return cmd.ProcessState.ExitCode(), out.String(), errw.String()
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// needFUSE skips a test that mounts when this machine cannot, unless
// CODA_TEST_DISALLOW_SKIP is set.
func needFUSE(t *testing.T) {
	t.Helper()
	if _, err := os.Stat("/dev/fuse"); err != nil || os.Geteuid() != 0 {
		if os.Getenv("CODA_TEST_DISALLOW_SKIP") != "" {
			t.Fatal("mounting needs root and /dev/fuse")
		}
		t.Skip("mounting needs root and /dev/fuse")
	}
}

func mountedAt(t *testing.T, dir string) bool {
	t.Helper()
	b := mustRead(t, "/proc/self/mountinfo")
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) > 4 && f[4] == dir {
			return true
		}
	}
	return false
}

// TestCodaCellKeepsFilesAcrossRestart runs scripts/coda-cell as README's
// demo does: start, a file written through the mount, stop (nothing left
// mounted), start again, the file is still there.
func TestCodaCellKeepsFilesAcrossRestart(t *testing.T) {
	needFUSE(t)
	bin, dir := bintest.Binary(t), t.TempDir()
	cell := func(verb string) (int, string, string) {
		t.Helper()
		var out, errw bytes.Buffer
		cmd := exec.Command("scripts/coda-cell", verb, dir)
		cmd.Env = append(os.Environ(), "CODA_BIN="+bin, "CODA_CELL_WAIT=60")
		cmd.Stdout, cmd.Stderr = &out, &errw
		err := cmd.Run()
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatal(err)
		}
		return cmd.ProcessState.ExitCode(), out.String(), errw.String()
	}
	t.Cleanup(func() { cell("stop") })

	code, out, errs := cell("start")
	m := regexp.MustCompile(`(?m)^coda cell running: mount (\S+); stop with: \S+ stop (\S+)$`).FindStringSubmatch(out)
	if code != 0 || m == nil || m[1] != filepath.Join(dir, "mnt", "demo.local") {
		t.Fatalf("start: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	file := filepath.Join(m[1], "hello.txt")
	if err := os.WriteFile(file, []byte("hello, coda\n"), 0o644); err != nil {
		t.Fatalf("write through the mount: %v", err)
	}
	if code, out, _ := cell("status"); code != 0 || !strings.Contains(out, "venus: running") {
		t.Fatalf("status: exit %d: %s", code, out)
	}
	if code, _, errs := cell("stop"); code != 0 {
		t.Fatalf("stop: exit %d: %s", code, errs)
	}
	if mountedAt(t, filepath.Join(dir, "mnt")) {
		t.Fatal("the mount outlived coda-cell stop")
	}
	if code, _, _ := cell("status"); code == 0 {
		t.Fatal("status says a stopped cell runs")
	}
	if code, _, errs := cell("start"); code != 0 {
		t.Fatalf("second start: exit %d: %s", code, errs)
	}
	if b, err := os.ReadFile(file); err != nil || string(b) != "hello, coda\n" {
		t.Fatalf("after restart: %q, %v", b, err)
	}
}
