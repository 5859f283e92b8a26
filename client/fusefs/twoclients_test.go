package fusefs_test

import (
	"os"
	"strings"
	"testing"

	"github.com/coda-fs/coda/client/venustest"
	"github.com/coda-fs/coda/server/servertest"
)

// twoMounts starts a server and two venus mounts of its realm.
func twoMounts(t *testing.T) (srv *servertest.Server, a, b *venustest.Venus) {
	srv = venustest.NewServer(t)
	a = venustest.Start(t, srv, venustest.Options{})
	b = venustest.Start(t, srv, venustest.Options{})
	return srv, a, b
}

func TestTwoClientsSeeEachOthersChanges(t *testing.T) {
	_, a, b := twoMounts(t)
	venustest.Sh(t, "echo one > "+a.Path("f"))
	if got := venustest.Sh(t, "cat "+b.Path("f")); got != "one\n" {
		t.Fatalf("B reads %q, want %q", got, "one\n")
	}
	// B caches the size in the kernel; A's rewrite must invalidate it.
	if got := venustest.Sh(t, "stat -c %s "+b.Path("f")); got != "4\n" {
		t.Fatalf("B stat size %q", got)
	}
	venustest.Sh(t, "echo a-longer-line > "+a.Path("f"))
	if got := venustest.Sh(t, "stat -c %s "+b.Path("f")); got != "14\n" {
		t.Fatalf("B stat size after A's rewrite: %q, want 14", got)
	}
	venustest.Sh(t, "mv "+a.Path("f")+" "+a.Path("g"))
	if _, err := venustest.ShErr("cat " + b.Path("f")); err == nil {
		t.Fatalf("B still sees the old name after A's rename")
	}
	if got := venustest.Sh(t, "cat "+b.Path("g")); got != "a-longer-line\n" {
		t.Fatalf("B reads %q under the new name", got)
	}
	venustest.Sh(t, "rm "+a.Path("g"))
	if out, err := venustest.ShErr("ls " + b.Root); err != nil || strings.Contains(out, "g") {
		t.Fatalf("B lists %q (%v) after A's delete", out, err)
	}
	if _, err := venustest.ShErr("cat " + b.Path("g")); err == nil {
		t.Fatalf("B still reads a file A deleted")
	}
}

func TestTwoClientsDirectories(t *testing.T) {
	_, a, b := twoMounts(t)
	venustest.Sh(t, "mkdir -p "+a.Path("d/e")+" && echo x > "+a.Path("d/e/x"))
	if got := venustest.Sh(t, "ls "+b.Path("d")); got != "e\n" {
		t.Fatalf("B lists %q", got)
	}
	venustest.Sh(t, "touch "+b.Path("d/new")+" && rm -r "+b.Path("d/e"))
	if got := venustest.Sh(t, "ls "+a.Path("d")); got != "new\n" {
		t.Fatalf("A lists %q after B's changes", got)
	}
	if _, err := os.Stat(a.Path("d", "e", "x")); err == nil {
		t.Fatalf("A still sees a file B removed")
	}
}

// TestReadAfterCloseNeverStale: a helper process writes through A and reads
// through B right after close returns, 1000 times, with no sleep: the
// callback break is delivered (and B's kernel caches dropped) before A's
// close returns.
func TestReadAfterCloseNeverStale(t *testing.T) {
	_, a, b := twoMounts(t)
	venustest.Sh(t, "echo start > "+a.Path("f")+" && cat "+b.Path("f"))
	venustest.RunHelper(t, "writeread", a.Path("f"), b.Path("f"), "1000")
}
