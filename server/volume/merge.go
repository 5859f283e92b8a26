package volume

import (
	"fmt"
	"slices"

	"github.com/coda-fs/coda/auth/acl"
	"github.com/coda-fs/coda/server/proto"
)

// Applying a merge or a repair to one replica: the entry changes a
// coordinating server planned (inserts, deletes, conflict objects made
// and dissolved), applied in one transaction per step.

// ApplyMerge applies a directory merge (resolve.MergeDir's actions for
// this replica): the directory must still hold version m.Expect. Names go
// (with the objects only they held) or come (with a placeholder for an
// object this replica lacks, resolved on its first access); the directory
// takes version m.VV and drops its log.
func (v *Volume) ApplyMerge(m proto.MergeActions) (*Change, error) {
	return v.transact(proto.StoreID{}, true, func(t *txn) error { // indexed: relink reads the names it made
		if err := t.merge(m); err != nil {
			return err
		}
		return t.relink()
	})
}

// merge is ApplyMerge within transaction t.
func (t *txn) merge(m proto.MergeActions) error {
	v := t.v
	d, err := t.getDir(m.Dir)
	if err != nil {
		return err
	}
	if d.VV != m.Expect {
		return proto.Errorf(proto.CodeStale, fmt.Sprintf("merge %v: the replica changed since it was read", m.Dir))
	}
	for _, a := range m.Actions {
		switch {
		case a.Conflict:
			if err := t.makeConflict(m.Dir, d, m.VV, a); err != nil {
				return err
			}
			continue
		case a.Dissolve:
			if err := t.dissolve(m.Dir, d, a); err != nil {
				return err
			}
			continue
		}
		if a.Delete {
			e, err := t.lookup(m.Dir.Vnode, a.Name)
			if err == proto.ErrNotFound {
				continue
			}
			if err != nil {
				return err
			}
			t.delEntry(m.Dir.Vnode, a.Name, e.Vnode)
			d.Size--
			if e.Type == proto.TypeDir {
				d.Nlink-- // its ".."
			}
			if n, err := t.get(e.Vnode); err == nil && n.Type == proto.TypeDir {
				other, err := t.v.otherName(e.Vnode, m.Dir.Vnode, a.Name)
				if err != nil {
					return err
				}
				if other {
					continue // a directory that moved (inserted under its new name first)
				}
			}
			if err := t.unref(proto.FID{Volume: v.hdr.ID, Vnode: e.Vnode, Unique: e.Unique}, m.Dir.Vnode, a.Name); err != nil {
				return err
			}
			continue
		}
		if a.FID.Volume != v.hdr.ID {
			return proto.ErrCrossDevice
		}
		if _, err := t.lookup(m.Dir.Vnode, a.Name); err == nil {
			return proto.Errorf(proto.CodeExists, fmt.Sprintf("merge %v: %s exists", m.Dir, a.Name))
		}
		n, err := t.insertEntry(m.Dir.Vnode, d, proto.DirEntry{Name: a.Name, FID: a.FID, Type: a.Type})
		if err != nil {
			return err
		}
		if n == nil {
			continue // a placeholder
		}
		if n.Type != proto.TypeDir {
			n.Nlink++ // its old name, if it moved, goes in the next step
		}
		n.Parent = m.Dir.Vnode // a directory that moved here changes parent
		t.dirty[a.FID.Vnode] = n
	}
	if !m.Final {
		t.dirty[m.Dir.Vnode] = d
		return nil
	}
	d.VV = m.VV
	d.Flags &^= flagCOP2
	d.Pending = nil
	d.Mtime, d.Ctime = t.now, t.now
	t.dirty[m.Dir.Vnode] = d
	t.ch.FIDs = append(t.ch.FIDs, m.Dir)
	return t.clearLog(m.Dir.Vnode)
}

// otherName reports whether object vn has a name other than name in
// directory dir (committed state).
func (v *Volume) otherName(vn, dir uint32, name string) (bool, error) {
	p := parentPrefix(v.hdr.ID, vn)
	it, err := v.set.db.NewIter(p, prefixEnd(p))
	if err != nil {
		return false, err
	}
	defer it.Close()
	self := string(parentKey(v.hdr.ID, vn, dir, name))
	for it.First(); it.Valid(); it.Next() {
		if string(it.Key()) != self {
			return true, nil
		}
	}
	return false, it.Error()
}

