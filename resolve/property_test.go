package resolve

import (
	"encoding/binary"
	"math/rand"
	"testing"

	"github.com/coda-fs/coda/server/proto"
)

const propRounds = 5000

// randVV draws a vector with small counters (so dominance and equality are
// common) and a store id from a small set (so weak equality is common);
// one in four is the zero store id.
func randVV(r *rand.Rand) proto.VV {
	var v proto.VV
	n := 1 + r.Intn(proto.MaxReplicas)
	for i := 0; i < n; i++ {
		v.Counters[i] = uint32(r.Intn(4))
	}
	if r.Intn(4) != 0 {
		v.Store = proto.StoreID{Client: uint64(1 + r.Intn(3)), Seq: uint64(1 + r.Intn(3))}
	}
	return v
}

func TestPropertyCompare(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for range propRounds {
		a, b := randVV(r), randVV(r)
		checkCompare(t, a, b)
		if o := Compare(a, a); o != Equal {
			t.Fatalf("Compare(%v, itself) = %v", a, o)
		}
	}
}

// checkCompare checks antisymmetry and the symmetry of Equal.
func checkCompare(t testing.TB, a, b proto.VV) {
	t.Helper()
	ab, ba := Compare(a, b), Compare(b, a)
	if ab > Concurrent {
		t.Fatalf("Compare(%v, %v) = %v: not an order", a, b, ab)
	}
	if (ab == Dominates) != (ba == Dominated) || (ab == Dominated) != (ba == Dominates) {
		t.Fatalf("not antisymmetric: Compare(%v, %v) = %v, reverse %v", a, b, ab, ba)
	}
	if (ab == Equal) != (ba == Equal) || (ab == Concurrent) != (ba == Concurrent) {
		t.Fatalf("not symmetric: Compare(%v, %v) = %v, reverse %v", a, b, ab, ba)
	}
}

func TestPropertyMergeBump(t *testing.T) {
	r := rand.New(rand.NewSource(2))
	for range propRounds {
		vs := make([]proto.VV, 1+r.Intn(proto.MaxReplicas))
		for i := range vs {
			vs[i] = randVV(r)
		}
		m := Merge(vs...)
		for _, v := range vs {
			if o := Compare(m, v); o != Equal && o != Dominates {
				t.Fatalf("Merge(%v) = %v is %v input %v", vs, m, o, v)
			}
		}
		v := vs[0]
		sid := proto.StoreID{Client: 100, Seq: uint64(r.Intn(5))} // never v.Store
		if o := Compare(Bump(v, r.Intn(proto.MaxReplicas), sid), v); o != Dominates {
			t.Fatalf("Bump(%v) is %v its input", v, o)
		}
	}
}

func TestPropertyDominant(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	for range propRounds {
		vs := make([]proto.VV, 1+r.Intn(4))
		for i := range vs {
			vs[i] = randVV(r)
		}
		d, ok := Dominant(vs)
		covered := false
		for i := range vs {
			covered = covered || coversAllSlow(vs, i)
		}
		if ok != covered {
			t.Fatalf("Dominant(%v) ok = %v, but some replica covers all = %v", vs, ok, covered)
		}
		if !ok {
			continue
		}
		lag := Lagging(vs)
		for _, i := range lag {
			if Compare(vs[d], vs[i]) != Dominates {
				t.Fatalf("Lagging(%v) names %d, not dominated by %d", vs, i, d)
			}
		}
		if want := countDominated(vs, d); len(lag) != want {
			t.Fatalf("Lagging(%v) = %v, want %d indices", vs, lag, want)
		}
	}
}

func coversAllSlow(vs []proto.VV, i int) bool {
	for j := range vs {
		if o := Compare(vs[j], vs[i]); o != Equal && o != Dominated {
			return false
		}
	}
	return true
}

func countDominated(vs []proto.VV, d int) int {
	n := 0
	for i := range vs {
		if Compare(vs[d], vs[i]) == Dominates {
			n++
		}
	}
	return n
}

