package volume

import (
	"errors"

	"github.com/coda-fs/coda/server/proto"
)

// RenameResult is the status of everything a rename touched.
type RenameResult struct {
	FromDir, ToDir, Obj, Replaced proto.Attr
}

// Rename moves a name within the volume, replacing the target as POSIX
// rename(2) does. A file with several links may not leave its directory
// until the hard-links issue lifts that (EXDEV).
func (v *Volume) Rename(c Cred, a proto.Rename) (res RenameResult, ch *Change, err error) {
	if err := proto.CheckName(a.ToName); err != nil {
		return res, nil, err
	}
	if a.FromDir.Volume != a.ToDir.Volume {
		return res, nil, proto.ErrCrossDevice
	}
	ch, err = v.update(a.StoreID, func(t *txn) error {
		return t.rename(c, a, &res)
	})
	return res, ch, err
}

func (t *txn) rename(c Cred, a proto.Rename, res *RenameResult) error {
	fd, err := t.getDir(a.FromDir)
	if err != nil {
		return err
	}
	td, err := t.getDir(a.ToDir)
	if err != nil {
		return err
	}
	if applied(fd, a.StoreID) && applied(td, a.StoreID) {
		if _, err := t.lookup(a.FromDir.Vnode, a.FromName); err != nil {
			if te, err := t.lookup(a.ToDir.Vnode, a.ToName); err == nil {
				if n, err := t.get(te.Vnode); err == nil {
					res.FromDir, res.ToDir = fd.attr(a.FromDir), td.attr(a.ToDir)
					res.Obj = n.attr(proto.FID{Volume: t.v.hdr.ID, Vnode: te.Vnode, Unique: te.Unique})
					return errApplied
				}
			}
		}
	}
	if err := check(c, fd, permW|permX); err != nil {
		return err
	}
	if err := check(c, td, permW|permX); err != nil {
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
	if err := checkSticky(c, fd, src); err != nil {
		return err
	}
	srcFID := proto.FID{Volume: t.v.hdr.ID, Vnode: se.Vnode, Unique: se.Unique}
	sameDir := a.FromDir.Vnode == a.ToDir.Vnode
	if sameDir && a.FromName == a.ToName {
		res.FromDir, res.ToDir, res.Obj = fd.attr(a.FromDir), td.attr(a.ToDir), src.attr(srcFID)
		return nil
	}
	isDir := src.Type == proto.TypeDir
	if isDir && !sameDir {
		if err := t.checkNotAncestor(se.Vnode, a.ToDir.Vnode); err != nil {
			return err
		}
	}
	if !isDir && !sameDir && src.Nlink > 1 {
		return proto.Errorf(proto.CodeCrossDevice, "renaming a file with several links out of its directory is not supported yet")
	}
	// The target, if any.
	te, terr := t.lookup(a.ToDir.Vnode, a.ToName)
	switch {
	case terr == nil:
		if te.Vnode == se.Vnode { // two names of one file: nothing to do
			res.FromDir, res.ToDir, res.Obj = fd.attr(a.FromDir), td.attr(a.ToDir), src.attr(srcFID)
			return nil
		}
		tgt, err := t.get(te.Vnode)
		if err != nil {
			return err
		}
		if isDir && tgt.Type != proto.TypeDir {
			return proto.ErrNotDir
		}
		if !isDir && tgt.Type == proto.TypeDir {
			return proto.ErrIsDir
		}
		if err := checkSticky(c, td, tgt); err != nil {
			return err
		}
		if err := t.unlink(a.ToDir.Vnode, td, a.ToName, te.Vnode, tgt, isDir); err != nil {
			return err
		}
		res.Replaced = tgt.attr(proto.FID{Volume: t.v.hdr.ID, Vnode: te.Vnode, Unique: te.Unique})
	case !errors.Is(terr, proto.ErrNotFound):
		return terr
	}
	t.delEntry(a.FromDir.Vnode, a.FromName, se.Vnode)
	t.setEntry(a.ToDir.Vnode, a.ToName, entry{Vnode: se.Vnode, Unique: se.Unique, Type: src.Type})
	fd.Size--
	td.Size++
	fd.Mtime, fd.Ctime, td.Mtime, td.Ctime = t.now, t.now, t.now, t.now
	if isDir && !sameDir {
		fd.Nlink--
		td.Nlink++
		src.Parent = a.ToDir.Vnode
	}
	src.Ctime = t.now
	t.touch(a.FromDir.Vnode, fd)
	t.touch(a.ToDir.Vnode, td)
	t.touch(se.Vnode, src)
	res.FromDir, res.ToDir, res.Obj = fd.attr(a.FromDir), td.attr(a.ToDir), src.attr(srcFID)
	return nil
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
