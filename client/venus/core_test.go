package venus

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/coda-fs/coda/server/proto"
	"github.com/coda-fs/coda/server/servertest"
	servervolume "github.com/coda-fs/coda/server/volume"
)

// These tests drive the core API directly against a real server, without a
// mount.

func newServer(t *testing.T) *servertest.Server {
	s := servertest.Start(t, servertest.Options{})
	s.CreateVolume("coda.root")
	return s
}

func newCore(t *testing.T, s *servertest.Server, cache string) *Venus {
	t.Helper()
	return newCoreWith(t, s, Options{CacheDir: cache})
}

// newCoreWith is newCore with options (realm, servers and CA are s's; an
// empty cache directory is a new one), logged in as the admin.
func newCoreWith(t *testing.T, s *servertest.Server, o Options) *Venus {
	t.Helper()
	if o.CacheDir == "" {
		o.CacheDir = t.TempDir()
	}
	o.Realm, o.Servers, o.CAFile = s.Realm, []string{s.Addr}, s.CAFile
	v, err := New(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	c := s.AnonClient()
	defer c.Close()
	tok, err := c.Login("admin", servertest.AdminPassword)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.SetToken(context.Background(), root.UID, tok); err != nil {
		t.Fatal(err)
	}
	return v
}

var root = Caller{}

func realmIno(t *testing.T, v *Venus) uint64 {
	t.Helper()
	e, err := v.Lookup(context.Background(), root, RootIno, v.opts.Realm)
	if err != nil {
		t.Fatal(err)
	}
	return e.Ino
}

func writeFile(t *testing.T, v *Venus, dir uint64, name, data string) uint64 {
	t.Helper()
	ctx := context.Background()
	e, h, err := v.Create(ctx, root, dir, name, 0o644, syscall.O_WRONLY)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.File().WriteAt([]byte(data), 0); err != nil {
		t.Fatal(err)
	}
	if err := v.Flush(ctx, root, h); err != nil {
		t.Fatal(err)
	}
	if err := v.Release(ctx, root, h); err != nil {
		t.Fatal(err)
	}
	return e.Ino
}

func readFile(t *testing.T, v *Venus, ino uint64) string {
	t.Helper()
	ctx := context.Background()
	h, err := v.Open(ctx, root, ino, syscall.O_RDONLY)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Release(ctx, root, h)
	b, err := io.ReadAll(io.NewSectionReader(h.File(), 0, 1<<30))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func lookup(t *testing.T, v *Venus, dir uint64, name string) uint64 {
	t.Helper()
	e, err := v.Lookup(context.Background(), root, dir, name)
	if err != nil {
		t.Fatal(err)
	}
	return e.Ino
}

func TestCoreStoreThenFetchOnAnotherClient(t *testing.T) {
	s := newServer(t)
	a, b := newCore(t, s, ""), newCore(t, s, "")
	defer a.Close()
	defer b.Close()
	writeFile(t, a, realmIno(t, a), "f", "hello")
	if got := readFile(t, b, lookup(t, b, realmIno(t, b), "f")); got != "hello" {
		t.Fatalf("b reads %q", got)
	}
	if n := b.Stats().RPC(proto.OpFetch); n != 1 {
		t.Fatalf("b fetched %d times", n)
	}
}

func TestCoreBreakDropsThePromise(t *testing.T) {
	s := newServer(t)
	a, b := newCore(t, s, ""), newCore(t, s, "")
	defer a.Close()
	defer b.Close()
	ino := writeFile(t, a, realmIno(t, a), "f", "one")
	bino := lookup(t, b, realmIno(t, b), "f")
	readFile(t, b, bino)
	before := b.Stats().RPC(proto.OpGetAttr)
	if _, err := b.GetAttr(context.Background(), root, bino); err != nil {
		t.Fatal(err)
	}
	if n := b.Stats().RPC(proto.OpGetAttr); n != before {
		t.Fatal("getattr with a callback made an RPC")
	}
	h, err := a.Open(context.Background(), root, ino, syscall.O_WRONLY|syscall.O_TRUNC)
	if err != nil {
		t.Fatal(err)
	}
	h.File().WriteAt([]byte("two!"), 0)
	a.Flush(context.Background(), root, h) // returns after b acknowledged the break
	a.Release(context.Background(), root, h)
	at, err := b.GetAttr(context.Background(), root, bino)
	if err != nil {
		t.Fatal(err)
	}
	if n := b.Stats().RPC(proto.OpGetAttr); n != before+1 || at.Size != 4 {
		t.Fatalf("after a break: %d getattr RPCs (want %d), size %d", n, before+1, at.Size)
	}
	if got := readFile(t, b, bino); got != "two!" {
		t.Fatalf("b reads %q after the break", got)
	}
}

// TestCoreChangedContainerIsDropped: a container changed behind venus's
// back (a write not stored before a crash) is not trusted at start.
func TestCoreChangedContainerIsDropped(t *testing.T) {
	s := newServer(t)
	cache := t.TempDir()
	a := newCore(t, s, cache)
	writeFile(t, a, realmIno(t, a), "f", "good")
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	var conts []string // the one holding data (the rest are spares)
	all, _ := filepath.Glob(filepath.Join(cache, "containers", "*"))
	for _, p := range all {
		if st, err := os.Stat(p); err == nil && st.Size() > 0 {
			conts = append(conts, p)
		}
	}
	if len(conts) != 1 {
		t.Fatalf("containers holding data: %v", conts)
	}
	if err := os.WriteFile(conts[0], []byte("evil"), 0o600); err != nil {
		t.Fatal(err)
	}
	a = newCore(t, s, cache)
	defer a.Close()
	if got := readFile(t, a, lookup(t, a, realmIno(t, a), "f")); got != "good" {
		t.Fatalf("read %q from a tampered cache", got)
	}
	if n := a.Stats().RPC(proto.OpFetch); n != 1 {
		t.Fatalf("%d fetches, want the tampered container refetched once", n)
	}
}

// TestLockedVolumeStallsUpdates: an update of a volume that volutil lock
// holds past the server's wait is answered "busy"; venus sends it again
// until the volume is unlocked, and the application sees no error.
func TestLockedVolumeStallsUpdates(t *testing.T) {
	old := servervolume.LockWait
	servervolume.LockWait = 200 * time.Millisecond
	defer func() { servervolume.LockWait = old }()
	s := newServer(t)
	v := newCore(t, s, t.TempDir())
	ctx := context.Background()
	realm := realmIno(t, v)
	a := s.Admin()
	defer a.Close()
	if _, err := a.LockVolume(ctx, "coda.root", time.Minute, false); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := v.Mkdir(ctx, root, realm, "waits", 0o755)
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("the mkdir finished while the volume was locked: %v", err)
	case <-time.After(3 * servervolume.LockWait): // it waits, past the server's wait
	}
	if _, err := a.LockVolume(ctx, "coda.root", 0, true); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("the mkdir after unlock: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the mkdir did not finish after the unlock")
	}
}
