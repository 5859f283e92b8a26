package fusefs_test

import (
	"testing"
	"time"

	"github.com/coda-fs/coda/client/venustest"
)

// TestReadsBypassVenusWithPassthrough: reading and writing a cached file
// makes no read or write call into venus; getattr of the open file still
// reports what was written.
func TestReadsBypassVenusWithPassthrough(t *testing.T) {
	srv := venustest.NewServer(t)
	v := venustest.Start(t, srv, venustest.Options{})
	venustest.Sh(t, "head -c 8388608 /dev/urandom > "+v.Path("big")+" && cat "+v.Path("big")+" >/dev/null")
	venustest.Sh(t, "cat "+v.Path("big")+" > /dev/null; dd if=/dev/zero of="+v.Path("big")+
		" bs=4096 count=3 seek=5 conv=notrunc status=none; stat -c %s "+v.Path("big"))
	s := v.Core.Stats()
	if s.Reads != 0 || s.Writes != 0 {
		t.Fatalf("venus served %d reads and %d writes despite passthrough", s.Reads, s.Writes)
	}
}

// TestWithoutPassthroughVenusServesIO: with passthrough off venus serves
// reads and writes from the container, and counts them.
func TestWithoutPassthroughVenusServesIO(t *testing.T) {
	srv := venustest.NewServer(t)
	v := venustest.Start(t, srv, venustest.Options{NoPassthrough: true})
	venustest.Sh(t, "echo hello > "+v.Path("f"))
	if got := venustest.Sh(t, "cat "+v.Path("f")); got != "hello\n" {
		t.Fatalf("read %q", got)
	}
	w := venustest.Start(t, srv, venustest.Options{})
	if got := venustest.Sh(t, "cat "+w.Path("f")); got != "hello\n" {
		t.Fatalf("other client read %q", got)
	}
	s := v.Core.Stats()
	if s.Reads == 0 || s.Writes == 0 {
		t.Fatalf("without passthrough venus served %d reads, %d writes", s.Reads, s.Writes)
	}
}

// TestBigFileReadSpeed reads a cached 256 MiB file through venus and the
// same file from local disk, and prints both rates. Passthrough should put
// them level; the test fails only below 40% (the machine may be busy).
func TestBigFileReadSpeed(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	srv := venustest.NewServer(t)
	v := venustest.Start(t, srv, venustest.Options{})
	local := t.TempDir() + "/big"
	venustest.Sh(t, "head -c 268435456 /dev/urandom > "+local+" && cp "+local+" "+v.Path("big")+
		" && cat "+v.Path("big")+" > /dev/null")
	rate := func(path string) float64 {
		start := time.Now()
		venustest.Sh(t, "cat "+path+" > /dev/null")
		return 256 / time.Since(start).Seconds()
	}
	r1, r2 := rate(local), rate(v.Path("big"))
	t.Logf("cached read: local disk %.0f MiB/s, venus %.0f MiB/s (%.0f%%)", r1, r2, 100*r2/r1)
	if r2 < 0.4*r1 {
		t.Errorf("a cached read through venus runs at %.0f%% of local disk", 100*r2/r1)
	}
}
