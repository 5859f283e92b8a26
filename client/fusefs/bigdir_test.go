package fusefs_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coda-fs/coda/client/venustest"
	"github.com/coda-fs/coda/server/proto"
	"github.com/coda-fs/coda/server/servertest"
)

// fillDir creates n empty files named entry-NNNNNN in the directory name
// of the root volume, through the server directly (parallel creates share
// the server's syncs), as another client would.
func fillDir(t *testing.T, srv *servertest.Server, name string, n int) {
	cl := srv.Client()
	root, err := cl.Root(venustest.RootVolume)
	if err != nil {
		t.Fatal(err)
	}
	d, err := cl.Lookup(root, name)
	if err != nil {
		t.Fatal(err)
	}
	const workers = 32
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < n; i += workers {
				if _, err := cl.Create(proto.OpCreate, d.FID, fmt.Sprintf("entry-%06d", i), 0o644); err != nil {
					t.Error(err)
					return
				}
			}
		}(w)
	}
	wg.Wait()
}

// TestHugeDirectory: a 100,000-entry directory is listed with a few
// batched RPCs, and afterwards lookups and stats of its names are answered
// from venus's map without any RPC.
func TestHugeDirectory(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	n := 100000
	if raceEnabled {
		n = 20000 // the point is scale; the race detector makes the server ~10x slower
	}
	srv := venustest.NewServer(t)
	v := venustest.Start(t, srv, venustest.Options{})
	venustest.Sh(t, "mkdir "+v.Path("big"))
	fillDir(t, srv, "big", n)
	start := time.Now()
	var out string
	rpcs := rpcsDuring(v.Core, func() { out = venustest.Sh(t, "ls -l "+v.Path("big")+" | wc -l") })
	t.Logf("ls -l of %d entries: %v, RPCs %v", n, time.Since(start), rpcs)
	if strings.TrimSpace(out) != fmt.Sprint(n+1) {
		t.Fatalf("ls -l printed %s lines", out)
	}
	if rpcs[proto.OpGetAttr] > 10 || rpcs[proto.OpReadDir] > int64(n/8192+2) {
		t.Fatalf("listing made per-entry RPCs: %v", rpcs)
	}
	var names []string
	for i := 0; i < n; i += n / 1000 {
		names = append(names, v.Path("big", fmt.Sprintf("entry-%06d", (i*7919)%n)))
	}
	start = time.Now()
	rpcs = rpcsDuring(v.Core, func() {
		venustest.Sh(t, "stat "+strings.Join(names, " ")+" >/dev/null; ! stat "+v.Path("big/missing")+" 2>/dev/null")
	})
	t.Logf("stat of 1000 names and a missing one: %v", time.Since(start))
	if len(rpcs) != 0 {
		t.Fatalf("lookups in a cached directory made RPCs: %v", rpcs)
	}
}
