package volume

import (
	"github.com/coda-fs/coda/server/proto"
)

// maxLinks bounds the link count of one object.
const maxLinks = 65000

// CreateArgs describe a new object.
type CreateArgs struct {
	Dir     proto.FID
	Name    string
	Type    proto.ObjType
	Mode    uint32
	UID     uint32
	GID     uint32
	Mtime   int64  // 0: now
	Target  string // symlinks
	StoreID proto.StoreID
	// Reserve, when set, is called with the new object's FID under the
	// volume lock, before the object is visible to anyone (the file server
	// registers the creator's callback promise there).
	Reserve func(proto.FID)
}

// Create makes a file, directory or symlink. It returns the directory's and
// the new object's status.
func (v *Volume) Create(c Cred, a CreateArgs) (dir, obj proto.Attr, ch *Change, err error) {
	if err := proto.CheckName(a.Name); err != nil {
		return dir, obj, nil, err
	}
	ch, err = v.update(a.StoreID, func(t *txn) error {
		d, err := t.getDir(a.Dir)
		if err != nil {
			return err
		}
		if applied(d, a.StoreID) {
			if e, err := t.lookup(a.Dir.Vnode, a.Name); err == nil {
				if n, err := t.get(e.Vnode); err == nil && applied(n, a.StoreID) {
					dir = d.attr(a.Dir)
					obj = n.attr(proto.FID{Volume: v.hdr.ID, Vnode: e.Vnode, Unique: e.Unique})
					return errApplied
				}
			}
		}
		if err := check(c, d, permW|permX); err != nil {
			return err
		}
		if _, err := t.lookup(a.Dir.Vnode, a.Name); err == nil {
			return proto.ErrExists
		} else if err != proto.ErrNotFound {
			return err
		}
		vn, uniq := v.nextVnode, v.nextUnique
		v.nextVnode++
		v.nextUnique++
		if a.Reserve != nil {
			a.Reserve(proto.FID{Volume: v.hdr.ID, Vnode: vn, Unique: uniq})
		}
		mtime := a.Mtime
		if mtime == 0 {
			mtime = t.now
		}
		n := &vnode{Type: a.Type, Mode: a.Mode & 07777, UID: a.UID, GID: a.GID, Nlink: 1,
			Unique: uniq, Mtime: mtime, Ctime: t.now, Target: a.Target}
		if a.Type == proto.TypeDir {
			n.Nlink = 2
			n.Parent = a.Dir.Vnode
			d.Nlink++
		}
		if d.Mode&02000 != 0 { // setgid directory: inherit the group
			n.GID = d.GID
			if a.Type == proto.TypeDir {
				n.Mode |= 02000
			}
		}
		t.touch(vn, n)
		t.ch.fileDelta++
		t.setEntry(a.Dir.Vnode, a.Name, entry{Vnode: vn, Unique: uniq, Type: a.Type})
		d.Size++
		d.Mtime, d.Ctime = t.now, t.now
		t.touch(a.Dir.Vnode, d)
		dir = d.attr(a.Dir)
		obj = n.attr(proto.FID{Volume: v.hdr.ID, Vnode: vn, Unique: uniq})
		return nil
	})
	return dir, obj, ch, err
}

// Remove removes a name: a non-directory (rmdir false) or an empty
// directory (rmdir true). It returns the directory's status and the
// object's remaining status (Nlink 0 when it is gone).
func (v *Volume) Remove(c Cred, dirFID proto.FID, name string, rmdir bool, sid proto.StoreID) (dir, obj proto.Attr, ch *Change, err error) {
	ch, err = v.update(sid, func(t *txn) error {
		d, err := t.getDir(dirFID)
		if err != nil {
			return err
		}
		if applied(d, sid) {
			if _, err := t.lookup(dirFID.Vnode, name); err != nil {
				dir = d.attr(dirFID) // obj stays zero: the name is gone
				return errApplied
			}
		}
		if err := check(c, d, permW|permX); err != nil {
			return err
		}
		e, err := t.lookup(dirFID.Vnode, name)
		if err != nil {
			return err
		}
		n, err := t.get(e.Vnode)
		if err != nil {
			return err
		}
		if err := checkSticky(c, d, n); err != nil {
			return err
		}
		fid := proto.FID{Volume: v.hdr.ID, Vnode: e.Vnode, Unique: e.Unique}
		if err := t.unlink(dirFID.Vnode, d, name, e.Vnode, n, rmdir); err != nil {
			return err
		}
		dir = d.attr(dirFID)
		obj = n.attr(fid)
		return nil
	})
	return dir, obj, ch, err
}

