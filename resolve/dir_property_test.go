package resolve

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/coda-fs/coda/server/proto"
)

// TestPropertyMergeDir runs thousands of random partitions of a directory
// on two and three replicas: every side inserts, deletes, renames and
// updates at random over a small pool of names (so sides collide), then
// MergeDir merges. Checked: (a) every replica ends with the same entries
// apart from the conflicts; (b) nothing a side did is lost unless a
// conflict names it: a name a side left pointing at an object still does,
// a name a side removed no longer names that object; (c) conflicts are
// reported exactly when two sides left a name differently (not counting a
// side that only removed what another replaced) or one side removed an
// object another updated.
func TestPropertyMergeDir(t *testing.T) {
	r := rand.New(rand.NewSource(5))
	pool := []string{"a", "b", "c", "d", "e", "f"}
	for round := range 3000 {
		n := 2 + r.Intn(2)
		s := newDirSim(n)
		var base []string
		for _, name := range pool {
			if r.Intn(2) == 0 {
				base = append(base, name)
			}
		}
		if _, err := s.do("base " + join(base)); err != nil {
			t.Fatal(err)
		}
		// Split the replicas into two sides.
		sides := [][]int{{0}, {1}}
		if n == 3 {
			if r.Intn(2) == 0 {
				sides = [][]int{{0, 1}, {2}}
			} else {
				sides = [][]int{{0}, {1, 2}}
			}
		}
		baseEntries := copyEntries(s.reps[0].Entries)
		updated := make([]map[proto.FID]bool, len(sides))
		var script []string
		for si, side := range sides {
			updated[si] = map[proto.FID]bool{}
			arg := fmt.Sprint(side[0])
			for _, x := range side[1:] {
				arg += fmt.Sprintf(",%d", x)
			}
			for range r.Intn(6) {
				view := s.reps[side[0]].Entries
				name := pool[r.Intn(len(pool))]
				_, exists := view[name]
				var cmd string
				switch k := r.Intn(4); {
				case !exists && k < 2:
					cmd = "insert " + name
				case exists && k == 0:
					cmd = "delete " + name
				case exists && k == 1:
					to := pool[r.Intn(len(pool))]
					if to == name {
						continue
					}
					cmd = "rename " + name + " " + to
				case exists:
					cmd = "update " + name
					updated[si][view[name].FID] = true
				default:
					continue
				}
				script = append(script, "on "+arg+" "+cmd)
				if _, err := s.do("on " + arg + " " + cmd); err != nil {
					t.Fatal(err)
				}
			}
		}
		after := make([]map[string]Entry, len(sides))
		for si, side := range sides {
			after[si] = copyEntries(s.reps[side[0]].Entries)
		}
		plan := MergeDir(s.reps, func(fid proto.FID) ([]proto.VV, []bool) {
			vvs, ok := make([]proto.VV, n), make([]bool, n)
			for i := range n {
				vvs[i], ok[i] = s.objs[i][fid]
			}
			return vvs, ok
		})
		fail := func(format string, args ...any) {
			t.Fatalf("round %d: %s\nbase %v\n%s\nplan %+v", round, fmt.Sprintf(format, args...), base, join(script), plan)
		}
		if plan.Fallback {
			fail("fell back with complete logs")
		}
		conflicted := map[string]bool{}
		for _, c := range plan.Conflicts {
			conflicted[c.Name] = true
		}
		for i := range n {
			for _, a := range plan.Actions[i] {
				if a.Delete {
					delete(s.reps[i].Entries, a.Name)
				} else {
					s.reps[i].Entries[a.Name] = a.Entry
				}
			}
		}
		final := s.reps[0].Entries
		// (a)
		for i := 1; i < n; i++ {
			for name := range union(final, s.reps[i].Entries) {
				if !conflicted[name] && final[name] != s.reps[i].Entries[name] {
					fail("replica %d differs from replica 0 at %s", i, name)
				}
			}
		}
		// The objects one side removed and another updated: every name
		// whose history involves one must be in conflict.
		hot := map[proto.FID]bool{}
		for si := range sides {
			for sj := range sides {
				if si == sj {
					continue
				}
				for fid := range updated[sj] {
					if inBase(baseEntries, fid) && objGone(after[si], fid) && !deletedOnlyBy(s, sides[sj], fid) {
						hot[fid] = true
					}
				}
			}
		}
		// (b) and (c), name by name.
		for _, name := range pool {
			was, hadIt := baseEntries[name]
			var results []*Entry
			for si := range sides {
				e, ok := after[si][name]
				if ok && hadIt && e == was || !ok && !hadIt {
					continue // this side left it as it was
				}
				if ok {
					results = append(results, &e)
				} else {
					results = append(results, nil)
				}
			}
			var news []Entry
			for _, r := range results {
				if r != nil && !containsEntry(news, *r) {
					news = append(news, *r)
				}
			}
			wantNameName := len(news) > 1
			removeUpd := touches(s, name, hot)
			if wantNameName && !conflicted[name] {
				fail("name %s: two sides left it %v, no conflict", name, news)
			}
			if conflicted[name] && !wantNameName && !removeUpd {
				fail("name %s: a conflict nobody made (results %v)", name, news)
			}
			if conflicted[name] {
				continue
			}
			if removeUpd {
				fail("name %s: an object removed on one side and updated on another, no conflict", name)
			}
			switch {
			case len(news) == 1 && final[name] != news[0]:
				fail("name %s: a side left it %v, merged %v", name, news[0], final[name])
			case len(news) == 0 && len(results) > 0:
				if _, ok := final[name]; ok {
					fail("name %s: removed by a side, still there", name)
				}
			case len(results) == 0 && hadIt && final[name] != was:
				fail("name %s: nobody changed it, merged %v", name, final[name])
			}
		}
		for fid := range hot {
			found := false
			for _, c := range plan.Conflicts {
				for _, h := range c.Have {
					found = found || h.FID == fid
				}
				found = found || touches(s, c.Name, map[proto.FID]bool{fid: true})
			}
			if !found {
				fail("object %v removed on one side and updated on another: no conflict names it", fid)
			}
		}
	}
}

