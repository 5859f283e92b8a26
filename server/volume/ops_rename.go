package volume

import (
	"errors"

	"github.com/coda-fs/coda/auth/acl"
	"github.com/coda-fs/coda/resolve"
	"github.com/coda-fs/coda/server/proto"
)

// RenameResult is the status of everything a rename touched.
type RenameResult struct {
	FromDir, ToDir, Obj, Replaced proto.Attr
}

// Rename moves a name within the volume, replacing the target as POSIX
// rename(2) does. It needs 'd' on the source directory, 'i' on the target
// directory and also 'd' there when a name is replaced, the w and x mode
// bits of both and the sticky rule (EPERM). A file with several links may
// move any of its names; its Parent becomes the target directory (which
// now holds a name of it).
func (v *Volume) Rename(c Cred, a proto.Rename) (res RenameResult, ch *Change, err error) {
	ch, err = v.update(a.StoreID, func(t *txn) error {
		return t.rename(c, a, &res)
	})
	return res, ch, err
}

// rename is Rename within transaction t.
func (t *txn) rename(c Cred, a proto.Rename, res *RenameResult) error {
	if err := proto.CheckName(a.ToName); err != nil {
		return err
	}
	if a.FromDir.Volume != a.ToDir.Volume {
		return proto.ErrCrossDevice
	}
	fd, fda, err := t.dirWithACL(a.FromDir)
	if err != nil {
		return err
	}
	td, tda, err := t.dirWithACL(a.ToDir)
	if err != nil {
		return err
	}
	// done fills res with the status of the directories and of n.
	done := func(n *vnode, fid proto.FID) error {
		res.FromDir, res.ToDir = stamp(fd.attr(a.FromDir), c, fda), stamp(td.attr(a.ToDir), c, tda)
		obj, err := childAttr(c, fid, n, tda)
		res.Obj = obj
		return err
	}
	if applied(fd, a.StoreID) && applied(td, a.StoreID) {
		if n, fid, ok := t.renamed(a); ok {
			if err := done(n, fid); err != nil {
				return err
			}
			return errApplied
		}
	}
	if err := checkRename(c, fd, fda, td, tda); err != nil {
		return err
	}
	se, err := t.lookup(a.FromDir.Vnode, a.FromName)
	if err != nil {
		return err
	}
	src, err := t.get(se.Vnode)
	if err != nil {
		return err
	}
	if err := notPlaceholder(src); err != nil {
		return err
	}
	if err := checkSticky(c, fd, src); err != nil {
		return err
	}
	srcFID := proto.FID{Volume: t.v.hdr.ID, Vnode: se.Vnode, Unique: se.Unique}
	sameDir := a.FromDir.Vnode == a.ToDir.Vnode
	if sameDir && a.FromName == a.ToName {
		return done(src, srcFID)
	}
	isDir := src.Type == proto.TypeDir
	if isDir && !sameDir {
		if err := t.checkNotAncestor(se.Vnode, a.ToDir.Vnode); err != nil {
			return err
		}
	}
	// The target, if any.
	te, terr := t.lookup(a.ToDir.Vnode, a.ToName)
	switch {
	case terr == nil:
		if te.Vnode == se.Vnode { // two names of one file: nothing to do
			return done(src, srcFID)
		}
		if res.Replaced, err = t.replace(c, a, td, tda, te, isDir); err != nil {
			return err
		}
	case !errors.Is(terr, proto.ErrNotFound):
		return terr
	}
	t.delEntry(a.FromDir.Vnode, a.FromName, se.Vnode)
	t.setEntry(a.ToDir.Vnode, a.ToName, entry{Vnode: se.Vnode, Unique: se.Unique, Type: src.Type})
	t.logOp(a.FromDir.Vnode, resolve.LogOp{Kind: resolve.OpRenameOut, Name: a.FromName, FID: srcFID, Type: src.Type,
		ObjVV: src.VV, Peer: a.ToDir, PeerName: a.ToName})
	t.logOp(a.ToDir.Vnode, resolve.LogOp{Kind: resolve.OpRenameIn, Name: a.ToName, FID: srcFID, Type: src.Type,
		Peer: a.FromDir, PeerName: a.FromName})
	fd.Size--
	td.Size++
	fd.Mtime, fd.Ctime, td.Mtime, td.Ctime = t.now, t.now, t.now, t.now
	if isDir && !sameDir {
		fd.Nlink--
		td.Nlink++
	}
	src.Parent = a.ToDir.Vnode
	src.Ctime = t.now
	t.touch(a.FromDir.Vnode, fd)
	t.touch(a.ToDir.Vnode, td)
	t.touch(se.Vnode, src)
	return done(src, srcFID)
}

// replace unlinks te, the entry a.ToName of the target directory td, that
// a rename of a directory (isDir) or not is about to replace: 'd' on td,
// matching types, the sticky rule. It returns the replaced object's status.
func (t *txn) replace(c Cred, a proto.Rename, td *vnode, tda acl.ACL, te entry, isDir bool) (proto.Attr, error) {
	if err := need(rightsOn(c, tda), acl.Delete); err != nil {
		return proto.Attr{}, err
	}
	tgt, err := t.get(te.Vnode)
	if err != nil {
		return proto.Attr{}, err
	}
	if isDir && tgt.Type != proto.TypeDir {
		return proto.Attr{}, proto.ErrNotDir
	}
	if !isDir && tgt.Type == proto.TypeDir {
		return proto.Attr{}, proto.ErrIsDir
	}
	if err := checkSticky(c, td, tgt); err != nil {
		return proto.Attr{}, err
	}
	if err := t.unlink(a.ToDir.Vnode, td, a.ToName, te.Vnode, tgt, isDir); err != nil {
		return proto.Attr{}, err
	}
	return childAttr(c, proto.FID{Volume: t.v.hdr.ID, Vnode: te.Vnode, Unique: te.Unique}, tgt, tda)
}

// renamed reports whether rename a looks applied already (the source name
// gone, the target name present) and returns the object it names.
func (t *txn) renamed(a proto.Rename) (*vnode, proto.FID, bool) {
	if _, err := t.lookup(a.FromDir.Vnode, a.FromName); err == nil {
		return nil, proto.FID{}, false
	}
	te, err := t.lookup(a.ToDir.Vnode, a.ToName)
	if err != nil {
		return nil, proto.FID{}, false
	}
	n, err := t.get(te.Vnode)
	if err != nil {
		return nil, proto.FID{}, false
	}
	return n, proto.FID{Volume: t.v.hdr.ID, Vnode: te.Vnode, Unique: te.Unique}, true
}

// checkRename: 'd' on the source directory fd, 'i' on the target td, and
// the w and x mode bits of both.
func checkRename(c Cred, fd *vnode, fda acl.ACL, td *vnode, tda acl.ACL) error {
	if err := need(rightsOn(c, fda), acl.Delete); err != nil {
		return err
	}
	if err := need(rightsOn(c, tda), acl.Insert); err != nil {
		return err
	}
	if err := check(c, fd, permW|permX); err != nil {
		return err
	}
	return check(c, td, permW|permX)
}

// checkNotAncestor refuses to move directory vn under itself: walks from
// dir up to the root.
func (t *txn) checkNotAncestor(vn, dir uint32) error {
	for steps := 0; ; steps++ {
		if dir == vn {
			return proto.Errorf(proto.CodeInvalid, "cannot move a directory into itself")
		}
		if dir == RootVnode || steps > 1<<20 {
			return nil
		}
		n, err := t.get(dir)
		if err != nil {
			return err
		}
		dir = n.Parent
	}
}
