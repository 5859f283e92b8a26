package fusefs_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/coda-fs/coda/client/venus"
	"github.com/coda-fs/coda/client/venustest"
	"github.com/coda-fs/coda/server/proto"
)

// TestServerDownServesTheCache: with the server gone, venus is
// disconnected: what it cached is served, a cache miss fails with
// ETIMEDOUT within seconds (never hangs), a name the cached directory
// lacks is ENOENT, and a new file is taken (logged). When the server is
// back, venus reconnects, sends the logged file, revalidates and serves
// again, callbacks included.
func TestServerDownServesTheCache(t *testing.T) {
	srv := venustest.NewServer(t)
	v := venustest.Start(t, srv, venustest.Options{})
	venustest.Sh(t, "echo before > "+v.Path("f"))
	other := srv.Client()
	root, err := other.Root(venustest.RootVolume)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Create(proto.OpCreate, root, "unseen", 0o644); err != nil {
		t.Fatal(err)
	}
	venustest.Sh(t, "ls "+v.Path("")+" >/dev/null") // the name is cached, its data is not
	srv.Stop()
	// Until venus notices the connection died it trusts its callbacks
	// (as Coda does); it notices within the liveness timeout.
	waitFor(t, "venus to notice the server is gone", func() bool { return !v.Core.Connected() })
	for _, c := range []struct{ cmd, want string }{
		{"cat " + v.Path("f"), ""},
		{"cat " + v.Path("unseen"), "Connection timed out"},
		{"ls " + v.Path("missing"), "No such file or directory"},
		{"echo new > " + v.Path("new"), ""},
	} {
		start := time.Now()
		_, err := venustest.ShErr(c.cmd)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s with the server down: %v", c.cmd, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s with the server down: %v, want %s", c.cmd, err, c.want)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%s took %v with the server down", c.cmd, d)
		}
	}
	srv.Restart()
	deadline := time.Now().Add(15 * time.Second)
	for {
		if a, err := srv.Client().Lookup(root, "new"); err == nil && a.Size == 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the file made while the server was down never reached it")
		}
		time.Sleep(100 * time.Millisecond) // venus retries a dead server every 2s
	}
	if out := venustest.Sh(t, "cat "+v.Path("f")+" "+v.Path("unseen")); out != "before\n" {
		t.Fatalf("after reconnecting: %q", out)
	}
	venustest.Sh(t, "echo after > "+v.Path("f"))
	rpcs := rpcsDuring(v.Core, func() { venustest.Sh(t, "cat "+v.Path("f")+" >/dev/null") })
	if len(rpcs) != 0 {
		t.Errorf("after reconnecting, a cached read made RPCs %v", rpcs)
	}
}

// waitFor polls cond until it holds, failing the test after 10s.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestKernelCacheDroppedOnReconnect: while venus is cut off from the
// server the kernel may cache what venus serves (nothing else can change
// it then); when the server is back those caches go, so a change made on
// the server meanwhile is seen at once (its size, its data), not an hour
// later.
func TestKernelCacheDroppedOnReconnect(t *testing.T) {
	srv := venustest.NewServer(t)
	v := venustest.Start(t, srv, venustest.Options{})
	venustest.Sh(t, "echo old > "+v.Path("f"))
	v.Core.Disconnect(nil)
	waitFor(t, "venus to be cut off", func() bool { return !v.Core.Connected() })
	for range 3 { // the last use leaves the kernel holding f's attributes
		if out := venustest.Sh(t, "cat "+v.Path("f")+" && stat -c %s "+v.Path("f")); out != "old\n4\n" {
			t.Fatalf("disconnected: %q", out)
		}
	}
	other := srv.Client()
	root, err := other.Root(venustest.RootVolume)
	if err != nil {
		t.Fatal(err)
	}
	f, err := other.Lookup(root, "f")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Store(f.FID, []byte("changed on the server\n")); err != nil {
		t.Fatal(err)
	}
	v.Core.Reconnect(nil)
	waitFor(t, "venus to reconnect", v.Core.Connected)
	// The kernel's caches are dropped just after the server attaches
	// (not under the link's lock): within moments, not an hour.
	var out string
	waitFor(t, "the kernel to see the server's change", func() bool {
		out = venustest.Sh(t, "stat -c %s "+v.Path("f")+" && cat "+v.Path("f"))
		return out == "22\nchanged on the server\n"
	})
}

// TestVolumeAndTokenEvents: codacon's stream says when a volume is
// disconnected and connected again, when reintegration starts, and when a
// user's token expires. A clog by one user does not make venus forget the
// others' rights (uid 0 still works disconnected).
func TestVolumeAndTokenEvents(t *testing.T) {
	srv := venustest.NewServer(t)
	v := venustest.Start(t, srv, venustest.Options{})
	venustest.Sh(t, "echo x > "+v.Path("f")+" && ls -l "+v.Path("")+" >/dev/null")
	c := srv.AnonClient()
	defer c.Close()
	srv.AddUser("bob", "bobs password")
	tok, err := c.Login("bob", "bobs password")
	if err != nil {
		t.Fatal(err)
	}
	tok.Expires = time.Now().Add(300 * time.Millisecond).UnixNano() // venus's view: soon
	// Another user's clog keeps what venus knows of the rights of the
	// others (disconnected, it is all venus has to go by).
	if _, err := v.Core.SetToken(context.Background(), 4242, tok); err != nil {
		t.Fatal(err)
	}
	v.Core.Disconnect(nil)
	venustest.Sh(t, "echo while away > "+v.Path("g"))
	v.Core.Reconnect(nil)
	want := map[string]string{
		venus.EventVolume:        "disconnected",
		venus.EventReintegrating: "reintegrating 2 updates",
		venus.EventTokenExpired:  "local uid 4242 (bob) expired",
	}
	var seen []string
	after := uint64(0)
	deadline := time.Now().Add(10 * time.Second)
	for len(want) > 0 && time.Now().Before(deadline) {
		b, err := v.Core.Events(context.Background(), venus.Caller{}, after, false, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		after = b.Last
		for _, e := range b.Events {
			seen = append(seen, e.Kind+": "+e.Msg)
			if w, ok := want[e.Kind]; ok && strings.Contains(e.Msg, w) {
				delete(want, e.Kind)
			}
		}
	}
	if len(want) > 0 {
		t.Fatalf("events missing: %v; seen:\n%s", want, strings.Join(seen, "\n"))
	}
}
