package resolve

import (
	"fmt"

	"github.com/coda-fs/coda/server/proto"
)

// Order is how two version vectors relate.
type Order uint8

const (
	// Equal: the replicas hold the same state, either because their
	// counters are identical or because they are weakly equal (see Compare).
	Equal Order = iota
	// Dominates: the first has seen every update the second has, and more.
	Dominates
	// Dominated: the second has seen every update the first has, and more.
	Dominated
	// Concurrent: each has seen an update the other lacks (a conflict for
	// files; a merge for directories).
	Concurrent
)

// String names the order as logs and `cfs lv` print it.
func (o Order) String() string {
	switch o {
	case Equal:
		return "equal"
	case Dominates:
		return "dominates"
	case Dominated:
		return "dominated"
	case Concurrent:
		return "concurrent"
	}
	return fmt.Sprintf("Order(%d)", uint8(o))
}

// Reverse is the order seen from the other side: Compare(b, a) ==
// Compare(a, b).Reverse() for every a and b.
func (o Order) Reverse() Order {
	switch o {
	case Dominates:
		return Dominated
	case Dominated:
		return Dominates
	}
	return o
}

// CompareCounters compares the counters of a and b slot by slot and ignores
// the StoreIDs: Equal when every slot is equal, Dominates when a ≥ b on
// every slot and > on one, Dominated for the reverse, Concurrent otherwise.
func CompareCounters(a, b proto.VV) Order {
	var more, less bool
	for i := range a.Counters {
		switch {
		case a.Counters[i] > b.Counters[i]:
			more = true
		case a.Counters[i] < b.Counters[i]:
			less = true
		}
	}
	switch {
	case more && less:
		return Concurrent
	case more:
		return Dominates
	case less:
		return Dominated
	}
	return Equal
}

// WeaklyEqual reports whether a and b carry the same non-zero StoreID and
// counters no slot of which differs by more than one: both replicas
// applied the same update last, and the counters differ only as a COP2 of
// that update that did not arrive everywhere can make them. Larger
// differences mean one replica missed other updates before that one (it
// was down for them): the replicas differ, last update in common or not.
func WeaklyEqual(a, b proto.VV) bool {
	if a.Store != b.Store || a.Store == (proto.StoreID{}) {
		return false
	}
	for i := range a.Counters {
		if a.Counters[i] > b.Counters[i]+1 || b.Counters[i] > a.Counters[i]+1 {
			return false
		}
	}
	return true
}

// Compare is the order resolution uses: the counters' order, except that
// weakly equal vectors (same non-zero StoreID) are Equal whatever their
// counters say. It is antisymmetric (Compare(b, a) is Compare(a, b).Reverse())
// but, because of weak equality, not transitive.
func Compare(a, b proto.VV) Order {
	o := CompareCounters(a, b)
	if o != Equal && WeaklyEqual(a, b) {
		return Equal
	}
	return o
}

// Merge returns the slot-wise maximum of vs. Its StoreID is that of the
// dominant vector (see Dominant) or zero when there is none (vs is empty
// or concurrent), so the result never claims to be one particular update
// it is not. The result dominates or equals every input under Compare.
func Merge(vs ...proto.VV) proto.VV {
	var m proto.VV
	for _, v := range vs {
		for i, c := range v.Counters {
			m.Counters[i] = max(m.Counters[i], c)
		}
	}
	if d, ok := Dominant(vs); ok {
		m.Store = vs[d].Store
	}
	return m
}

// Bump returns v with the counter of slot incremented and the StoreID set
// to sid: the version one replica holds after applying update sid. sid must
// name a new update; Bump(v, slot, v.Store) with a non-zero v.Store is
// weakly equal to v by definition. A counter at its maximum stays there
// (2^32-1 updates of one object through one replica is not reachable in
// practice). Bump panics if slot is outside [0, proto.MaxReplicas): that is
// a programming error.
func Bump(v proto.VV, slot int, sid proto.StoreID) proto.VV {
	checkSlot(slot)
	if v.Counters[slot] < ^uint32(0) {
		v.Counters[slot]++
	}
	v.Store = sid
	return v
}

