package volume

import (
	"fmt"
	"testing"

	"github.com/coda-fs/coda/server/proto"
)

func vvOf(t *testing.T, v *Volume, fid proto.FID) [2]uint32 {
	t.Helper()
	a, err := v.GetAttr(root, fid)
	if err != nil {
		t.Fatal(err)
	}
	return [2]uint32{a.VV.Counters[0], a.VV.Counters[1]}
}

// twoReplicas makes both replicas of a two-replica volume and reserves two
// FIDs on the first.
func twoReplicas(t *testing.T) (r0, r1 *Volume, root proto.FID, fids []proto.FID) {
	t.Helper()
	_, r0 = replicaSet(t, t.TempDir(), 0, true)
	_, r1 = replicaSet(t, t.TempDir(), 1, true)
	fids, err := r0.AllocFIDs(2)
	if err != nil {
		t.Fatal(err)
	}
	return r0, r1, r0.Info().Root, fids
}

// TestCOP2: an update applied by both replicas and completed by COP2
// leaves equal version vectors; a retried COP2 changes nothing; an update
// one replica missed leaves the other dominant.
func TestCOP2(t *testing.T) {
	r0, r1, dir, fids := twoReplicas(t)
	sid := proto.StoreID{Client: 7, Seq: 1}
	for _, r := range []*Volume{r0, r1} {
		if _, _, _, err := r.Create(root, CreateArgs{Dir: dir, Name: "f", Type: proto.TypeFile, Mode: 0o644, FID: fids[0], StoreID: sid}); err != nil {
			t.Fatal(err)
		}
	}
	if a, b := vvOf(t, r0, dir), vvOf(t, r1, dir); a != [2]uint32{2, 1} || b != [2]uint32{1, 2} {
		t.Fatalf("after COP1 the root's VVs are %v and %v", a, b)
	}
	for range 2 { // the second COP2 is a retry
		for _, r := range []*Volume{r0, r1} {
			if err := r.COP2(sid, 0b11, []proto.FID{dir, fids[0]}); err != nil {
				t.Fatal(err)
			}
		}
		for _, fid := range []proto.FID{dir, fids[0]} {
			if a, b := vvOf(t, r0, fid), vvOf(t, r1, fid); a != b {
				t.Fatalf("after COP2 %v has VVs %v and %v", fid, a, b)
			}
		}
	}
	if got := vvOf(t, r0, dir); got != [2]uint32{2, 2} {
		t.Fatalf("root VV %v after one update on both, want [2 2]", got)
	}
	// Replica 1 misses an update.
	sid2 := proto.StoreID{Client: 7, Seq: 2}
	if _, _, _, err := r0.Create(root, CreateArgs{Dir: dir, Name: "g", Type: proto.TypeFile, Mode: 0o644, FID: fids[1], StoreID: sid2}); err != nil {
		t.Fatal(err)
	}
	if err := r0.COP2(sid2, 0b01, []proto.FID{dir, fids[1]}); err != nil {
		t.Fatal(err)
	}
	if a, b := vvOf(t, r0, dir), vvOf(t, r1, dir); a != [2]uint32{3, 2} || b != [2]uint32{2, 2} {
		t.Fatalf("after a missed update the root's VVs are %v and %v, want [3 2] dominating [2 2]", a, b)
	}
}

// TestCOP2AfterALaterUpdate: two clients update one directory at once;
// each replica applies both updates before either COP2 arrives. Both
// COP2s still count (once each), so the replicas end with equal version
// vectors.
func TestCOP2AfterALaterUpdate(t *testing.T) {
	r0, r1, dir, fids := twoReplicas(t)
	a := proto.StoreID{Client: 7, Seq: 1}
	b := proto.StoreID{Client: 8, Seq: 1}
	for _, r := range []*Volume{r0, r1} {
		for i, sid := range []proto.StoreID{a, b} {
			if _, _, _, err := r.Create(root, CreateArgs{Dir: dir, Name: fmt.Sprint("f", i), Type: proto.TypeFile, Mode: 0o644, FID: fids[i], StoreID: sid}); err != nil {
				t.Fatal(err)
			}
		}
	}
	for range 2 { // the second round is a retry of both
		for _, sid := range []proto.StoreID{a, b} {
			for _, r := range []*Volume{r0, r1} {
				if err := r.COP2(sid, 0b11, []proto.FID{dir}); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if x, y := vvOf(t, r0, dir), vvOf(t, r1, dir); x != y || x != [2]uint32{3, 3} {
		t.Fatalf("after both COP2s the root's VVs are %v and %v, want [3 3] on both", x, y)
	}
}
