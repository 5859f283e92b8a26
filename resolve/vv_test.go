package resolve

import (
	"slices"
	"testing"

	"github.com/coda-fs/coda/server/proto"
)

// vv builds a vector from leading counters and a store id (client, seq).
func vv(client, seq uint64, counters ...uint32) proto.VV {
	var v proto.VV
	copy(v.Counters[:], counters)
	v.Store = proto.StoreID{Client: client, Seq: seq}
	return v
}

func TestCompare(t *testing.T) {
	cases := []struct {
		name     string
		a, b     proto.VV
		want     Order
		counters Order
	}{
		{"zero", vv(0, 0), vv(0, 0), Equal, Equal},
		{"same", vv(1, 1, 2, 3), vv(1, 1, 2, 3), Equal, Equal},
		{"same counters other store", vv(1, 1, 2, 3), vv(2, 9, 2, 3), Equal, Equal},
		{"dominates one slot", vv(1, 2, 2, 3), vv(1, 1, 2, 2), Dominates, Dominates},
		{"dominates all slots", vv(1, 2, 5, 5, 5), vv(1, 1, 1, 1, 1), Dominates, Dominates},
		{"dominated", vv(0, 0, 1), vv(3, 1, 1, 1), Dominated, Dominated},
		{"concurrent", vv(1, 1, 1, 0), vv(2, 1, 0, 1), Concurrent, Concurrent},
		{"concurrent last slot", vv(1, 1, 0, 0, 0, 0, 0, 0, 0, 1), vv(2, 1, 1), Concurrent, Concurrent},
		{"weak equal: lost COP2", vv(7, 3, 1, 0), vv(7, 3, 0, 1), Equal, Concurrent},
		{"weak equal over dominance", vv(7, 3, 2, 2), vv(7, 3, 1, 1), Equal, Dominates},
		{"zero store is not weak", vv(0, 0, 1, 0), vv(0, 0, 0, 1), Concurrent, Concurrent},
		{"same last update, earlier ones missed", vv(7, 3, 9, 2), vv(7, 3, 2, 9), Concurrent, Concurrent},
		{"same last update, a replica was down before", vv(7, 3, 5, 5), vv(7, 3, 2, 5), Dominates, Dominates},
		{"zero store dominated", vv(0, 0, 1), vv(0, 0, 2), Dominated, Dominated},
		{"same client other seq", vv(7, 3, 1, 0), vv(7, 4, 0, 1), Concurrent, Concurrent},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Compare(c.a, c.b); got != c.want {
				t.Errorf("Compare(%v, %v) = %v, want %v", c.a, c.b, got, c.want)
			}
			if got := Compare(c.b, c.a); got != c.want.Reverse() {
				t.Errorf("Compare(%v, %v) = %v, want %v", c.b, c.a, got, c.want.Reverse())
			}
			if got := CompareCounters(c.a, c.b); got != c.counters {
				t.Errorf("CompareCounters(%v, %v) = %v, want %v", c.a, c.b, got, c.counters)
			}
		})
	}
}

func TestOrderString(t *testing.T) {
	want := map[Order]string{Equal: "equal", Dominates: "dominates", Dominated: "dominated",
		Concurrent: "concurrent", Order(9): "Order(9)"}
	for o, s := range want {
		if o.String() != s {
			t.Errorf("%d.String() = %q, want %q", o, o.String(), s)
		}
	}
}

func TestMerge(t *testing.T) {
	cases := []struct {
		name string
		in   []proto.VV
		want proto.VV
	}{
		{"none", nil, vv(0, 0)},
		{"one", []proto.VV{vv(1, 1, 3, 4)}, vv(1, 1, 3, 4)},
		{"dominant keeps store", []proto.VV{vv(1, 1, 1, 1), vv(2, 5, 2, 2)}, vv(2, 5, 2, 2)},
		{"concurrent zero store", []proto.VV{vv(1, 1, 3, 0), vv(2, 1, 0, 3)}, vv(0, 0, 3, 3)},
		{"weak equal keeps store", []proto.VV{vv(4, 4, 1, 0), vv(4, 4, 0, 1)}, vv(4, 4, 1, 1)},
		{"dominant over concurrent laggers", []proto.VV{vv(1, 1, 1, 0), vv(2, 1, 0, 1), vv(3, 1, 2, 2, 1)}, vv(3, 1, 2, 2, 1)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Merge(c.in...); got != c.want {
				t.Errorf("Merge(%v) = %v, want %v", c.in, got, c.want)
			}
		})
	}
}