// Dominant returns the index of a replica whose vector dominates or equals
// (under Compare) every other one, with ok true. Among several candidates
// (equal or weakly equal vectors) it picks the one with the largest counter
// sum, then the lowest index, so the choice is deterministic. ok is false
// when vs is empty or no vector dominates-or-equals all others — which
// happens exactly when the replicas diverged concurrently. Two lagging
// replicas may be concurrent with each other while a third dominates both;
// that third is then dominant: it has seen every update either has.
func Dominant(vs []proto.VV) (idx int, ok bool) {
	idx = -1
	var best uint64
	for i := range vs {
		if !coversAll(vs, i) {
			continue
		}
		if s := sum(vs[i]); idx < 0 || s > best {
			idx, best = i, s
		}
	}
	return idx, idx >= 0
}

// Lagging returns, in increasing order, the indices of the replicas whose
// vectors are strictly dominated (Compare == Dominated) by the dominant one:
// those that must receive its state. It returns nil when there is no
// dominant replica or none lags. Replicas weakly equal to the dominant one
// are not lagging; they only need the merged vector stamped (Merge).
func Lagging(vs []proto.VV) []int {
	d, ok := Dominant(vs)
	if !ok {
		return nil
	}
	var out []int
	for i := range vs {
		if Compare(vs[i], vs[d]) == Dominated {
			out = append(out, i)
		}
	}
	return out
}

// Stamp is the COP2 step. vs[i] is the vector replica i (slot i) held
// before update sid, and applied[i] says whether replica i applied it.
// Stamp returns the vector every applying replica stores afterwards: the
// merge of the applying replicas' vectors with each applying replica's slot
// incremented once and the StoreID set to sid. All applying replicas end
// Equal, and the result dominates every replica that did not apply the
// update and was equal to or dominated by the applying ones before.
//
// ok is false, and nothing must be stamped, when no replica applied the
// update or the applying replicas were not pairwise Equal beforehand (a
// lagging replica must be brought level by resolution first; stamping it
// would claim updates it never saw). Stamp panics if len(applied) !=
// len(vs) or len(vs) > proto.MaxReplicas: a programming error.
func Stamp(vs []proto.VV, applied []bool, sid proto.StoreID) (proto.VV, bool) {
	if len(applied) != len(vs) {
		panic(fmt.Sprintf("resolve.Stamp: %d vectors but %d applied flags", len(vs), len(applied)))
	}
	if len(vs) > proto.MaxReplicas {
		panic(fmt.Sprintf("resolve.Stamp: %d replicas, at most %d", len(vs), proto.MaxReplicas))
	}
	var appliers []proto.VV
	for i, a := range applied {
		if !a {
			continue
		}
		for _, w := range appliers {
			if Compare(vs[i], w) != Equal {
				return proto.VV{}, false
			}
		}
		appliers = append(appliers, vs[i])
	}
	if len(appliers) == 0 {
		return proto.VV{}, false
	}
	v := Merge(appliers...)
	for i, a := range applied {
		if a {
			v = Bump(v, i, sid)
		}
	}
	return v, true
}

// coversAll reports whether vs[i] dominates or equals every other vector.
func coversAll(vs []proto.VV, i int) bool {
	for j := range vs {
		if o := Compare(vs[i], vs[j]); o == Dominated || o == Concurrent {
			return false
		}
	}
	return true
}

func sum(v proto.VV) uint64 {
	var s uint64
	for _, c := range v.Counters {
		s += uint64(c)
	}
	return s
}

func checkSlot(slot int) {
	if slot < 0 || slot >= proto.MaxReplicas {
		panic(fmt.Sprintf("resolve: slot %d outside [0, %d)", slot, proto.MaxReplicas))
	}
}
