package fusefs_test

import (
	"bufio"
	"io"
	"os/exec"
	"strings"
	"testing"

	"github.com/coda-fs/coda/client/venustest"
)

// holder is a helper process holding a file open.
type holder struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Reader
}

func startHolder(t *testing.T, path string) (*holder, string) {
	t.Helper()
	cmd := venustest.Command("hold", path)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h := &holder{cmd: cmd, stdin: stdin, out: bufio.NewReader(stdout)}
	t.Cleanup(func() { stdin.Close(); cmd.Wait() })
	first, err := h.out.ReadString('\n')
	if err != nil {
		t.Fatalf("holder: %v", err)
	}
	return h, first
}

// reread makes the holder read its descriptor again and exit.
func (h *holder) reread(t *testing.T) string {
	t.Helper()
	io.WriteString(h.stdin, "\n")
	line, err := h.out.ReadString('\n')
	if err != nil {
		t.Fatalf("holder: %v", err)
	}
	if err := h.cmd.Wait(); err != nil {
		t.Fatalf("holder: %v", err)
	}
	return line
}

// TestOpenFilesKeepTheirVersion: two processes of client A hold a file
// open while client B rewrites it. No open fails; the open descriptors keep
// the old content, an open made while they are open gets the old content
// too (one container per file), and an open after they closed gets the new.
func TestOpenFilesKeepTheirVersion(t *testing.T) {
	_, a, b := twoMounts(t)
	venustest.Sh(t, "echo old > "+a.Path("f"))
	h1, got1 := startHolder(t, a.Path("f"))
	h2, got2 := startHolder(t, a.Path("f"))
	if got1 != "\"old\\n\"\n" || got2 != got1 {
		t.Fatalf("holders read %q and %q", got1, got2)
	}
	venustest.Sh(t, "echo new-content > "+b.Path("f"))
	if got := venustest.Sh(t, "cat "+a.Path("f")); got != "old\n" {
		t.Fatalf("an open while the file is open on A got %q, want the old content", got)
	}
	if got := h1.reread(t); got != "\"old\\n\"\n" {
		t.Fatalf("holder 1 rereads %q", got)
	}
	if got := h2.reread(t); got != "\"old\\n\"\n" {
		t.Fatalf("holder 2 rereads %q", got)
	}
	waitClosed(t, a.Core)
	if got := venustest.Sh(t, "cat "+a.Path("f")); got != "new-content\n" {
		t.Fatalf("an open after the holders closed got %q, want the new content", got)
	}
	if s := venustest.Sh(t, "stat -c %s "+a.Path("f")); strings.TrimSpace(s) != "12" {
		t.Fatalf("A stats size %s", s)
	}
}
