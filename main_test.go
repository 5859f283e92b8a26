package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/coda-fs/coda/man"
	"github.com/coda-fs/coda/server/pki"
)

func TestMain(m *testing.M) {
	configureCLI()
	os.Exit(m.Run())
}

// runCoda runs a command line in process and returns its exit status,
// stdout and stderr.
func runCoda(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errw bytes.Buffer
	code := run(context.Background(), args, &out, &errw)
	return code, out.String(), errw.String()
}

func TestEveryModeOfTheDesignIsRegistered(t *testing.T) {
	app := newApp(nil, nil)
	for _, mode := range []string{
		"server", "createvol_rep", "purgevol_rep", "volutil", "dump2tar", "pdbtool", "au",
		"venus", "clog", "ctokens", "cunlog", "cpasswd", "cfs", "hoard", "codacon",
	} {
		if app.Command(mode) == nil {
			t.Errorf("mode %s is not registered", mode)
		}
	}
	for _, name := range busyboxNames() {
		mode, ok := busyboxMode("/usr/local/bin/" + name)
		if !ok || app.Command(mode) == nil {
			t.Errorf("busybox name %s dispatches to %q, which is not a mode", name, mode)
		}
	}
	if m, _ := busyboxMode("codadump2tar"); m != "dump2tar" {
		t.Errorf("codadump2tar runs %q, want dump2tar", m)
	}
	if _, ok := busyboxMode("/usr/bin/coda"); ok {
		t.Error("coda itself is a busybox name")
	}
}

func TestBusyboxNameRunsItsMode(t *testing.T) {
	code, out, _ := runCoda(t, "/usr/sbin/volutil", "--help")
	if code != 0 || !strings.Contains(out, "coda volutil - administer the volumes") {
		t.Fatalf("volutil --help: exit %d, output %q", code, out)
	}
	code, _, errs := runCoda(t, "/usr/bin/codadump2tar", "-f", "x")
	if code != 1 || errs != "coda: dump2tar: not implemented yet\n" {
		t.Fatalf("codadump2tar: exit %d, stderr %q", code, errs)
	}
}

