package volume

import (
	"fmt"
	"slices"

	"github.com/coda-fs/coda/auth/acl"
	"github.com/coda-fs/coda/resolve"
	"github.com/coda-fs/coda/server/proto"
)

// maxLinks bounds the link count of one object.
var maxLinks uint32 = 65000 // a var for tests

// CreateArgs describe a new object.
type CreateArgs struct {
	Dir  proto.FID
	Name string
	Type proto.ObjType
	Mode uint32
	// GID is the new object's group; 0, or a group the caller may not
	// give (neither admin nor a member), means the directory's group. The
	// owner is always the caller (proto.AnonymousUID when anonymous).
	GID     uint32
	Mtime   int64  // 0: now
	Target  string // symlinks
	StoreID proto.StoreID
	// FID, when not zero, is the FID the client proposes (the same on
	// every replica; see AllocFIDs); it must be unused.
	FID proto.FID
	// Reserve, when set, is called with the new object's FID under the
	// volume lock, before the object is visible to anyone (the file server
	// registers the creator's callback promise there).
	Reserve func(proto.FID)
}

// Create makes a file, directory or symlink: 'i' on the directory and its
// w and x mode bits. A new directory inherits the directory's ACL. It
// returns the directory's and the new object's status.
func (v *Volume) Create(c Cred, a CreateArgs) (dir, obj proto.Attr, ch *Change, err error) {
	ch, err = v.update(a.StoreID, func(t *txn) error {
		dir, obj, err = t.create(c, a)
		return err
	})
	return dir, obj, ch, err
}