// touches reports whether some replica's log has an operation on name
// involving one of the objects in fids.
func touches(s *dirSim, name string, fids map[proto.FID]bool) bool {
	for _, r := range s.reps {
		for _, op := range r.Log {
			if op.Name == name && fids[op.FID] {
				return true
			}
		}
	}
	return false
}

// deletedOnlyBy reports whether fid was removed only by the side that
// also updated it (its own delete: no conflict).
func deletedOnlyBy(s *dirSim, side []int, fid proto.FID) bool {
	for _, op := range s.reps[side[0]].Log {
		if op.Kind == OpDelete && op.FID == fid {
			return true
		}
	}
	return false
}

func join(ss []string) string {
	out := ""
	for i, s := range ss {
		if i > 0 {
			out += " "
		}
		out += s
	}
	return out
}

func copyEntries(m map[string]Entry) map[string]Entry {
	c := make(map[string]Entry, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

func union(a, b map[string]Entry) map[string]bool {
	u := map[string]bool{}
	for k := range a {
		u[k] = true
	}
	for k := range b {
		u[k] = true
	}
	return u
}

func containsEntry(es []Entry, e Entry) bool {
	for _, x := range es {
		if x == e {
			return true
		}
	}
	return false
}

// objGone reports whether entries no longer name fid at all (removed, not
// only renamed within the directory).
func objGone(entries map[string]Entry, fid proto.FID) bool {
	for _, e := range entries {
		if e.FID == fid {
			return false
		}
	}
	return true
}

func inBase(base map[string]Entry, fid proto.FID) bool { return !objGone(base, fid) }