func TestMakefileInstallsEveryBusyboxName(t *testing.T) {
	b, err := os.ReadFile("Makefile")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^BUSYBOX\s*:?=\s*(.*)$`).FindSubmatch(b)
	if m == nil {
		t.Fatal("Makefile has no BUSYBOX := line")
	}
	got := strings.Fields(string(m[1]))
	want := busyboxNames()
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("Makefile BUSYBOX = %v, want %v", got, want)
	}
}

func TestExitStatusAndOneLineErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.key")
	nine := []string{"coda", "createvol_rep", "v"}
	for i := 0; i < 9; i++ {
		nine = append(nine, "h:1")
	}
	cases := []struct {
		args   []string
		code   int
		stderr string // substring; "" = stderr must be empty
	}{
		{[]string{"coda", "--version"}, 0, ""},
		{[]string{"coda", "--help"}, 0, ""},
		{[]string{"coda"}, 2, "no mode given"},
		{[]string{"coda", "nosuch"}, 2, `unknown mode "nosuch"`},
		{[]string{"coda", "--bogus"}, 2, "flag provided but not defined"},
		{[]string{"coda", "clog", "-pipe"}, 1, "clog: not implemented yet"},
		{[]string{"coda", "createvol_rep", "only-a-name"}, 2, "need a volume NAME"},
		{[]string{"coda", "createvol_rep", "--bogus", "v", "h:1"}, 2, "createvol_rep: flag provided but not defined: -bogus"},
		{[]string{"coda", "createvol_rep", "v", "a:1", "b:1"}, 1, "replication across several servers is not available yet"},
		{nine, 2, "at most 8 replicas"},
		{[]string{"coda", "createvol_rep", "bad/name", "h:1"}, 2, "bad volume name"},
		{[]string{"coda", "createvol_rep", "v", "127.0.0.1:1", "--key", missing}, 1, "admin key"},
		{[]string{"coda", "volutil", "-h", "127.0.0.1:1", "getvolumelist", "--key", missing}, 1, "admin key"},
		{[]string{"coda", "volutil", "nosuch"}, 2, `unknown command "nosuch"`},
		{[]string{"coda", "volutil", "info"}, 2, "need exactly one VOL"},
		{[]string{"coda", "volutil", "lock", "v"}, 1, "volutil lock: not implemented yet"},
		{[]string{"coda", "server", "init", "--listen", "127.0.0.1:1"}, 2, "--realm is required"},
		{[]string{"coda", "server", "init", "--realm", "r", "--listen", "h:1", "--id", "256"}, 2, "--id must be 1-255"},
		{[]string{"coda", "server", "init", "--realm", "r", "--listen", "h:1", "--join", "h:2"}, 1, "not available yet"},
		{[]string{"coda", "server", "stray"}, 2, `unexpected argument "stray"`},
		{[]string{"coda", "venus", "--config", "/dev/null"}, 2, "no realm"},
		{[]string{"coda", "venus", "--config", "/dev/null", "--realm", "r"}, 2, "no servers"},
		{[]string{"coda", "venus", "--config", "/dev/null", "--realm", "r", "--servers", "h", "--cache-size", "lots"}, 2, "bad size"},
		{[]string{"coda", "venus", "--config", missing}, 1, "venus config"},
	}
	for _, tc := range cases {
		code, _, errs := runCoda(t, tc.args...)
		name := strings.Join(tc.args, " ")
		if code != tc.code {
			t.Errorf("%s: exit %d, want %d (stderr %q)", name, code, tc.code, errs)
		}
		if tc.stderr == "" {
			if errs != "" {
				t.Errorf("%s: stderr %q, want none", name, errs)
			}
			continue
		}
		if !strings.HasPrefix(errs, "coda: ") || strings.Count(errs, "\n") != 1 || !strings.Contains(errs, tc.stderr) {
			t.Errorf("%s: stderr %q, want one line \"coda: …%s…\"", name, errs, tc.stderr)
		}
	}
}

func TestVersionPrintsVersionAndCommit(t *testing.T) {
	code, out, _ := runCoda(t, "coda", "--version")
	if code != 0 || !strings.Contains(out, version) || !strings.Contains(out, "commit "+commit) {
		t.Fatalf("exit %d, output %q", code, out)
	}
}

func TestSignalledRunExitsZero(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var errw bytes.Buffer
	if code := exitCode(ctx, context.Canceled, &errw); code != 0 || errw.Len() != 0 {
		t.Fatalf("cancelled run: exit %d, stderr %q", code, errw.String())
	}
	if code := exitCode(context.Background(), context.Canceled, &errw); code != 1 {
		t.Fatalf("a cancellation not asked for: exit %d, want 1", code)
	}
}

func TestFlagsMayFollowArguments(t *testing.T) {
	app := newApp(nil, nil)
	cases := []struct{ in, want string }{
		{"coda createvol_rep NAME S1 --key F", "coda createvol_rep --key F NAME S1"},
		{"coda createvol_rep --key=F NAME S1 --ca C", "coda createvol_rep --key=F --ca C NAME S1"},
		{"coda volutil -h H getvolumelist --key F", "coda volutil -h H --key F getvolumelist"},
		{"coda volutil getvolumelist -h H", "coda volutil -h H getvolumelist"},
		{"coda volutil -h H info VOL -all", "coda volutil -h H info -all VOL"},
		{"coda server init --realm R --listen L", "coda server init --realm R --listen L"},
		{"coda venus --realm R --help", "coda venus --realm R --help"},
		{"coda createvol_rep NAME -- --odd --key F", "coda createvol_rep -- NAME --odd --key F"},
		{"coda clog -pipe admin", "coda clog -pipe admin"},
		{"coda volutil nosuch --key F", "coda volutil nosuch --key F"},
	}
	for _, tc := range cases {
		got := strings.Join(flagsFirst(app, strings.Fields(tc.in)), " ")
		if got != tc.want {
			t.Errorf("%q → %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestEveryBuiltCommandHasHelpWithExamples runs --help on every mode and
// subcommand that is built (not a placeholder).
func TestEveryBuiltCommandHasHelpWithExamples(t *testing.T) {
	var walk func(path []string, cmds []*cli.Command)
	walk = func(path []string, cmds []*cli.Command) {
		for _, c := range cmds {
			if c.Hidden || c.Name == "help" {
				continue
			}
			p := append(slices.Clone(path), c.Name)
			args := append(append([]string{"coda"}, p...), "--help")
			code, out, errs := runCoda(t, args...)
			if code != 0 || errs != "" || !strings.Contains(out, "USAGE:") {
				t.Errorf("%s: exit %d, stderr %q, output lacks USAGE", strings.Join(args, " "), code, errs)
			}
			if !strings.Contains(c.Usage, "not implemented yet") && !strings.Contains(out, "EXAMPLES:") {
				t.Errorf("%s: help has no EXAMPLES", strings.Join(args, " "))
			}
			walk(p, c.Subcommands)
		}
	}
	walk(nil, newApp(nil, nil).Commands)
}

func TestManPagesAreCurrent(t *testing.T) {
	dir := t.TempDir()
	if code, _, errs := runCoda(t, "coda", "gen-man", dir); code != 0 {
		t.Fatalf("gen-man: exit %d: %s", code, errs)
	}
	fresh, err := man.Generated(dir)
	if err != nil {
		t.Fatal(err)
	}
	committed, err := man.Generated("man")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(fresh, committed) {
		t.Errorf("man/ holds generated pages %v, the commands generate %v: run make man", committed, fresh)
	}
	for _, name := range fresh {
		want, _ := os.ReadFile(filepath.Join(dir, name))
		got, err := os.ReadFile(filepath.Join("man", name))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("man/%s is stale: run make man", name)
		}
	}
	for _, p := range manPages() {
		if !slices.Contains(fresh, p.File()) {
			t.Errorf("page %s was not generated", p.File())
		}
	}
}

// codaBinary returns the binary under test: $CODA_BIN (make test sets it
// to the static build), else one built for this test.
func codaBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CODA_BIN"); p != "" {
		return p
	}
	bin := filepath.Join(t.TempDir(), "coda")
	cmd := exec.Command(goTool(), "build", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// exe runs the binary and returns its exit status, stdout and stderr.
func exe(t *testing.T, bin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errw bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &out, &errw
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("%s %v: %v", bin, args, err)
	}
	return cmd.ProcessState.ExitCode(), out.String(), errw.String()
}

// waitFile polls for a non-empty file until the deadline, failing early
// when the process exits.
func waitFile(t *testing.T, path string, exited <-chan struct{}, what string) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(path); err == nil && len(b) > 0 {
			return strings.TrimSpace(string(b))
		}
		select {
		case <-exited:
			t.Fatalf("%s exited before it was ready", what)
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("%s not ready after 30s", what)
	return ""
}

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
	bin := codaBinary(t)
	dir := t.TempDir()
	data, listen := filepath.Join(dir, "server"), freePort(t)
	if code, _, errs := exe(t, bin, "server", "init", "--data", data, "--realm", "e2e.test", "--id", "1", "--listen", listen); code != 0 {
		t.Fatalf("server init: exit %d: %s", code, errs)
	}
	key := filepath.Join(data, "db", "volutil.key")
	ready := filepath.Join(dir, "server.ready")
	var serverErr bytes.Buffer
	srv := exec.Command(bin, "server", "--data", data, "--ready-file", ready)
	srv.Stderr = &serverErr
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { srv.Wait(); close(exited) }()
	t.Cleanup(func() { srv.Process.Kill(); <-exited })
	addr := waitFile(t, ready, exited, "coda server")
	if addr != listen {
		t.Errorf("ready file says %q, want %q", addr, listen)
	}

	code, out, errs := exe(t, bin, "createvol_rep", "coda.root", addr, "--key", key)
	if code != 0 || !regexp.MustCompile(`^[0-9a-f]+\n$`).MatchString(out) {
		t.Fatalf("createvol_rep: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	id := strings.TrimSpace(out)

	volutil := filepath.Join(dir, "volutil")
	if err := os.Symlink(bin, volutil); err != nil {
		t.Fatal(err)
	}
	code, out, errs = exe(t, volutil, "-h", addr, "--key", key, "getvolumelist")
	if code != 0 || !regexp.MustCompile(`(?m)^coda\.root +`+id+` +rw +`+regexp.QuoteMeta(addr)+` `).MatchString(out) {
		t.Fatalf("volutil getvolumelist: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	code, out, _ = exe(t, volutil, "-h", addr, "info", "coda.root", "--key", key)
	if code != 0 || !strings.Contains(out, "name    coda.root\nid      "+id+"\n") {
		t.Fatalf("volutil info: exit %d, stdout %q", code, out)
	}

	other := t.TempDir() // another admin key beside the right CA
	os.WriteFile(filepath.Join(other, "ca.pem"), mustRead(t, filepath.Join(data, "db", "ca.pem")), 0o644)
	wrongKey := filepath.Join(other, "volutil.key")
	k, _ := pki.NewAdminKey()
	pki.WriteSecretFile(wrongKey, k)
	code, _, errs = exe(t, volutil, "-h", addr, "--key", wrongKey, "getvolumelist")
	if code != 1 || !strings.Contains(errs, "refused the admin key") || strings.Count(errs, "\n") != 1 {
		t.Fatalf("wrong key: exit %d, stderr %q", code, errs)
	}
	otherCA, _, _ := pki.NewCA("e2e.test")
	caFile := filepath.Join(other, "other-ca.pem")
	os.WriteFile(caFile, otherCA, 0o644)
	code, _, errs = exe(t, volutil, "-h", addr, "--key", key, "--ca", caFile, "getvolumelist")
	if code != 1 || !strings.Contains(errs, "not signed by the pinned realm CA") {
		t.Fatalf("wrong CA: exit %d, stderr %q", code, errs)
	}

	srv.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		t.Fatal("coda server did not stop within 30s of SIGTERM")
	}
	if c := srv.ProcessState.ExitCode(); c != 0 {
		t.Errorf("coda server exited %d after SIGTERM: %s", c, serverErr.String())
	}
	if _, err := os.Stat(ready); err == nil {
		t.Error("the ready file outlived the server")
	}
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
	bin, dir := codaBinary(t), t.TempDir()
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
