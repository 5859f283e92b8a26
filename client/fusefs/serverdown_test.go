package fusefs_test

import (
	"strings"
	"testing"
	"time"

	"github.com/coda-fs/coda/client/venustest"
)

// TestServerDownGivesETIMEDOUT: with the server gone, operations fail with
// ETIMEDOUT within seconds, not hang; when it is back, venus reconnects,
// revalidates and serves again, callbacks included.
func TestServerDownGivesETIMEDOUT(t *testing.T) {
	srv := venustest.NewServer(t)
	v := venustest.Start(t, srv, venustest.Options{})
	venustest.Sh(t, "echo before > "+v.Path("f"))
	srv.Stop()
	// Until venus notices the connection died it trusts its callbacks
	// (as Coda does); it notices within the liveness timeout.
	waitFor(t, "venus to notice the server is gone", func() bool { return !v.Core.Connected() })
	for _, cmd := range []string{"cat " + v.Path("f"), "ls " + v.Path("missing"), "touch " + v.Path("new")} {
		start := time.Now()
		_, err := venustest.ShErr(cmd)
		if err == nil || !strings.Contains(err.Error(), "Connection timed out") {
			t.Errorf("%s with the server down: %v, want ETIMEDOUT", cmd, err)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("%s took %v with the server down", cmd, d)
		}
	}
	srv.Restart()
	deadline := time.Now().Add(15 * time.Second)
	for {
		out, err := venustest.ShErr("cat " + v.Path("f"))
		if err == nil && out == "before\n" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("venus did not recover after the server came back: %q %v", out, err)
		}
		time.Sleep(100 * time.Millisecond) // venus retries a dead server at most every 2s
	}
	venustest.Sh(t, "echo after > "+v.Path("f"))
	rpcs := rpcsDuring(v.Core, func() { venustest.Sh(t, "cat "+v.Path("f")+" >/dev/null") })
	if len(rpcs) != 0 {
		t.Errorf("after reconnecting, a cached read made RPCs %v", rpcs)
	}
}

// waitFor polls cond until it holds, failing the test after 10s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
