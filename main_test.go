package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/coda-fs/coda/man"
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
	code, _, errs := runCoda(t, "/usr/bin/codadump2tar", "-f", "/nonexistent/x")
	if code != 1 || errs != "coda: dump2tar: open /nonexistent/x: no such file or directory\n" {
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
		{[]string{"coda", "clog", "-pipe", "--mount", missing}, 1, "clog: no coda mount at or above"},
		{[]string{"coda", "clog", "-as", "www-data", "--mount", missing}, 1, "clog: no coda mount"},
		{[]string{"coda", "pdbtool", "frobnicate"}, 2, "pdbtool: unknown command"},
		{[]string{"coda", "au", "xx", "alice"}, 2, "au: unknown command"},
		{[]string{"coda", "createvol_rep", "only-a-name"}, 2, "need a volume NAME"},
		{[]string{"coda", "createvol_rep", "--bogus", "v", "h:1"}, 2, "createvol_rep: flag provided but not defined: -bogus"},
		{[]string{"coda", "createvol_rep", "v", "2", "3"}, 2, "name the SCM with -h"},
		{[]string{"coda", "purgevol_rep"}, 2, "need exactly one volume NAME"},
		{[]string{"coda", "purgevol_rep", "bad/name"}, 2, "bad volume name"},
		{nine, 2, "at most 8 replicas"},
		{[]string{"coda", "createvol_rep", "bad/name", "h:1"}, 2, "bad volume name"},
		{[]string{"coda", "createvol_rep", "v", "127.0.0.1:1", "--key", missing}, 1, "admin key"},
		{[]string{"coda", "volutil", "-h", "127.0.0.1:1", "getvolumelist", "--key", missing}, 1, "admin key"},
		{[]string{"coda", "volutil", "nosuch"}, 2, `unknown command "nosuch"`},
		{[]string{"coda", "volutil", "info"}, 2, "need exactly one VOL"},
		{[]string{"coda", "volutil", "purge"}, 2, "need exactly one VOL"},
		{[]string{"coda", "volutil", "lock", "v", "w"}, 2, "need exactly one VOL"},
		{[]string{"coda", "server", "init", "--listen", "127.0.0.1:1"}, 2, "--realm is required"},
		{[]string{"coda", "server", "init", "--realm", "r", "--listen", "h:1", "--id", "256"}, 2, "--id must be 1-255"},
		{[]string{"coda", "server", "init", "--realm", "r", "--listen", "h:1", "--join", "h:2"}, 2, "--join and --secret go together"},
		{[]string{"coda", "server", "init", "--realm", "r", "--listen", "127.0.0.1:1", "--data", missing + ".d", "--join", "127.0.0.1:1", "--secret", missing}, 1, "realm secret"},
		{[]string{"coda", "server", "stray"}, 2, `unexpected argument "stray"`},
		{[]string{"coda", "venus", "--config", "/dev/null"}, 2, "no realm"},
		{[]string{"coda", "venus", "--config", "/dev/null", "--realm", "r"}, 2, "no servers"},
		{[]string{"coda", "venus", "--config", "/dev/null", "--realm", "r", "--servers", "h", "--cache-size", "lots"}, 2, "bad size"},
		{[]string{"coda", "venus", "--config", missing}, 1, "venus config"},
		{[]string{"coda", "venus", "--config", "/dev/null", "--realm", "r.test", "--servers", "127.0.0.1:1,127.0.0.1:2",
			"--mount", missing + ".mnt", "--cache", missing + ".cache"}, 1, "from any server"},
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
