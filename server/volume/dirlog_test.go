package volume

import (
	"errors"
	"fmt"
	"testing"

	"github.com/coda-fs/coda/server/proto"
)

func kinds(t *testing.T, v *Volume, dir proto.FID) string {
	t.Helper()
	ops, trunc, err := v.DirLog(dir)
	if err != nil {
		t.Fatal(err)
	}
	s := ""
	for _, op := range ops {
		s += fmt.Sprintf("%s:%s ", op.Kind, op.Name)
	}
	if trunc {
		s += "truncated"
	}
	return s
}

// TestDirLog: directory changes are logged with their store ids; a COP2
// naming every replica empties the log again, a partial one keeps it;
// removes record the version they removed; renames log both sides;
// installs (resolution) clear it; the bound drops the oldest records and
// marks their directories truncated; a restart keeps it all.
func TestDirLog(t *testing.T) {
	dirPath := t.TempDir()
	_, v := replicaSet(t, dirPath, 0, true)
	root0 := v.Info().Root
	fids, err := v.AllocFIDs(8)
	if err != nil {
		t.Fatal(err)
	}
	sid := func(n uint64) proto.StoreID { return proto.StoreID{Client: 9, Seq: n} }
	create := func(n uint64, dir proto.FID, name string, typ proto.ObjType, fid proto.FID) {
		t.Helper()
		if _, _, _, err := v.Create(root, CreateArgs{Dir: dir, Name: name, Type: typ, Mode: 0o755, FID: fid, StoreID: sid(n)}); err != nil {
			t.Fatal(err)
		}
	}
	create(1, root0, "d", proto.TypeDir, fids[0])
	if got := kinds(t, v, root0); got != "insert:d " {
		t.Fatalf("after a create the root's log is %q", got)
	}
	if err := v.COP2(sid(1), 0b11, []proto.FID{root0, fids[0]}); err != nil {
		t.Fatal(err)
	}
	if got := kinds(t, v, root0); got != "" {
		t.Fatalf("after a COP2 naming both replicas the log is %q", got)
	}

	// Replica 1 is away: partial COP2s keep everything.
	d := fids[0]
	create(2, d, "a", proto.TypeFile, fids[1])
	create(3, d, "b", proto.TypeFile, fids[2])
	if _, _, _, err := v.Remove(root, d, "a", false, sid(4)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := v.Rename(root, proto.Rename{FromDir: d, FromName: "b", ToDir: root0, ToName: "b2", StoreID: sid(5)}); err != nil {
		t.Fatal(err)
	}
	for n := uint64(2); n <= 5; n++ {
		if err := v.COP2(sid(n), 0b01, []proto.FID{d, root0}); err != nil {
			t.Fatal(err)
		}
	}
	if got := kinds(t, v, d); got != "insert:a insert:b delete:a rename-out:b " {
		t.Fatalf("d's log: %q", got)
	}
	if got := kinds(t, v, root0); got != "rename-in:b2 " {
		t.Fatalf("root's log: %q", got)
	}
	ops, _, _ := v.DirLog(d)
	if ops[2].Store != sid(4) || ops[2].FID != fids[1] || ops[2].ObjVV.Counters[0] == 0 || ops[3].Peer != root0 || ops[3].PeerName != "b2" {
		t.Fatalf("d's records: %+v", ops)
	}

	// A restart keeps the log.
	v.set.db.Close()
	_, v = replicaSet(t, dirPath, 0, false)
	if got := kinds(t, v, d); got != "insert:a insert:b delete:a rename-out:b " {
		t.Fatalf("after a restart d's log is %q", got)
	}

	// The bound: the oldest records go, their directory is marked.
	v.maxLog = 3 // below MinLogSize, for the test
	create(6, root0, "c", proto.TypeFile, fids[3])
	if got := kinds(t, v, d); got != "truncated" && got != "rename-out:b truncated" {
		t.Fatalf("with a bound of 3, d's log is %q", got)
	}
	if v.logCount > 3 {
		t.Fatalf("%d records kept, bound 3", v.logCount)
	}

	// Resolution made d equal: its log and mark go.
	st, data, err := v.ReadState(d)
	if err != nil || data != nil {
		t.Fatal(err)
	}
	st.Expect, st.HasExpect = st.VV, true
	if _, err := v.Install(InstallArgs{State: st}); err != nil {
		t.Fatal(err)
	}
	if got := kinds(t, v, d); got != "" {
		t.Fatalf("after an install d's log is %q", got)
	}
}

// applyMerge applies the final merge of dir with acts, as if the replica
// of the given slot had made them.
func applyMerge(t *testing.T, v *Volume, dir proto.FID, slot int, acts ...proto.MergeAction) {
	t.Helper()
	at, err := v.GetAttr(root, dir)
	if err != nil {
		t.Fatal(err)
	}
	vv := at.VV
	vv.Counters[slot]++
	if _, err := v.ApplyMerge(proto.MergeActions{Dir: dir, Expect: at.VV, VV: vv, Final: true, Actions: acts}); err != nil {
		t.Fatal(err)
	}
}

// TestApplyMergeLinkCounts: a merge that inserts a directory (a
// placeholder, or one moved from another directory) and removes one keeps
// the parents' link counts right (found by TestConflictPolicies: a
// directory restored by a policy left its parent one link short).
func TestApplyMergeLinkCounts(t *testing.T) {
	_, v := newVolume(t)
	root0 := v.Info().Root
	a := mustCreate(t, v, root0, "a", proto.TypeDir)
	b := mustCreate(t, v, root0, "b", proto.TypeDir)
	moved := mustCreate(t, v, a.FID, "moved", proto.TypeDir)
	fids, err := v.AllocFIDs(1)
	if err != nil {
		t.Fatal(err)
	}
	nlink := func(fid proto.FID) uint32 {
		t.Helper()
		at, err := v.GetAttr(root, fid)
		if err != nil {
			t.Fatal(err)
		}
		return at.Nlink
	}
	apply := func(dir proto.FID, acts ...proto.MergeAction) {
		t.Helper()
		applyMerge(t, v, dir, 0, acts...)
	}
	apply(b.FID,
		proto.MergeAction{Name: "new", FID: fids[0], Type: proto.TypeDir},
		proto.MergeAction{Name: "moved", FID: moved.FID, Type: proto.TypeDir})
	apply(a.FID, proto.MergeAction{Delete: true, Name: "moved", FID: moved.FID})
	if got := [2]uint32{nlink(a.FID), nlink(b.FID)}; got != [2]uint32{2, 4} {
		t.Fatalf("link counts of a and b after the merge: %v, want [2 4]", got)
	}
	apply(b.FID, proto.MergeAction{Delete: true, Name: "new", FID: fids[0]})
	if got := nlink(b.FID); got != 3 {
		t.Fatalf("b's link count after removing a directory: %d, want 3", got)
	}
}

// TestConflictObject: a merge makes a name both sides changed a conflict
// object holding each version (this replica's moves in, another's is a
// placeholder), clients cannot change it, and a repair dissolves it,
// keeping the chosen version under the name and dropping the others.
func TestConflictObject(t *testing.T) {
	_, v := newVolume(t)
	root0 := v.Info().Root
	d := mustCreate(t, v, root0, "d", proto.TypeDir)
	mine := mustCreate(t, v, d.FID, "n", proto.TypeFile)
	fids, err := v.AllocFIDs(2)
	if err != nil {
		t.Fatal(err)
	}
	theirs, conflict := fids[0], fids[1]
	apply := func(acts ...proto.MergeAction) {
		t.Helper()
		at, err := v.GetAttr(root, d.FID)
		if err != nil {
			t.Fatal(err)
		}
		vv := at.VV
		vv.Counters[0]++
		if _, err := v.ApplyMerge(proto.MergeActions{Dir: d.FID, Expect: at.VV, VV: vv, Final: true, Actions: acts}); err != nil {
			t.Fatal(err)
		}
	}
	apply(proto.MergeAction{Conflict: true, Name: "n", FID: conflict, Type: proto.TypeDir, Versions: []proto.DirEntry{
		{Name: "1", FID: mine.FID, Type: proto.TypeFile}, {Name: "2", FID: theirs, Type: proto.TypeFile}}})
	c, err := v.Lookup(root, d.FID, "n")
	if err != nil || c.FID != conflict || c.Flags&proto.AttrConflict == 0 || c.Type != proto.TypeDir {
		t.Fatalf("n after the merge: %+v, %v", c, err)
	}
	_, ents, _, err := v.ReadDir(root, conflict, "", 10)
	if err != nil || len(ents) != 2 || ents[0].FID != mine.FID || ents[1].FID != theirs {
		t.Fatalf("the conflict's versions: %+v, %v", ents, err)
	}
	if a, err := v.GetAttr(root, mine.FID); err != nil || a.Nlink != 1 {
		t.Fatalf("this replica's version: %+v, %v (want one link, moved into the conflict)", a, err)
	}
	if a, err := v.GetAttr(root, theirs); err != nil || a.VV != (proto.VV{}) {
		t.Fatalf("the other version: %+v, %v (want a placeholder)", a, err)
	}
	_, _, _, err = v.Create(root, CreateArgs{Dir: conflict, Name: "x", Type: proto.TypeFile, Mode: 0o644})
	wantErr(t, err, proto.ErrReadOnly)

	apply(proto.MergeAction{Dissolve: true, Name: "n", FID: conflict, Versions: []proto.DirEntry{{Name: "n", FID: theirs, Type: proto.TypeFile}}})
	if a, err := v.Lookup(root, d.FID, "n"); err != nil || a.FID != theirs || a.Nlink != 1 {
		t.Fatalf("n after the repair: %+v, %v", a, err)
	}
	for _, gone := range []proto.FID{mine.FID, conflict} {
		if _, err := v.GetAttr(root, gone); !errors.Is(err, proto.ErrNotFound) {
			t.Fatalf("%v after the repair: %v, want it gone", gone, err)
		}
	}
	if a, err := v.GetAttr(root, d.FID); err != nil || a.Nlink != 2 {
		t.Fatalf("d after the repair: %+v, %v", a, err)
	}
}

// TestApplyMergeFileLinks: merges that add and remove names of a file in
// several directories (links made and removed on the other side of a
// partition) keep its link count equal to its names, keep its Parent a
// directory holding one, and drop it with its last name only.
func TestApplyMergeFileLinks(t *testing.T) {
	_, v := newVolume(t)
	r := v.Info().Root
	a := mustCreate(t, v, r, "a", proto.TypeDir)
	b := mustCreate(t, v, r, "b", proto.TypeDir)
	f := mustCreate(t, v, a.FID, "f", proto.TypeFile)
	apply := func(dir proto.FID, acts ...proto.MergeAction) { t.Helper(); applyMerge(t, v, dir, 1, acts...) }
	check := func(what string, nlink uint32, path string) {
		t.Helper()
		at, err := v.GetAttr(root, f.FID)
		if err != nil || at.Nlink != nlink {
			t.Fatalf("%s: nlink %d (%v), want %d", what, at.Nlink, err, nlink)
		}
		if p, err := v.Path(root, f.FID); err != nil || p != path {
			t.Fatalf("%s: path %q (%v), want %q", what, p, err, path)
		}
	}
	apply(b.FID, proto.MergeAction{Name: "g", FID: f.FID, Type: proto.TypeFile})
	apply(b.FID, proto.MergeAction{Name: "h", FID: f.FID, Type: proto.TypeFile})
	check("two names merged in", 3, "/a/f")
	apply(a.FID, proto.MergeAction{Delete: true, Name: "f", FID: f.FID})
	if at, _ := v.GetAttr(root, f.FID); at.Nlink != 2 {
		t.Fatalf("nlink %d after the first name went", at.Nlink)
	}
	if p, _ := v.Path(root, f.FID); p != "/b/g" && p != "/b/h" {
		t.Fatalf("path %q after its directory lost its name", p)
	}
	apply(b.FID, proto.MergeAction{Delete: true, Name: "g", FID: f.FID})
	check("one name left", 1, "/b/h")
	apply(b.FID, proto.MergeAction{Delete: true, Name: "h", FID: f.FID})
	if _, err := v.GetAttr(root, f.FID); !errors.Is(err, proto.ErrNotFound) {
		t.Fatalf("the file outlived its last name: %v", err)
	}
}

// TestTooManyLinks: link(2) past the limit is EMLINK.
func TestTooManyLinks(t *testing.T) {
	defer func(old uint32) { maxLinks = old }(maxLinks)
	maxLinks = 3
	_, v := newVolume(t)
	r := v.Info().Root
	f := mustCreate(t, v, r, "f", proto.TypeFile)
	d := mustCreate(t, v, r, "d", proto.TypeDir)
	for _, name := range []string{"g", "h"} {
		if _, _, _, err := v.Link(root, d.FID, name, f.FID, proto.StoreID{}); err != nil {
			t.Fatal(err)
		}
	}
	_, _, _, err := v.Link(root, d.FID, "i", f.FID, proto.StoreID{})
	wantErr(t, err, proto.ErrTooManyLinks)
}