// TestPropertyStamp plays COP1+COP2 from a common vector: some replicas
// lag behind it, a random subset of the level ones applies the update.
func TestPropertyStamp(t *testing.T) {
	r := rand.New(rand.NewSource(4))
	for round := range propRounds {
		base := randVV(r)
		n := 1 + r.Intn(proto.MaxReplicas)
		vs := make([]proto.VV, n)
		applied := make([]bool, n)
		anyApplied := false
		for i := range vs {
			vs[i] = base
			if r.Intn(3) == 0 { // lagging, cannot apply
				vs[i] = lagBehind(r, base)
				continue
			}
			applied[i] = r.Intn(2) == 0
			anyApplied = anyApplied || applied[i]
		}
		sid := proto.StoreID{Client: 1000, Seq: uint64(round)}
		st, ok := Stamp(vs, applied, sid)
		if ok != anyApplied {
			t.Fatalf("Stamp(%v, %v) ok = %v, want %v", vs, applied, ok, anyApplied)
		}
		if !ok {
			continue
		}
		after := make([]proto.VV, n)
		for i := range vs {
			after[i] = vs[i]
			if applied[i] {
				after[i] = st
			}
		}
		for i := range after {
			for j := range after {
				o := Compare(after[i], after[j])
				switch {
				case applied[i] && applied[j] && o != Equal:
					t.Fatalf("appliers %d, %d not equal after stamp: %v", i, j, after)
				case applied[i] && !applied[j] && o != Dominates:
					t.Fatalf("applier %d does not dominate %d after stamp: %v", i, j, after)
				}
			}
		}
		if d, ok := Dominant(after); !ok || !applied[d] {
			t.Fatalf("Dominant after stamp %v = %d, %v; want an applier", after, d, ok)
		}
	}
}

// lagBehind returns a vector dominated by or equal to v with another store.
func lagBehind(r *rand.Rand, v proto.VV) proto.VV {
	for i := range v.Counters {
		if v.Counters[i] > 0 {
			v.Counters[i] -= uint32(r.Intn(int(v.Counters[i]) + 1))
		}
	}
	v.Store = proto.StoreID{}
	return v
}

// decodeVV reads one vector from b (zero-padded to 48 bytes): eight
// little-endian u32 counters, then client and seq as u64.
func decodeVV(b []byte) proto.VV {
	var buf [48]byte
	copy(buf[:], b)
	var v proto.VV
	for i := range v.Counters {
		v.Counters[i] = binary.LittleEndian.Uint32(buf[4*i:])
	}
	v.Store.Client = binary.LittleEndian.Uint64(buf[32:])
	v.Store.Seq = binary.LittleEndian.Uint64(buf[40:])
	return v
}

func FuzzCompare(f *testing.F) {
	seed := func(a, b proto.VV) []byte {
		out := make([]byte, 0, 96)
		for _, v := range []proto.VV{a, b} {
			for _, c := range v.Counters {
				out = binary.LittleEndian.AppendUint32(out, c)
			}
			out = binary.LittleEndian.AppendUint64(out, v.Store.Client)
			out = binary.LittleEndian.AppendUint64(out, v.Store.Seq)
		}
		return out
	}
	f.Add([]byte{})
	f.Add(seed(vv(0, 0), vv(0, 0)))
	f.Add(seed(vv(1, 1, 2, 3), vv(1, 1, 2, 2)))
	f.Add(seed(vv(1, 1, 1, 0), vv(2, 1, 0, 1)))
	f.Add(seed(vv(7, 3, 1, 0), vv(7, 3, 0, 1)))
	f.Add(seed(vv(0, 0, ^uint32(0)), vv(0, 0, 0, ^uint32(0))))
	f.Fuzz(func(t *testing.T, data []byte) {
		var a, b proto.VV
		if len(data) > 48 {
			a, b = decodeVV(data[:48]), decodeVV(data[48:])
		} else {
			a, b = decodeVV(data), decodeVV(nil)
		}
		checkCompare(t, a, b)
		if o := Compare(a, a); o != Equal {
			t.Fatalf("Compare(%v, itself) = %v", a, o)
		}
		if m := Merge(a, b); Compare(m, a) == Dominated || Compare(m, a) == Concurrent ||
			Compare(m, b) == Dominated || Compare(m, b) == Concurrent {
			t.Fatalf("Merge(%v, %v) = %v does not cover both", a, b, m)
		}
	})
}
