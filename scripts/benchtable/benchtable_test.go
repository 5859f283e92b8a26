package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeRun(t *testing.T, dir, target string, n int, body string) {
	t.Helper()
	d := filepath.Join(dir, target)
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	fn := filepath.Join(d, fmt.Sprintf("run-%d.out", n))
	if err := os.WriteFile(fn, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// runText is fsbench.sh output whose figures are k times a base run
// totalling 10 s.
func runText(k float64) string {
	base := []struct {
		phase string
		secs  float64
	}{
		{"untar", 2}, {"find_stat", 1}, {"grep", 1}, {"small_create", 0.5},
		{"small_delete", 0.5}, {"dd_write", 2}, {"dd_read", 1}, {"rm_rf", 2},
	}
	var b strings.Builder
	for _, p := range base {
		fmt.Fprintf(&b, "%-13s %8.3f\n", p.phase, p.secs*k)
	}
	b.WriteString("# files=12 big=1024MiB small=5000x4KiB drop_caches=1 dir=/x\n")
	return b.String()
}

func TestTableMediansTotalsAndRatios(t *testing.T) {
	dir := t.TempDir()
	writeRun(t, dir, "local", 1, runText(1))
	writeRun(t, dir, "loopback", 1, runText(2))
	writeRun(t, dir, "loopback", 2, runText(3))
	writeRun(t, dir, "loopback", 3, runText(2))
	if err := os.MkdirAll(filepath.Join(dir, "sshfs"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "sshfs", "na"), []byte("sshfs not installed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	md := filepath.Join(dir, "out.md")
	var out bytes.Buffer
	if err := run([]string{"-dir", dir, "-targets", "local loopback sshfs", "-md", md}, &out); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	for _, want := range []string{
		"untar", "4.00 (2.0x)", // median of 4,6,4 over local 2
		"total", "10.00", "20.00 (2.0x)", // local total 10; loopback totals 20,30,20
		"n/a", "sshfs: n/a (sshfs not installed)",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("text table lacks %q:\n%s", want, text)
		}
	}
	b, err := os.ReadFile(md)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "| **total** | **10.00** | **20.00 (2.0x)** | **n/a** |") {
		t.Errorf("markdown total row wrong:\n%s", b)
	}
}

func TestFailedAndTruncatedRunsAreMarked(t *testing.T) {
	dir := t.TempDir()
	writeRun(t, dir, "local", 1, runText(1))
	writeRun(t, dir, "coda", 1, "untar 3.000  (rc=2)\nfind_stat 1.000\nstray output\n")
	var out bytes.Buffer
	if err := run([]string{"-dir", dir, "-targets", "local coda"}, &out); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	for _, want := range []string{"3.00 (1.5x)!", `ignored output line "stray output"`} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q:\n%s", want, text)
		}
	}
	// The truncated run has no total: a sum over missing phases would lie.
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, "total") && !strings.HasSuffix(strings.TrimSpace(l), "-*") {
			t.Errorf("total of truncated run should be -*: %q", l)
		}
	}
}

func TestMedianEven(t *testing.T) {
	if got := median([]float64{4, 1, 3, 2}); got != 2.5 {
		t.Fatalf("median = %v, want 2.5", got)
	}
}

func TestEmptyTargetIsNotMeasured(t *testing.T) {
	var out bytes.Buffer
	if err := run([]string{"-dir", t.TempDir(), "-targets", "local"}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "local: n/a (no runs recorded)") {
		t.Fatalf("missing n/a note:\n%s", out.String())
	}
}

func TestFreePort(t *testing.T) {
	var out bytes.Buffer
	if err := run([]string{"-freeport"}, &out); err != nil {
		t.Fatal(err)
	}
	if p := strings.TrimSpace(out.String()); p == "" || p == "0" {
		t.Fatalf("bad port %q", p)
	}
}