// create is Create within transaction t.
func (t *txn) create(c Cred, a CreateArgs) (dir, obj proto.Attr, err error) {
	v := t.v
	if err := proto.CheckName(a.Name); err != nil {
		return dir, obj, err
	}
	d, da, err := t.dirWithACL(a.Dir)
	if err != nil {
		return dir, obj, err
	}
	if applied(d, a.StoreID) {
		if e, err := t.lookup(a.Dir.Vnode, a.Name); err == nil {
			if n, err := t.get(e.Vnode); err == nil && applied(n, a.StoreID) {
				dir = stamp(d.attr(a.Dir), c, da)
				obj, err = childAttr(c, proto.FID{Volume: v.hdr.ID, Vnode: e.Vnode, Unique: e.Unique}, n, da)
				if err != nil {
					return dir, obj, err
				}
				return dir, obj, errApplied
			}
		}
	}
	if err := need(rightsOn(c, da), acl.Insert); err != nil {
		return dir, obj, err
	}
	if err := check(c, d, permW|permX); err != nil {
		return dir, obj, err
	}
	if _, err := t.lookup(a.Dir.Vnode, a.Name); err == nil {
		return dir, obj, proto.ErrExists
	} else if err != proto.ErrNotFound {
		return dir, obj, err
	}
	var vn, uniq uint32
	if a.FID.IsZero() {
		vn, uniq = v.nextOwn(), v.nextUnique
		v.nextUnique++
	} else {
		if a.FID.Volume != v.hdr.ID || a.FID.Vnode <= RootVnode || a.FID.Unique == 0 {
			return dir, obj, proto.Errorf(proto.CodeInvalid, fmt.Sprintf("bad proposed FID %s", a.FID))
		}
		if _, err := t.get(a.FID.Vnode); err == nil {
			return dir, obj, proto.Errorf(proto.CodeExists, fmt.Sprintf("FID %s is in use", a.FID))
		} else if err != proto.ErrNotFound {
			return dir, obj, err
		}
		vn, uniq = a.FID.Vnode, a.FID.Unique
		if v.inClass(vn) && vn >= v.nextVnode {
			v.nextVnode = vn + 1 // ours, handed out before a lost mark
		}
	}
	if a.Reserve != nil {
		a.Reserve(proto.FID{Volume: v.hdr.ID, Vnode: vn, Unique: uniq})
	}
	mtime := a.Mtime
	if mtime == 0 {
		mtime = t.now
	}
	n := &vnode{Type: a.Type, Mode: a.Mode & 07777, UID: newOwner(c), GID: newGroup(c, d, a.GID),
		Nlink: 1, Unique: uniq, Mtime: mtime, Ctime: t.now, Target: a.Target, Parent: a.Dir.Vnode}
	if a.Type == proto.TypeDir {
		n.Nlink = 2
		n.ACL = slices.Clone(d.ACL)
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
	t.logOp(a.Dir.Vnode, resolve.LogOp{Kind: resolve.OpInsert, Name: a.Name, Type: a.Type,
		FID: proto.FID{Volume: v.hdr.ID, Vnode: vn, Unique: uniq}})
	d.Size++
	d.Mtime, d.Ctime = t.now, t.now
	t.touch(a.Dir.Vnode, d)
	dir = stamp(d.attr(a.Dir), c, da)
	obj = stamp(n.attr(proto.FID{Volume: v.hdr.ID, Vnode: vn, Unique: uniq}), c, da)
	return dir, obj, nil
}

// newOwner is the owner of what c creates.
func newOwner(c Cred) uint32 {
	if c.anonymous() {
		return proto.AnonymousUID
	}
	return uint32(c.UID)
}

// newGroup is the group of what c creates in d when it asks for gid:
// gid if c may give it (an admin, or a member of the group), else d's.
func newGroup(c Cred, d *vnode, gid uint32) uint32 {
	if gid != 0 && (c.root() || c.inGroup(gid)) {
		return gid
	}
	return d.GID
}

// dirWithACL returns the directory named by fid and its ACL.
func (t *txn) dirWithACL(fid proto.FID) (*vnode, acl.ACL, error) {
	d, err := t.getDir(fid)
	if err != nil {
		return nil, acl.ACL{}, err
	}
	if d.Flags&flagConflict != 0 {
		return nil, acl.ACL{}, proto.Errorf(proto.CodeReadOnly, "a conflict; change it with cfs repair")
	}
	da, err := dirACL(d)
	if err != nil {
		return nil, acl.ACL{}, err
	}
	return d, da, nil
}

// Remove removes a name: a non-directory (rmdir false) or an empty
// directory (rmdir true). It needs 'd' on the directory, its w and x mode
// bits, and the sticky rule (EPERM). It returns the directory's status and the
// object's remaining status (Nlink 0 when it is gone).
func (v *Volume) Remove(c Cred, dirFID proto.FID, name string, rmdir bool, sid proto.StoreID) (dir, obj proto.Attr, ch *Change, err error) {
	ch, err = v.update(sid, func(t *txn) error {
		dir, obj, err = t.remove(c, proto.Remove{Dir: dirFID, Name: name, StoreID: sid}, rmdir)
		return err
	})
	return dir, obj, ch, err
}

// RemoveLogged is Remove of a request that may carry the version the
// removal was decided on (a logged remove): another version here is a
// conflict.
func (v *Volume) RemoveLogged(c Cred, r proto.Remove, rmdir bool) (dir, obj proto.Attr, ch *Change, err error) {
	ch, err = v.update(r.StoreID, func(t *txn) error {
		dir, obj, err = t.remove(c, r, rmdir)
		return err
	})
	return dir, obj, ch, err
}

// remove is Remove within transaction t.
func (t *txn) remove(c Cred, r proto.Remove, rmdir bool) (dir, obj proto.Attr, err error) {
	v := t.v
	dirFID, name, sid := r.Dir, r.Name, r.StoreID
	d, da, err := t.dirWithACL(dirFID)
	if err != nil {
		return dir, obj, err
	}
	if applied(d, sid) {
		if _, err := t.lookup(dirFID.Vnode, name); err != nil {
			dir = stamp(d.attr(dirFID), c, da) // obj stays zero: the name is gone
			return dir, obj, errApplied
		}
	}
	if err := need(rightsOn(c, da), acl.Delete); err != nil {
		return dir, obj, err
	}
	if err := check(c, d, permW|permX); err != nil {
		return dir, obj, err
	}
	e, err := t.lookup(dirFID.Vnode, name)
	if err != nil {
		return dir, obj, err
	}
	n, err := t.get(e.Vnode)
	if err != nil {
		return dir, obj, err
	}
	if err := checkSticky(c, d, n); err != nil {
		return dir, obj, err
	}
	fid := proto.FID{Volume: v.hdr.ID, Vnode: e.Vnode, Unique: e.Unique}
	if err := baseConflict(fid, n, r.Base, r.HasBase, "the removal was decided on"); err != nil {
		return dir, obj, err
	}
	if err := t.unlink(dirFID.Vnode, d, name, e.Vnode, n, rmdir); err != nil {
		return dir, obj, err
	}
	dir = stamp(d.attr(dirFID), c, da)
	obj, err = childAttr(c, fid, n, da)
	return dir, obj, err
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
	t.logOp(dvn, resolve.LogOp{Kind: resolve.OpDelete, Name: name, Type: n.Type, ObjVV: n.VV,
		FID: proto.FID{Volume: t.v.hdr.ID, Vnode: vn, Unique: n.Unique}})
	d.Size--
	d.Mtime, d.Ctime = t.now, t.now
	t.touch(dvn, d)
	if isDir {
		d.Nlink--
		n.Nlink = 0
		return t.drop(vn, n)
	}
	n.Nlink--
	n.Ctime = t.now
	if n.Nlink == 0 {
		return t.drop(vn, n)
	}
	if err := t.reparent(vn, n, dvn, name); err != nil {
		return err
	}
	t.nameChange(vn, n)
	return nil
}

// reparent keeps a file's Parent a directory that holds one of its names
// after its name (dir, name) went: when that was its last name in Parent,
// Parent becomes another directory holding one.
func (t *txn) reparent(vn uint32, n *vnode, dir uint32, name string) error {
	if n.Type == proto.TypeDir || n.Parent != dir {
		return nil
	}
	ns, err := t.names(vn, dir, name)
	if err != nil || ns.count == 0 || ns.inParent(n) {
		return err
	}
	n.Parent = ns.first
	return nil
}

// Link adds name in dir for the existing file target, in any directory of
// the volume: 'i' on dir and its w and x mode bits; and, when target lives
// in another directory, the rights to read it there ('l' and 'r' on the
// directory whose ACL governs it) and, unless the caller owns it, to write
// it ('w') — as Linux's protected_hardlinks asks — since a link made
// elsewhere may come to be governed by its own directory's ACL once the
// other names go (reparent).
func (v *Volume) Link(c Cred, dirFID proto.FID, name string, target proto.FID, sid proto.StoreID) (dir, obj proto.Attr, ch *Change, err error) {
	ch, err = v.update(sid, func(t *txn) error {
		dir, obj, err = t.link(c, dirFID, name, target, sid)
		return err
	})
	return dir, obj, ch, err
}

// link is Link within transaction t.
func (t *txn) link(c Cred, dirFID proto.FID, name string, target proto.FID, sid proto.StoreID) (dir, obj proto.Attr, err error) {
	if err := proto.CheckName(name); err != nil {
		return dir, obj, err
	}
	if target.Volume != dirFID.Volume {
		return dir, obj, proto.ErrCrossDevice
	}
	d, da, err := t.dirWithACL(dirFID)
	if err != nil {
		return dir, obj, err
	}
	n, err := t.getFID(target)
	if err != nil {
		return dir, obj, err
	}
	if n.Type == proto.TypeDir {
		return dir, obj, proto.ErrPerm
	}
	if applied(d, sid) { // a retry: the name is there (the file's version does not move)
		if e, err := t.lookup(dirFID.Vnode, name); err == nil && e.Vnode == target.Vnode {
			dir, obj = stamp(d.attr(dirFID), c, da), stamp(n.attr(target), c, da)
			return dir, obj, errApplied
		}
	}
	if err := notPlaceholder(n); err != nil {
		return dir, obj, err
	}
	if err := need(rightsOn(c, da), acl.Insert); err != nil {
		return dir, obj, err
	}
	if err := check(c, d, permW|permX); err != nil {
		return dir, obj, err
	}
	if target.Volume != dirFID.Volume {
		return dir, obj, proto.ErrCrossDevice
	}
	if n.Parent != dirFID.Vnode && !c.root() {
		p, err := t.get(n.Parent)
		if err != nil {
			return dir, obj, err
		}
		pa, err := dirACL(p)
		if err != nil {
			return dir, obj, err
		}
		want := acl.Lookup | acl.Read
		if !c.owns(n) {
			want |= acl.Write
		}
		if err := need(rightsOn(c, pa), want); err != nil {
			return dir, obj, err
		}
	}
	if n.Nlink >= maxLinks {
		return dir, obj, proto.ErrTooManyLinks
	}
	if _, err := t.lookup(dirFID.Vnode, name); err == nil {
		return dir, obj, proto.ErrExists
	}
	t.setEntry(dirFID.Vnode, name, entry{Vnode: target.Vnode, Unique: target.Unique, Type: n.Type})
	t.logOp(dirFID.Vnode, resolve.LogOp{Kind: resolve.OpInsert, Name: name, Type: n.Type, FID: target})
	n.Nlink++
	n.Ctime = t.now
	t.nameChange(target.Vnode, n)
	d.Size++
	d.Mtime, d.Ctime = t.now, t.now
	t.touch(dirFID.Vnode, d)
	dir, obj = stamp(d.attr(dirFID), c, da), stamp(n.attr(target), c, da)
	return dir, obj, nil
}