// makeConflict makes name a.Name of directory dir (d) the new conflict
// object a.FID holding a.Versions, at version vv on every replica. This
// replica's object for the name moves into it (the reference passes, so
// nothing is unlinked); the other versions are referenced, as placeholders
// where this replica lacks them (resolution fills them).
func (t *txn) makeConflict(dir proto.FID, d *vnode, vv proto.VV, a proto.MergeAction) error {
	if a.FID.Volume != t.v.hdr.ID {
		return proto.ErrCrossDevice
	}
	if _, err := t.get(a.FID.Vnode); err == nil {
		return proto.Errorf(proto.CodeExists, fmt.Sprintf("merge: conflict object %v exists", a.FID))
	}
	gov, err := dirACL(d)
	if err != nil {
		return err
	}
	ro, err := acl.Encode(readOnly(gov))
	if err != nil {
		return err
	}
	vv.Store = proto.StoreID{}
	c := &vnode{Type: proto.TypeDir, Mode: d.Mode & 0o555, UID: d.UID, GID: d.GID, Nlink: 2,
		Unique: a.FID.Unique, Mtime: t.now, Ctime: t.now, VV: vv, Parent: dir.Vnode, Flags: flagConflict, ACL: ro}
	old, err := t.lookup(dir.Vnode, a.Name)
	if err != nil && err != proto.ErrNotFound {
		return err
	}
	had := err == nil
	moved := false
	for _, ver := range a.Versions {
		if ver.FID.Volume != t.v.hdr.ID {
			return proto.ErrCrossDevice
		}
		n, err := t.insertEntry(a.FID.Vnode, c, ver)
		if err != nil {
			return err
		}
		if n == nil {
			continue // a placeholder
		}
		if had && old.Vnode == ver.FID.Vnode && old.Unique == ver.FID.Unique {
			moved = true // the name's reference passes to the conflict
		} else if n.Type != proto.TypeDir {
			n.Nlink++
		}
		n.Parent = a.FID.Vnode
		t.dirty[ver.FID.Vnode] = n
	}
	if had {
		t.delEntry(dir.Vnode, a.Name, old.Vnode)
		d.Size--
		if old.Type == proto.TypeDir {
			d.Nlink--
		}
		if !moved {
			if err := t.unref(proto.FID{Volume: t.v.hdr.ID, Vnode: old.Vnode, Unique: old.Unique}, dir.Vnode, a.Name); err != nil {
				return err
			}
		}
	}
	t.setEntry(dir.Vnode, a.Name, entry{Vnode: a.FID.Vnode, Unique: a.FID.Unique, Type: proto.TypeDir})
	d.Size++
	d.Nlink++
	t.dirty[a.FID.Vnode] = c
	t.ch.fileDelta++
	t.ch.FIDs = append(t.ch.FIDs, a.FID)
	t.v.reserve(a.FID)
	return nil
}

// insertEntry adds de to directory dir (d), counting it in d's size and
// links. It returns the object de names, or nil when this replica lacks
// it and a placeholder took its place; the caller counts the object's new
// link.
func (t *txn) insertEntry(dir uint32, d *vnode, de proto.DirEntry) (*vnode, error) {
	t.setEntry(dir, de.Name, entry{Vnode: de.FID.Vnode, Unique: de.FID.Unique, Type: de.Type})
	d.Size++
	if de.Type == proto.TypeDir {
		d.Nlink++
	}
	n, err := t.get(de.FID.Vnode)
	switch {
	case err == proto.ErrNotFound:
		t.placeholder(dir, de)
		return nil, nil
	case err != nil:
		return nil, err
	case n.Unique != de.FID.Unique:
		return nil, proto.Errorf(proto.CodeExists, fmt.Sprintf("merge: vnode %d holds another object than %v", de.FID.Vnode, de.FID))
	}
	return n, nil
}

// readOnly is a conflict object's ACL: its directory's with every right
// but read and lookup taken away, so its versions cannot change.
func readOnly(a acl.ACL) acl.ACL {
	var out acl.ACL
	for _, e := range a.Positive {
		if r := e.Rights & (acl.Read | acl.Lookup); r != 0 {
			out.Positive = append(out.Positive, acl.Entry{ID: e.ID, Rights: r})
		}
	}
	out.Negative = slices.Clone(a.Negative)
	return out
}

// dissolve removes the conflict object a.FID at name a.Name of directory
// dir (d): each version listed in a.Versions takes the name given there
// (the conflict's reference passes to it), the others go.
func (t *txn) dissolve(dir proto.FID, d *vnode, a proto.MergeAction) error {
	e, err := t.lookup(dir.Vnode, a.Name)
	if err != nil {
		return err
	}
	if e.Vnode != a.FID.Vnode || e.Unique != a.FID.Unique {
		return proto.Errorf(proto.CodeStale, fmt.Sprintf("%s no longer names conflict %v", a.Name, a.FID))
	}
	c, err := t.get(e.Vnode)
	if err != nil {
		return err
	}
	if c.Flags&flagConflict == 0 {
		return proto.Errorf(proto.CodeInvalid, fmt.Sprintf("%v is not a conflict", a.FID))
	}
	keep := map[proto.FID]string{}
	for _, ver := range a.Versions {
		if ver.Name != a.Name {
			if _, err := t.lookup(dir.Vnode, ver.Name); err == nil {
				return proto.Errorf(proto.CodeExists, fmt.Sprintf("%s exists", ver.Name))
			}
		}
		keep[ver.FID] = ver.Name
	}
	kids, err := t.v.allEntries(e.Vnode)
	if err != nil {
		return err
	}
	t.delEntry(dir.Vnode, a.Name, e.Vnode)
	d.Size--
	d.Nlink--
	for _, k := range kids {
		t.delEntry(e.Vnode, k.Name, k.FID.Vnode)
		name, kept := keep[k.FID]
		if !kept {
			if err := t.unref(k.FID, e.Vnode, k.Name); err != nil {
				return err
			}
			continue
		}
		delete(keep, k.FID)
		t.setEntry(dir.Vnode, name, entry{Vnode: k.FID.Vnode, Unique: k.FID.Unique, Type: k.Type})
		d.Size++
		if k.Type == proto.TypeDir {
			d.Nlink++
		}
		if n, err := t.get(k.FID.Vnode); err == nil {
			n.Parent = dir.Vnode
			t.dirty[k.FID.Vnode] = n
		}
	}
	if len(keep) > 0 {
		return proto.Errorf(proto.CodeInvalid, fmt.Sprintf("not versions of conflict %v: %v", a.FID, keep))
	}
	if err := t.drop(e.Vnode, c); err != nil {
		return err
	}
	return t.clearLog(e.Vnode)
}
