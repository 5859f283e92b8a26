package resolve

import (
	"fmt"
	"slices"
	"sort"

	"github.com/coda-fs/coda/server/proto"
)

// Log-based directory resolution. Every replica logs the operations that
// changed each directory since the replicas were last known equal (the
// server keeps the log; this package only reads it). When a directory's
// replicas are concurrent, MergeDir works out from those logs what each
// side did during the partition, applies to every replica what it missed,
// and reports the names both sides changed differently.
//
// An operation is identified by the StoreID of the client update that made
// it: an update applied by several replicas has the same StoreID in each
// of their logs, so the operations common to every log happened before the
// partition (or on every side), and the others are what the sides did
// apart. The state before the partition (the base) is each replica's entries
// with its own unique operations undone; every replica must give the same
// base, else the logs are not trusted. The merged directory is the base
// with every side's operations applied. A name touched by operations of
// more than one side is a conflict unless every side left it the same
// (both removed it). Removing an object is a conflict when another side
// updated the object after the version the remover saw (remove/update, and
// for a directory removed on one side while names were added in it on the
// other). Renames are logged in both directories with one StoreID; MergeDir
// names the other directories involved, so the caller resolves them in
// the same step.
//
// When a log lost old operations (it is bounded: Truncated), the base
// cannot be rebuilt, and MergeDir compares the entries only: a name that
// is the same everywhere stays, a name that differs (present on some
// replicas only, or naming different objects) is a conflict. That is
// correct but may report what the logs would have merged.

// OpKind is the kind of a logged directory operation.
type OpKind uint8

const (
	OpInsert    OpKind = iota + 1 // create, mkdir, symlink, link: Name → FID added
	OpDelete                      // remove, rmdir: Name → FID removed
	OpRenameIn                    // Name → FID arrived from directory Peer (PeerName)
	OpRenameOut                   // Name → FID left for directory Peer (PeerName)
	OpSetAttr                     // the directory's own attributes or ACL changed
)

func (k OpKind) String() string {
	switch k {
	case OpInsert:
		return "insert"
	case OpDelete:
		return "delete"
	case OpRenameIn:
		return "rename-in"
	case OpRenameOut:
		return "rename-out"
	case OpSetAttr:
		return "setattr"
	}
	return fmt.Sprintf("OpKind(%d)", uint8(k))
}

// LogOp is one logged operation on a directory.
type LogOp struct {
	Kind  OpKind
	Store proto.StoreID // the client update; the same in every replica's log
	Name  string
	FID   proto.FID
	Type  proto.ObjType
	// ObjVV, for deletes and rename-outs, is the version of the object the
	// operation saw: a side that updated it later is in conflict with the
	// delete.
	ObjVV proto.VV
	// Peer and PeerName: the other directory and name of a rename.
	Peer     proto.FID
	PeerName string
}

// Entry is a directory entry.
type Entry struct {
	FID  proto.FID
	Type proto.ObjType
}

// DirReplica is one replica's directory for MergeDir.
type DirReplica struct {
	Entries map[string]Entry
	Log     []LogOp // oldest first
	// Truncated: the log lost operations older than Log[0] (it is bounded).
	Truncated bool
}

// ConflictKind says what kind of conflict a name is in.
type ConflictKind uint8

const (
	NameName     ConflictKind = iota + 1 // different objects under one name
	RemoveUpdate                         // removed on one side, updated on another
	Unknown                              // differs and the logs cannot tell why (truncated)
	AttrAttr                             // the directory's attributes changed on two sides
)

func (k ConflictKind) String() string {
	switch k {
	case NameName:
		return "name/name"
	case RemoveUpdate:
		return "remove/update"
	case Unknown:
		return "differs (no usable log)"
	case AttrAttr:
		return "attr/attr"
	}
	return fmt.Sprintf("ConflictKind(%d)", uint8(k))
}