func TestBump(t *testing.T) {
	sid := proto.StoreID{Client: 9, Seq: 1}
	cases := []struct {
		name string
		in   proto.VV
		slot int
		want proto.VV
	}{
		{"zero slot 0", vv(0, 0), 0, vv(9, 1, 1)},
		{"slot 7", vv(1, 1, 1, 1), 7, vv(9, 1, 1, 1, 0, 0, 0, 0, 0, 1)},
		{"saturates", vv(1, 1, ^uint32(0)), 0, vv(9, 1, ^uint32(0))},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Bump(c.in, c.slot, sid); got != c.want {
				t.Errorf("Bump(%v, %d) = %v, want %v", c.in, c.slot, got, c.want)
			}
		})
	}
	// Re-bumping with the vector's own non-zero store id is the same update.
	v := vv(9, 1, 1)
	if o := Compare(Bump(v, 1, v.Store), v); o != Equal {
		t.Errorf("Bump with the same store id: %v, want equal", o)
	}
	for _, slot := range []int{-1, proto.MaxReplicas} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Bump slot %d did not panic", slot)
				}
			}()
			Bump(v, slot, sid)
		}()
	}
}

func TestDominantLagging(t *testing.T) {
	cases := []struct {
		name    string
		in      []proto.VV
		idx     int
		ok      bool
		lagging []int
	}{
		{"none", nil, -1, false, nil},
		{"one", []proto.VV{vv(1, 1, 1)}, 0, true, nil},
		{"all equal", []proto.VV{vv(1, 1, 1, 1), vv(1, 1, 1, 1)}, 0, true, nil},
		{"second dominates", []proto.VV{vv(1, 1, 1, 1), vv(2, 1, 2, 2), vv(1, 1, 1, 1)}, 1, true, []int{0, 2}},
		{"runt replica", []proto.VV{vv(1, 1, 3, 3), vv(1, 1, 3, 3), vv(0, 0)}, 0, true, []int{2}},
		{"concurrent", []proto.VV{vv(1, 1, 1, 0), vv(2, 1, 0, 1)}, -1, false, nil},
		{"concurrent with third lagging", []proto.VV{vv(1, 1, 2, 0), vv(2, 1, 0, 2), vv(0, 0, 1, 1)}, -1, false, nil},
		{"dominant over concurrent laggers", []proto.VV{vv(1, 1, 1, 0), vv(2, 1, 0, 1), vv(3, 1, 2, 2)}, 2, true, []int{0, 1}},
		{"weak equal prefers larger", []proto.VV{vv(4, 4, 1, 0), vv(4, 4, 1, 1), vv(0, 0)}, 1, true, []int{2}},
		{"weak equal not lagging", []proto.VV{vv(4, 4, 2, 1), vv(4, 4, 1, 2), vv(1, 1, 1, 1)}, 0, true, []int{2}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			idx, ok := Dominant(c.in)
			if idx != c.idx || ok != c.ok {
				t.Errorf("Dominant(%v) = %d, %v; want %d, %v", c.in, idx, ok, c.idx, c.ok)
			}
			if got := Lagging(c.in); !slices.Equal(got, c.lagging) {
				t.Errorf("Lagging(%v) = %v, want %v", c.in, got, c.lagging)
			}
		})
	}
}

func TestStamp(t *testing.T) {
	sid := proto.StoreID{Client: 5, Seq: 8}
	cases := []struct {
		name    string
		in      []proto.VV
		applied []bool
		want    proto.VV
		ok      bool
	}{
		{"all apply", []proto.VV{vv(1, 1, 1, 1, 1), vv(1, 1, 1, 1, 1), vv(1, 1, 1, 1, 1)},
			[]bool{true, true, true}, vv(5, 8, 2, 2, 2), true},
		{"one missed", []proto.VV{vv(1, 1, 1, 1, 1), vv(1, 1, 1, 1, 1), vv(1, 1, 1, 1, 1)},
			[]bool{true, false, true}, vv(5, 8, 2, 1, 2), true},
		{"single replica", []proto.VV{vv(0, 0)}, []bool{true}, vv(5, 8, 1), true},
		{"weakly equal appliers", []proto.VV{vv(4, 4, 1, 0), vv(4, 4, 0, 1)},
			[]bool{true, true}, vv(5, 8, 2, 2), true},
		{"none applied", []proto.VV{vv(1, 1, 1)}, []bool{false}, proto.VV{}, false},
		{"lagging applier", []proto.VV{vv(1, 1, 2, 2), vv(2, 1, 1, 1)},
			[]bool{true, true}, proto.VV{}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok := Stamp(c.in, c.applied, sid)
			if got != c.want || ok != c.ok {
				t.Errorf("Stamp(%v, %v) = %v, %v; want %v, %v", c.in, c.applied, got, ok, c.want, c.ok)
			}
		})
	}
	bad := [][2]int{{2, 3}, {proto.MaxReplicas + 1, proto.MaxReplicas + 1}}
	for _, b := range bad {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Stamp with %d vectors, %d flags did not panic", b[0], b[1])
				}
			}()
			Stamp(make([]proto.VV, b[0]), make([]bool, b[1]), sid)
		}()
	}
}
