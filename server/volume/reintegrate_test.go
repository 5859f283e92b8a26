package volume

import (
	"errors"
	"testing"

	"github.com/coda-fs/coda/server/proto"
)

// TestReintegrateBatch: a batch of logged updates applies in one
// transaction, each record seeing the earlier ones; sent again it changes
// nothing; a batch with a refused record applies none of its records and
// says which was refused.
func TestReintegrateBatch(t *testing.T) {
	_, v := replicaSet(t, t.TempDir(), 0, true)
	r := v.Info().Root
	fids, err := v.AllocFIDs(4)
	if err != nil {
		t.Fatal(err)
	}
	f1, d1, f2, f3 := fids[0], fids[1], fids[2], fids[3]
	sid := func(n uint64) proto.StoreID { return proto.StoreID{Client: 7, Seq: n} }
	chmod := func(fid proto.FID, mode uint32, n uint64) Record {
		rec, err := SetAttrRecord(proto.SetAttr{FID: fid, Mask: proto.SetMode, Mode: mode, StoreID: sid(n)})
		if err != nil {
			t.Fatal(err)
		}
		return rec
	}
	batch := []Record{
		CreateRecord(CreateArgs{Dir: r, Name: "a", Type: proto.TypeFile, Mode: 0644, FID: f1, StoreID: sid(1)}),
		StoreRecord(StoreArgs{FID: f1, Size: 5, Blocks: 4096, Inline: []byte("hello"), StoreID: sid(2)}),
		CreateRecord(CreateArgs{Dir: r, Name: "d", Type: proto.TypeDir, Mode: 0755, FID: d1, StoreID: sid(3)}),
		RenameRecord(proto.Rename{FromDir: r, FromName: "a", ToDir: d1, ToName: "b", StoreID: sid(4)}),
		chmod(f1, 0600, 5),
		CreateRecord(CreateArgs{Dir: r, Name: "tmp", Type: proto.TypeFile, Mode: 0644, FID: f2, StoreID: sid(6)}),
		RemoveRecord(proto.Remove{Dir: r, Name: "tmp", StoreID: sid(7)}, false),
	}
	_, logBefore := v.LogSize()
	batchSID := proto.StoreID{Client: 7, Seq: 100}
	attrs, ch, err := v.Reintegrate(root, batchSID, batch)
	if err != nil || ch.Duplicate {
		t.Fatalf("reintegrate: %v (duplicate %v)", err, ch != nil && ch.Duplicate)
	}
	got := map[proto.FID]proto.Attr{}
	for _, a := range attrs {
		got[a.FID] = a
		if a.VV.Store != batchSID {
			t.Errorf("%v carries store id %v, want the batch's", a.FID, a.VV.Store)
		}
	}
	if len(got) != 3 || got[r].FID != r || got[d1].FID != d1 || got[f1].Mode&07777 != 0600 || got[f1].Size != 5 {
		t.Fatalf("reply statuses: %+v", attrs)
	}
	if b, err := v.Lookup(root, d1, "b"); err != nil || b.FID != f1 {
		t.Fatalf("d/b: %v %v", b.FID, err)
	}
	if _, err := v.Lookup(root, r, "tmp"); !errors.Is(err, proto.ErrNotFound) {
		t.Fatalf("tmp survived its remove: %v", err)
	}
	if data, err := v.OpenData(root, f1); err != nil || string(data.Inline) != "hello" {
		t.Fatalf("data of d/b: %v", err)
	}
	if _, used := v.LogSize(); used <= logBefore {
		t.Fatalf("the batch logged nothing for resolution (%d → %d)", logBefore, used)
	}

	// Sent again (its reply lost): nothing changes; the reply names the
	// objects as they are.
	rootVV := got[r].VV
	attrs, ch, err = v.Reintegrate(root, proto.StoreID{Client: 7, Seq: 101}, batch)
	if err != nil || !ch.Duplicate || len(attrs) == 0 {
		t.Fatalf("batch sent again: %v, duplicate %v, %d statuses", err, ch != nil && ch.Duplicate, len(attrs))
	}
	if a, _ := v.GetAttr(root, r); a.VV != rootVV {
		t.Fatalf("the batch sent again changed the root: %v → %v", rootVV, a.VV)
	}

	// A batch whose second record is refused applies nothing.
	_, logBefore = v.LogSize()
	bad := []Record{
		CreateRecord(CreateArgs{Dir: r, Name: "x", Type: proto.TypeFile, Mode: 0644, FID: f3, StoreID: sid(8)}),
		CreateRecord(CreateArgs{Dir: r, Name: "d", Type: proto.TypeFile, Mode: 0644, StoreID: sid(9)}),
	}
	_, _, err = v.Reintegrate(root, proto.StoreID{Client: 7, Seq: 102}, bad)
	var re *RecordError
	if !errors.As(err, &re) || re.Index != 1 || !errors.Is(err, proto.ErrExists) {
		t.Fatalf("refused batch: %v, want record 1 EEXIST", err)
	}
	if _, err := v.Lookup(root, r, "x"); !errors.Is(err, proto.ErrNotFound) {
		t.Fatalf("a refused batch created x: %v", err)
	}
	if _, used := v.LogSize(); used != logBefore {
		t.Fatalf("a refused batch left %d log records counted (before %d)", used, logBefore)
	}

	// Records taken before are skipped, later ones applied.
	_, _, err = v.Reintegrate(root, proto.StoreID{Client: 7, Seq: 103}, []Record{chmod(f1, 0644, 5), chmod(f1, 0640, 10)})
	if a, _ := v.GetAttr(root, f1); err != nil || a.Mode&07777 != 0640 {
		t.Fatalf("mixed batch: %v, mode %o", err, a.Mode)
	}
	if _, err := SetAttrRecord(proto.SetAttr{FID: f1, Mask: proto.SetSize}); err == nil {
		t.Fatalf("a size change was taken in a batch")
	}
}