// Conflict is a name MergeDir did not merge: each replica keeps its own
// entry for it (Have[i]; FID zero when absent) until it is repaired.
type Conflict struct {
	Name string // empty for AttrAttr
	Kind ConflictKind
	Have []Entry
}

// Action is one change a replica must make.
type Action struct {
	Delete bool // remove Name; else insert Name → Entry
	Name   string
	Entry  Entry
}

// DirPlan is MergeDir's result: per replica the changes that make it the
// merged directory, the conflicts left, and the other directories that
// renames tie to this one (to be resolved with it).
type DirPlan struct {
	Actions   [][]Action
	Conflicts []Conflict
	Related   []proto.FID
	// Fallback: the logs were truncated or inconsistent, entries were
	// compared instead.
	Fallback bool
}

// ObjVersions returns, for an object named in the directory, its version
// vector at each replica (ok false where the replica lacks it). MergeDir
// asks it for the objects deleted on some side.
type ObjVersions func(fid proto.FID) (vvs []proto.VV, ok []bool)

// MergeDir merges the replicas of a directory. It is deterministic and
// does no I/O; objs may be nil (no remove/update checks).
func MergeDir(reps []DirReplica, objs ObjVersions) DirPlan {
	plan := DirPlan{Actions: make([][]Action, len(reps))}
	if len(reps) == 0 {
		return plan
	}
	base, ok := rebuildBase(reps)
	if !ok {
		plan.Fallback = true
		compareEntries(reps, &plan)
		return plan
	}
	common := commonOps(reps)
	// The distinct operations not common to all, in an order every
	// replica agrees with for the operations it has.
	var ops []LogOp
	sides := map[opKey][]bool{} // which replicas have the op
	for i, r := range reps {
		for _, op := range r.Log {
			k := keyOf(op)
			if common[k] {
				continue
			}
			if sides[k] == nil {
				sides[k] = make([]bool, len(reps))
				ops = append(ops, op)
			}
			sides[k][i] = true
		}
	}
	// Group the operations by name, and decide each name.
	byName := map[string][]LogOp{}
	var attrOps []LogOp
	related := map[proto.FID]bool{}
	for _, op := range ops {
		if op.Kind == OpSetAttr {
			attrOps = append(attrOps, op)
			continue
		}
		byName[op.Name] = append(byName[op.Name], op)
		if (op.Kind == OpRenameIn || op.Kind == OpRenameOut) && !op.Peer.IsZero() {
			related[op.Peer] = true
		}
	}
	names := make([]string, 0, len(byName))
	for n := range byName {
		names = append(names, n)
	}
	sort.Strings(names)
	final := map[string]Entry{}
	for n, e := range base {
		final[n] = e
	}
	// An object removed by one side and updated by another puts every name
	// its operations touched in conflict (it may have been renamed before
	// it was removed).
	hot := map[proto.FID]bool{}
	for _, op := range ops {
		if op.Kind == OpDelete && removeUpdate([]LogOp{op}, sides, objs) != 0 {
			hot[op.FID] = true
		}
	}
	for _, name := range names {
		nops := byName[name]
		result, conflict := decideName(base, name, nops, sides)
		for _, op := range nops {
			if hot[op.FID] && op.Kind != OpSetAttr {
				conflict = RemoveUpdate
			}
		}
		if conflict != 0 {
			c := Conflict{Name: name, Kind: conflict, Have: make([]Entry, len(reps))}
			for i, r := range reps {
				c.Have[i] = r.Entries[name]
			}
			plan.Conflicts = append(plan.Conflicts, c)
			delete(final, name)
			continue
		}
		if result == nil {
			delete(final, name)
		} else {
			final[name] = *result
		}
	}
	if attrConflict(attrOps, sides) {
		plan.Conflicts = append(plan.Conflicts, Conflict{Kind: AttrAttr})
	}
	conflicted := map[string]bool{}
	for _, c := range plan.Conflicts {
		conflicted[c.Name] = true
	}
	for i, r := range reps {
		plan.Actions[i] = diff(r.Entries, final, conflicted)
	}
	for f := range related {
		plan.Related = append(plan.Related, f)
	}
	slices.SortFunc(plan.Related, func(a, b proto.FID) int {
		if a.Vnode != b.Vnode {
			return int(a.Vnode) - int(b.Vnode)
		}
		return int(a.Unique) - int(b.Unique)
	})
	return plan
}

