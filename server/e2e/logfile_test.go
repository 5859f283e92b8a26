package e2e

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coda-fs/coda/server/bintest"
)

// TestLogFileRotation: a server logging to a file (--log-file, JSON)
// starts a new file at the path after logrotate moved the old one away,
// on volutil swaplog and on SIGHUP; nothing is lost between them, every
// line is one JSON object, and the file is not world-readable.
func TestLogFileRotation(t *testing.T) {
	c := initCell(t)
	logFile := filepath.Join(c.dir, "log", "server.log")
	os.Mkdir(filepath.Dir(logFile), 0o755)
	ready := filepath.Join(c.dir, "ready")
	stderr := filepath.Join(c.dir, "stderr")
	p := bintest.Start(t, stderr, ready, "server", "--data", c.data, "--ready-file", ready, "--log-file", logFile, "--log-format", "json")
	admin := func(args ...string) string {
		t.Helper()
		r := bintest.Run(t, "", append([]string{"volutil", "-h", c.addr, "--key", c.keyFile()}, args...)...)
		if r.Code != 0 {
			t.Fatalf("volutil %v: %s", args, r.Stderr)
		}
		return r.Stdout
	}
	// holds waits until file has a line containing s.
	holds := func(file, s string) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			if b, _ := os.ReadFile(file); bytes.Contains(b, []byte(s)) {
				return
			}
			if time.Now().After(deadline) {
				b, _ := os.ReadFile(file)
				t.Fatalf("%s never said %q:\n%s", file, s, b)
			}
		}
	}
	holds(logFile, "server ready")

	os.Rename(logFile, logFile+".1")
	// Logged into the moved file, still open until swaplog.
	if r := bintest.Run(t, "", "createvol_rep", "before.swap", c.addr, "--key", c.keyFile()); r.Code != 0 {
		t.Fatalf("createvol_rep: %s", r.Stderr)
	}
	if out := admin("swaplog"); !strings.Contains(out, "reopened") {
		t.Fatalf("swaplog said %q", out)
	}
	holds(logFile, "log file reopened")
	os.Rename(logFile, logFile+".2")
	p.Signal(syscall.SIGHUP)
	holds(logFile, "log file reopened")

	one, _ := os.ReadFile(logFile + ".1")
	for _, s := range []string{"server ready", "before.swap"} {
		if !bytes.Contains(one, []byte(s)) {
			t.Errorf("the first file lacks %q:\n%s", s, one)
		}
	}
	for _, f := range []string{logFile + ".1", logFile + ".2", logFile} {
		b, _ := os.ReadFile(f)
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			var rec map[string]any
			if err := json.Unmarshal([]byte(line), &rec); err != nil || rec["msg"] == nil || rec["level"] == nil {
				t.Errorf("%s: not a JSON log record: %q", f, line)
			}
		}
		if st, err := os.Stat(f); err != nil || st.Mode().Perm()&0o007 != 0 {
			t.Errorf("%s: mode %v, %v", f, st.Mode(), err)
		}
	}
	if b, _ := os.ReadFile(stderr); len(b) != 0 {
		t.Errorf("a server with --log-file wrote to stderr: %s", b)
	}

	// A server logging to stderr says there is nothing to reopen.
	p.Stop()
	p = bintest.Start(t, stderr, ready, "server", "--data", c.data, "--ready-file", ready)
	if out := admin("swaplog"); !strings.Contains(out, "no log file") {
		t.Fatalf("swaplog of a server on stderr said %q", out)
	}
	if r := bintest.Run(t, "", "server", "--data", c.data, "--log-format", "xml"); r.Code != 2 || !strings.Contains(r.Stderr, "log-format") {
		t.Fatalf("a bad --log-format: exit %d, %q", r.Code, r.Stderr)
	}
}
