package volume

import (
	"testing"

	"github.com/coda-fs/coda/server/proto"
)

// TestRetriedUpdatesApplyOnce: a request re-sent with the same StoreID
// after its reply was lost succeeds and changes nothing the second time.
func TestRetriedUpdatesApplyOnce(t *testing.T) {
	_, v := newVolume(t)
	r := v.Info().Root
	sid := func(n uint64) proto.StoreID { return proto.StoreID{Client: 42, Seq: n} }
	vvOf := func(fid proto.FID) proto.VV { a, _ := v.GetAttr(root, fid); return a.VV }

	create := CreateArgs{Dir: r, Name: "f", Type: proto.TypeFile, Mode: 0644, StoreID: sid(1)}
	_, f1, _, err := v.Create(root, create)
	if err != nil {
		t.Fatal(err)
	}
	rootVV := vvOf(r)
	_, f2, ch, err := v.Create(root, create)
	if err != nil || f2.FID != f1.FID || !ch.Duplicate {
		t.Fatalf("retried create: %v, fid %v vs %v", err, f2.FID, f1.FID)
	}
	if vvOf(r) != rootVV {
		t.Fatalf("retried create bumped the directory")
	}
	// A different request for the same name is still refused.
	create.StoreID = sid(2)
	if _, _, _, err := v.Create(root, create); err != proto.ErrExists {
		t.Fatalf("second create of f: %v, want EEXIST", err)
	}

	set := proto.SetAttr{FID: f1.FID, Mask: proto.SetMode, Mode: 0600, StoreID: sid(3)}
	if _, _, err := v.SetAttr(root, set); err != nil {
		t.Fatal(err)
	}
	fileVV := vvOf(f1.FID)
	if _, ch, err := v.SetAttr(root, set); err != nil || !ch.Duplicate || vvOf(f1.FID) != fileVV {
		t.Fatalf("retried setattr: %v", err)
	}

	ren := proto.Rename{FromDir: r, FromName: "f", ToDir: r, ToName: "g", StoreID: sid(4)}
	if _, _, err := v.Rename(root, ren); err != nil {
		t.Fatal(err)
	}
	res, ch, err := v.Rename(root, ren)
	if err != nil || !ch.Duplicate || res.Obj.FID != f1.FID {
		t.Fatalf("retried rename: %v %+v", err, res.Obj.FID)
	}

	if _, _, _, err := v.Link(root, r, "h", f1.FID, sid(5)); err != nil {
		t.Fatal(err)
	}
	if _, obj, ch, err := v.Link(root, r, "h", f1.FID, sid(5)); err != nil || !ch.Duplicate || obj.Nlink != 2 {
		t.Fatalf("retried link: %v nlink %d", err, obj.Nlink)
	}

	if _, _, _, err := v.Remove(root, r, "h", false, sid(6)); err != nil {
		t.Fatal(err)
	}
	if _, _, ch, err := v.Remove(root, r, "h", false, sid(6)); err != nil || !ch.Duplicate {
		t.Fatalf("retried remove: %v", err)
	}
	if a, _ := v.GetAttr(root, f1.FID); a.Nlink != 1 {
		t.Fatalf("nlink %d after a retried remove, want 1", a.Nlink)
	}
	// A fresh remove of a missing name is still ENOENT.
	if _, _, _, err := v.Remove(root, r, "h", false, sid(7)); err != proto.ErrNotFound {
		t.Fatalf("remove of a missing name: %v", err)
	}
}
