package venus

import (
	"reflect"
	"testing"

	"github.com/coda-fs/coda/server/proto"
)

func TestRecordRoundTrip(t *testing.T) {
	fid := proto.FID{Volume: 7, Vnode: 9, Unique: 11}
	o := &object{fid: fid, ino: 42, hasAttr: true,
		attr: proto.Attr{FID: fid, Type: proto.TypeFile, Mode: 0o644, Nlink: 1, Size: 5,
			VV: proto.VV{Counters: [8]uint32{3}, Store: proto.StoreID{Client: 1, Seq: 2}}},
		cont: "0000000000000abc", contStat: fileStat{Size: 5, Mtime: 6, Ctime: 7, Ino: 8}, contBytes: 4096,
		pending: true, target: "t", hasTarget: true, lastUse: 99}
	o.contVV = o.attr.VV
	o.dir = newDirCache(o.attr.VV, nil)
	got, dirVV, hasDir, err := decodeRecord(fid, encodeRecord(o))
	if err != nil {
		t.Fatal(err)
	}
	if !hasDir || dirVV != o.attr.VV {
		t.Fatalf("directory version lost: %v %v", hasDir, dirVV)
	}
	o.dir = nil
	if !reflect.DeepEqual(got, o) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, o)
	}
	if _, _, _, err := decodeRecord(fid, encodeRecord(o)[:20]); err == nil {
		t.Fatal("a truncated record decoded")
	}

	// A record written before statuses had flags (version 1) still reads.
	var attr proto.Encoder
	attr.Attr(o.attr)
	v2 := encodeRecord(o)
	end := 1 + 8 + len(attr.B) // version, ino, status
	v1 := append([]byte{1}, v2[1:end-1]...)
	v1 = append(v1, v2[end:]...)
	got, _, _, err = decodeRecord(fid, v1)
	if err != nil || !reflect.DeepEqual(got, o) {
		t.Fatalf("version 1 record: %v\n got %+v\nwant %+v", err, got, o)
	}
}

func TestEntryRangeHoldsOnlyItsDirectory(t *testing.T) {
	d := proto.FID{Volume: 1, Vnode: 2, Unique: ^uint32(0)}
	lo, hi := entryRange(d)
	in := string(entryKey(d, "zzzz"))
	next := string(entryKey(proto.FID{Volume: 1, Vnode: 3}, "a"))
	if !(string(lo) <= in && in < string(hi)) || next < string(hi) {
		t.Fatal("entry range is wrong")
	}
}