// opKey identifies an operation across the replicas' logs: one update
// (StoreID) may log several operations in one directory (a rename within
// it: out of the old name, into the new).
type opKey struct {
	store proto.StoreID
	kind  OpKind
	name  string
}

func keyOf(op LogOp) opKey { return opKey{op.Store, op.Kind, op.Name} }

// commonOps is the set of operations in every replica's log.
func commonOps(reps []DirReplica) map[opKey]bool {
	count := map[opKey]int{}
	for _, r := range reps {
		mine := map[opKey]bool{}
		for _, op := range r.Log {
			if k := keyOf(op); !mine[k] {
				mine[k] = true
				count[k]++
			}
		}
	}
	common := map[opKey]bool{}
	for k, n := range count {
		if n == len(reps) {
			common[k] = true
		}
	}
	return common
}

// rebuildBase undoes every replica's own operations (those not in every
// log) on its entries; all replicas must agree on the result. ok is false
// when a log is truncated or the replicas disagree (inconsistent logs).
func rebuildBase(reps []DirReplica) (map[string]Entry, bool) {
	for _, r := range reps {
		if r.Truncated {
			return nil, false
		}
	}
	common := commonOps(reps)
	var base map[string]Entry
	for _, r := range reps {
		b := make(map[string]Entry, len(r.Entries))
		for n, e := range r.Entries {
			b[n] = e
		}
		for k := len(r.Log) - 1; k >= 0; k-- {
			op := r.Log[k]
			if common[keyOf(op)] {
				continue
			}
			switch op.Kind {
			case OpInsert, OpRenameIn:
				if b[op.Name].FID != op.FID {
					return nil, false
				}
				delete(b, op.Name)
			case OpDelete, OpRenameOut:
				if _, taken := b[op.Name]; taken {
					return nil, false
				}
				b[op.Name] = Entry{FID: op.FID, Type: op.Type}
			}
		}
		if base == nil {
			base = b
		} else if !sameEntries(base, b) {
			return nil, false
		}
	}
	return base, true
}

func sameEntries(a, b map[string]Entry) bool {
	if len(a) != len(b) {
		return false
	}
	for n, e := range a {
		if f, ok := b[n]; !ok || f != e {
			return false
		}
	}
	return true
}

// decideName applies the operations on name to the base and says whether
// the sides that made them conflict. result nil: the name is gone.
func decideName(base map[string]Entry, name string, ops []LogOp, sides map[opKey][]bool) (*Entry, ConflictKind) {
	// Split the operations by the set of replicas that made them; ops of
	// one replica set are one side's sequence.
	type side struct {
		key string
		ops []LogOp
	}
	var order []string
	bySide := map[string]*side{}
	for _, op := range ops {
		k := sideKey(sides[keyOf(op)])
		if bySide[k] == nil {
			bySide[k] = &side{key: k}
			order = append(order, k)
		}
		bySide[k].ops = append(bySide[k].ops, op)
	}
	apply := func(ops []LogOp) *Entry {
		var cur *Entry
		if e, ok := base[name]; ok {
			cur = &e
		}
		for _, op := range ops {
			switch op.Kind {
			case OpInsert, OpRenameIn:
				e := Entry{FID: op.FID, Type: op.Type}
				cur = &e
			case OpDelete, OpRenameOut:
				cur = nil
			}
		}
		return cur
	}
	if len(order) == 1 || nested(order) {
		return apply(ops), 0
	}
	// Several sides changed the name. A side that left it as it was (made
	// and removed a temporary file) changed nothing; the others must all
	// have left it the same.
	var was *Entry
	if e, ok := base[name]; ok {
		was = &e
	}
	same := func(a, b *Entry) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }
	// A side that removed the old object agrees with a side that replaced
	// it (renamed another object over it): both wanted the old one gone.
	var result *Entry
	changed, removed := false, false
	for _, k := range order {
		r := apply(bySide[k].ops)
		switch {
		case same(r, was):
			continue
		case r == nil:
			removed = true
			continue
		}
		if changed && !same(r, result) {
			return nil, NameName
		}
		result, changed = r, true
	}
	switch {
	case changed:
		return result, 0
	case removed:
		return nil, 0
	}
	return was, 0
}

