package venus

import (
	"testing"

	"github.com/coda-fs/coda/server/proto"
)

func TestBreakLogSince(t *testing.T) {
	var b breakLog
	f1 := proto.FID{Volume: 1, Vnode: 2, Unique: 3}
	f2 := proto.FID{Volume: 1, Vnode: 4, Unique: 5}
	other := proto.FID{Volume: 2, Vnode: 2, Unique: 3}
	start := b.seq
	b.add(f1)
	if !b.since(f1, start) || b.since(f2, start) || b.since(f1, b.seq) {
		t.Fatal("a break of f1 is seen only for f1 and only after it")
	}
	mid := b.seq
	b.add(proto.FID{Volume: 1}) // the whole volume 1
	if !b.since(f2, mid) || b.since(other, mid) {
		t.Fatal("a volume break covers that volume only")
	}
	for i := 0; i < breakLogSize; i++ {
		b.add(other)
	}
	if !b.since(f2, mid) {
		t.Fatal("a request older than the log must count as broken")
	}
}

func TestPromiseOK(t *testing.T) {
	v := &Venus{gen: 3}
	fid := proto.FID{Volume: 1, Vnode: 2, Unique: 3}
	st := stamp{gen: 3, seq: v.breaks.seq}
	if !v.promiseOK(st, fid) {
		t.Fatal("no break, same connection: promise holds")
	}
	v.breaks.add(fid)
	if v.promiseOK(st, fid) {
		t.Fatal("a break after the request was sent must win over the reply")
	}
	if v.promiseOK(stamp{gen: 2, seq: v.breaks.seq}, fid) || v.promiseOK(stamp{}, fid) {
		t.Fatal("a reply from an older connection carries no promise")
	}
}
