package volume

import (
	"errors"
	"testing"

	"github.com/coda-fs/coda/server/proto"
	"github.com/coda-fs/coda/server/store"
)

// replicaSet opens a store at dir holding replica slot of a two-replica
// volume (creating it when create is set).
func replicaSet(t *testing.T, dir string, slot uint8, create bool) (*Set, *Volume) {
	t.Helper()
	db, err := store.Open(store.Options{Dir: dir, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	set, err := Open(db, nil)
	if err != nil {
		t.Fatal(err)
	}
	const id = 0x7f000001
	if create {
		reps := []proto.Replica{{ServerID: 1, ReplicaID: 0x1000001}, {ServerID: 2, ReplicaID: 0x2000001}}
		if _, err := set.Create("rep", id, reps[slot].ReplicaID, slot, reps); err != nil {
			t.Fatal(err)
		}
	}
	v, err := set.ByID(id)
	if err != nil {
		t.Fatal(err)
	}
	return set, v
}

// TestProposedFIDs: each replica hands out vnode numbers of its own class;
// a create with a proposed FID makes the same FID on every replica; a FID
// in use is refused; a restart never hands a number out again.
func TestProposedFIDs(t *testing.T) {
	dir0, dir1 := t.TempDir(), t.TempDir()
	_, r0 := replicaSet(t, dir0, 0, true)
	s1, r1 := replicaSet(t, dir1, 1, true)
	a0, err := r0.AllocFIDs(3)
	if err != nil {
		t.Fatal(err)
	}
	a1, err := r1.AllocFIDs(3)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range a0 {
		if f.Vnode%2 != 1 {
			t.Errorf("slot 0 handed out %v", f)
		}
	}
	for _, f := range a1 {
		if f.Vnode%2 != 0 {
			t.Errorf("slot 1 handed out %v", f)
		}
	}
	rootDir := r0.Info().Root
	for i, fid := range []proto.FID{a0[0], a1[0]} {
		for _, r := range []*Volume{r0, r1} {
			_, a, _, err := r.Create(root, CreateArgs{Dir: rootDir, Name: "f" + string(rune('0'+i)), Type: proto.TypeFile, Mode: 0o644, FID: fid})
			if err != nil || a.FID != fid {
				t.Fatalf("create with %v on slot %d: %v %v", fid, r.hdr.Slot, a.FID, err)
			}
		}
	}
	if _, _, _, err := r1.Create(root, CreateArgs{Dir: rootDir, Name: "again", Type: proto.TypeFile, FID: a0[0]}); !errors.Is(err, proto.ErrExists) {
		t.Fatalf("a FID in use: %v", err)
	}
	// A replica's own creates stay in its class and clear of what it
	// handed out.
	_, own, _, err := r1.Create(root, CreateArgs{Dir: rootDir, Name: "own", Type: proto.TypeFile, Mode: 0o644})
	if err != nil || own.FID.Vnode%2 != 0 || own.FID.Vnode <= a1[2].Vnode {
		t.Fatalf("own create on slot 1: %v %v (handed out up to %v)", own.FID, err, a1[2])
	}
	// Restart slot 1: what it handed out is never handed out again, even
	// the numbers no create used.
	s1.db.Close()
	_, r1 = replicaSet(t, dir1, 1, false)
	again, err := r1.AllocFIDs(1)
	if err != nil || again[0].Vnode <= own.FID.Vnode {
		t.Fatalf("after a restart slot 1 hands out %v (%v), already used up to %v", again, err, own.FID)
	}
}