// nested reports whether the side sets are ordered by inclusion (one
// partition's operations were later seen by a superset: a chain, not a
// split), so that applying them in log order is right.
func nested(keys []string) bool {
	for i := range keys {
		for j := range keys {
			if i != j && !subset(keys[i], keys[j]) && !subset(keys[j], keys[i]) {
				return false
			}
		}
	}
	return true
}

func subset(a, b string) bool {
	for i := range a {
		if a[i] == '1' && b[i] != '1' {
			return false
		}
	}
	return true
}

func sideKey(have []bool) string {
	b := make([]byte, len(have))
	for i, h := range have {
		b[i] = '0'
		if h {
			b[i] = '1'
		}
	}
	return string(b)
}

// removeUpdate reports a remove/update conflict: an object deleted (or
// renamed away) by one side whose version at a replica that did not see
// the delete is newer than the version the delete saw.
func removeUpdate(ops []LogOp, sides map[opKey][]bool, objs ObjVersions) ConflictKind {
	if objs == nil {
		return 0
	}
	for _, op := range ops {
		if op.Kind != OpDelete {
			continue
		}
		vvs, have := objs(op.FID)
		for i := range vvs {
			if !have[i] || sides[keyOf(op)][i] {
				continue
			}
			if o := Compare(vvs[i], op.ObjVV); o == Dominates || o == Concurrent {
				return RemoveUpdate
			}
		}
	}
	return 0
}

// attrConflict reports whether the directory's own attributes were changed
// by more than one side.
func attrConflict(ops []LogOp, sides map[opKey][]bool) bool {
	var keys []string
	seen := map[string]bool{}
	for _, op := range ops {
		k := sideKey(sides[keyOf(op)])
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	return len(keys) > 1 && !nested(keys)
}

// compareEntries is the fallback without usable logs.
func compareEntries(reps []DirReplica, plan *DirPlan) {
	names := map[string]bool{}
	for _, r := range reps {
		for n := range r.Entries {
			names[n] = true
		}
	}
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	for _, name := range sorted {
		first, ok := reps[0].Entries[name]
		same := true
		for _, r := range reps[1:] {
			e, has := r.Entries[name]
			if has != ok || e != first {
				same = false
			}
		}
		if same {
			continue
		}
		c := Conflict{Name: name, Kind: Unknown, Have: make([]Entry, len(reps))}
		for i, r := range reps {
			c.Have[i] = r.Entries[name]
		}
		plan.Conflicts = append(plan.Conflicts, c)
	}
}

// diff lists the actions that turn have into want, leaving the conflicted
// names alone, in name order.
func diff(have, want map[string]Entry, conflicted map[string]bool) []Action {
	var out []Action
	for n, e := range have {
		if conflicted[n] {
			continue
		}
		if w, ok := want[n]; !ok || w != e {
			out = append(out, Action{Delete: true, Name: n, Entry: e})
		}
	}
	for n, w := range want {
		if conflicted[n] {
			continue
		}
		if e, ok := have[n]; !ok || e != w {
			out = append(out, Action{Name: n, Entry: w})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].Delete && !out[j].Delete // delete before insert
	})
	return out
}
