package fusefs_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coda-fs/coda/client/venus"
	"github.com/coda-fs/coda/client/venustest"
	"github.com/coda-fs/coda/server/proto"
)

// rpcsDuring returns the RPCs v sent while fn ran.
func rpcsDuring(v *venus.Venus, fn func()) map[proto.Op]int64 {
	before := v.Stats().RPCs
	fn()
	out := map[proto.Op]int64{}
	for op, n := range v.Stats().RPCs {
		if d := n - before[op]; d != 0 {
			out[op] = d
		}
	}
	return out
}

func TestCachedStatAndOpenMakeNoRPC(t *testing.T) {
	srv := venustest.NewServer(t)
	v := venustest.Start(t, srv, venustest.Options{})
	venustest.Sh(t, "mkdir -p "+v.Path("a/b")+" && echo data > "+v.Path("a/b/f")+" && cat "+v.Path("a/b/f"))
	// A fresh process walks the path, stats and opens: everything holds a
	// callback, so venus answers from its cache.
	rpcs := rpcsDuring(v.Core, func() {
		for i := 0; i < 3; i++ {
			venustest.Sh(t, "stat "+v.Path("a/b/f")+" >/dev/null && cat "+v.Path("a/b/f")+" >/dev/null && ls -l "+v.Path("a/b")+" >/dev/null")
		}
	})
	if len(rpcs) != 0 {
		t.Fatalf("stat/open/readdir of cached objects made RPCs: %v", rpcs)
	}
}

func TestWarmRestartValidatesOncePerVolume(t *testing.T) {
	srv := venustest.NewServer(t)
	v := venustest.Start(t, srv, venustest.Options{})
	var script strings.Builder
	fmt.Fprintf(&script, "mkdir %s", v.Path("d"))
	for i := 0; i < 20; i++ {
		fmt.Fprintf(&script, " && echo file%d > %s", i, v.Path("d", fmt.Sprint("f", i)))
	}
	venustest.Sh(t, script.String())
	v.Restart()
	rpcs := rpcsDuring(v.Core, func() {
		out := venustest.Sh(t, "cat "+v.Path("d")+"/*")
		for i := 0; i < 20; i++ {
			if !strings.Contains(out, fmt.Sprintf("file%d\n", i)) {
				t.Fatalf("after restart, read %q", out)
			}
		}
	})
	if rpcs[proto.OpValidate] != 1 || rpcs[proto.OpFetch] != 0 || rpcs[proto.OpGetAttr] != 0 || rpcs[proto.OpReadDir] != 0 {
		t.Fatalf("warm restart: want exactly one validate and no fetch, getattr or readdir; got %v", rpcs)
	}
}

func TestCacheSizeBoundsCachedData(t *testing.T) {
	const mib = 1 << 20
	srv := venustest.NewServer(t)
	w := venustest.Start(t, srv, venustest.Options{})
	r := venustest.Start(t, srv, venustest.Options{CacheSize: 64 * mib})
	// 16 files of 16 MiB written through one client, read through the
	// other: 256 MiB through a 64 MiB cache.
	venustest.Sh(t, "for i in $(seq 1 16); do head -c 16777216 /dev/urandom > "+w.Path("big")+"$i; done")
	venustest.Sh(t, "cat "+r.Path("big")+"* > /dev/null")
	s := waitClosed(t, r.Core)
	if s.CachedBytes > 64*mib {
		t.Fatalf("cache holds %d bytes with cache size 64 MiB", s.CachedBytes)
	}
	if s.Evictions < 12 {
		t.Fatalf("only %d evictions reading 256 MiB through a 64 MiB cache: %+v", s.Evictions, s)
	}
	if n := allocatedBytes(t, r.CacheDir+"/containers"); n > 64*mib {
		t.Fatalf("containers take %d bytes on disk", n)
	}
}

// waitClosed waits for venus to see every handle released (the kernel
// sends RELEASE after close returns) and returns its counters then.
func waitClosed(t *testing.T, v *venus.Venus) venus.Stats {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s := v.Stats()
		if s.OpenFiles == 0 {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d files still open in venus", s.OpenFiles)
		}
		time.Sleep(time.Millisecond)
	}
}

// allocatedBytes sums the allocated bytes of the files in dir.
func allocatedBytes(t *testing.T, dir string) int64 {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, e := range ents {
		var st syscall.Stat_t
		if err := syscall.Stat(filepath.Join(dir, e.Name()), &st); err != nil {
			t.Fatal(err)
		}
		n += st.Blocks * 512
	}
	return n
}