// unlink removes entry name (object n) from directory d, checking type.
func (t *txn) unlink(dvn uint32, d *vnode, name string, vn uint32, n *vnode, rmdir bool) error {
	isDir := n.Type == proto.TypeDir
	switch {
	case rmdir && !isDir:
		return proto.ErrNotDir
	case !rmdir && isDir:
		return proto.ErrIsDir
	case isDir && n.Size > 0:
		return proto.ErrNotEmpty
	}
	t.delEntry(dvn, name, vn)
	d.Size--
	d.Mtime, d.Ctime = t.now, t.now
	t.touch(dvn, d)
	if isDir {
		d.Nlink--
		n.Nlink = 0
		t.drop(vn, n)
		return nil
	}
	n.Nlink--
	n.Ctime = t.now
	if n.Nlink == 0 {
		t.drop(vn, n)
	} else {
		t.touch(vn, n)
	}
	return nil
}

// Link adds name in dir for the existing file target. Links are allowed
// only within one directory until the hard-links issue lifts that.
func (v *Volume) Link(c Cred, dirFID proto.FID, name string, target proto.FID, sid proto.StoreID) (dir, obj proto.Attr, ch *Change, err error) {
	if err := proto.CheckName(name); err != nil {
		return dir, obj, nil, err
	}
	if target.Volume != dirFID.Volume {
		return dir, obj, nil, proto.ErrCrossDevice
	}
	ch, err = v.update(sid, func(t *txn) error {
		d, err := t.getDir(dirFID)
		if err != nil {
			return err
		}
		n, err := t.getFID(target)
		if err != nil {
			return err
		}
		if n.Type == proto.TypeDir {
			return proto.ErrPerm
		}
		if applied(d, sid) && applied(n, sid) {
			dir, obj = d.attr(dirFID), n.attr(target)
			return errApplied
		}
		if err := check(c, d, permW|permX); err != nil {
			return err
		}
		if !v.hasName(target.Vnode, dirFID.Vnode) {
			return proto.Errorf(proto.CodeCrossDevice, "hard links across directories are not supported yet")
		}
		if n.Nlink >= maxLinks {
			return proto.ErrTooManyLinks
		}
		if _, err := t.lookup(dirFID.Vnode, name); err == nil {
			return proto.ErrExists
		}
		t.setEntry(dirFID.Vnode, name, entry{Vnode: target.Vnode, Unique: target.Unique, Type: n.Type})
		n.Nlink++
		n.Ctime = t.now
		t.touch(target.Vnode, n)
		d.Size++
		d.Mtime, d.Ctime = t.now, t.now
		t.touch(dirFID.Vnode, d)
		dir, obj = d.attr(dirFID), n.attr(target)
		return nil
	})
	return dir, obj, ch, err
}

// hasName reports whether vnode vn has a name in directory dir.
func (v *Volume) hasName(vn, dir uint32) bool {
	p := parentKey(v.hdr.ID, vn, dir, "")
	it, err := v.set.db.NewIter(p, prefixEnd(p))
	if err != nil {
		return false
	}
	defer it.Close()
	it.First()
	return it.Valid()
}

// nameCount counts the directories holding names of vn, up to 2.
func (v *Volume) dirsOf(vn uint32) map[uint32]bool {
	p := parentPrefix(v.hdr.ID, vn)
	out := map[uint32]bool{}
	it, err := v.set.db.NewIter(p, prefixEnd(p))
	if err != nil {
		return out
	}
	defer it.Close()
	for it.First(); it.Valid(); it.Next() {
		k := it.Key()[len(p):]
		out[uint32(k[0])<<24|uint32(k[1])<<16|uint32(k[2])<<8|uint32(k[3])] = true
	}
	return out
}
