package venus

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/coda-fs/coda/server/proto"
	"github.com/coda-fs/coda/server/servertest"
)

// TestStoreRetriedAfterLostReply: the server's transport drops the reply
// of the first store it serves; venus hears nothing, sends the store again
// with the same store id, and the server, which applied it already, only
// answers: the content arrives once, the version vector moves by one.
func TestStoreRetriedAfterLostReply(t *testing.T) {
	var drops atomic.Int32
	s := servertest.Start(t, servertest.Options{FaultHook: func(op proto.Op) bool {
		return op == proto.OpStore && drops.Add(1) == 1
	}})
	s.CreateVolume("coda.root")
	v := newCoreWith(t, s, Options{CallTimeout: time.Second})
	defer v.Close()
	c := s.Client()
	defer c.Close()

	dir := realmIno(t, v)
	ino := writeFile(t, v, dir, "f", "stored once")
	if n := drops.Load(); n < 2 {
		t.Fatalf("the server served %d stores; want the first (reply dropped) and the retry", n)
	}
	if n := v.Stats().RPC(proto.OpStore); n != 2 {
		t.Fatalf("venus sent %d stores, want 2 (the original and one retry)", n)
	}
	rootFID, err := c.Root("coda.root")
	if err != nil {
		t.Fatal(err)
	}
	a, err := c.Lookup(rootFID, "f")
	if err != nil {
		t.Fatal(err)
	}
	// create bumped the file's own slot once, the store once more; a
	// store applied twice would show 3.
	if a.VV.Counters[0] != 2 || a.Size != int64(len("stored once")) {
		t.Fatalf("server holds size %d, version vector %v; want %d bytes and counter 2", a.Size, a.VV, len("stored once"))
	}
	_, data, err := c.Fetch(a.FID)
	if err != nil || string(data) != "stored once" {
		t.Fatalf("server holds %q, %v", data, err)
	}
	if got := readFile(t, v, ino); got != "stored once" {
		t.Fatalf("venus reads %q", got)
	}
}
