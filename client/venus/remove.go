package venus

import (
	"context"
	"syscall"

	"github.com/coda-fs/coda/auth/acl"
	"github.com/coda-fs/coda/server/proto"
)

// Rename flags (renameat2).
const (
	renameNoReplace = 1
	renameExchange  = 2
)

// childAttr returns the status of name's object in d, revalidated, for
// sticky-bit and type checks; ok is false when name does not exist.
func (v *Venus) childAttr(ctx context.Context, c Caller, d *object, name string) (proto.Attr, bool, error) {
	de, found, err := v.resolve(ctx, c, d, name)
	if err != nil || !found {
		return proto.Attr{}, false, err
	}
	v.mu.Lock()
	o := v.objectFor(de.FID)
	v.mu.Unlock()
	if err := v.ensureValid(ctx, c, o); err != nil {
		if isGone(err) {
			return proto.Attr{}, false, nil
		}
		return proto.Attr{}, false, err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	return o.attr, true, nil
}

// Remove removes a name that is not a directory.
func (v *Venus) Remove(ctx context.Context, c Caller, parent uint64, name string) error {
	return v.remove(ctx, c, parent, name, proto.OpRemove)
}

// Rmdir removes an empty directory.
func (v *Venus) Rmdir(ctx context.Context, c Caller, parent uint64, name string) error {
	return v.remove(ctx, c, parent, name, proto.OpRmdir)
}

func (v *Venus) remove(ctx context.Context, c Caller, parent uint64, name string, op proto.Op) error {
	d, err := v.prepChange(ctx, c, parent, name, acl.Delete)
	if err != nil {
		return err
	}
	a, found, err := v.childAttr(ctx, c, d, name)
	if err != nil {
		return err
	}
	if !found {
		return proto.ErrNotFound
	}
	if a.Flags&proto.AttrConflict != 0 {
		return proto.Errorf(proto.CodePerm, "a conflict: cfs repair --remove removes it")
	}
	if op == proto.OpRemove && a.Type == proto.TypeDir {
		return proto.ErrIsDir
	}
	if op == proto.OpRmdir && a.Type != proto.TypeDir {
		return proto.ErrNotDir
	}
	id, _ := v.identityOf(c)
	v.mu.Lock()
	da := d.attr
	v.mu.Unlock()
	if err := checkSticky(id, &da, &a); err != nil {
		return err
	}
	req := proto.Remove{Dir: d.fid, Name: name, StoreID: v.nextStoreID()}
	st, r, err := updateAs[proto.DirOpReply](ctx, v, c, d.fid.Volume, op, &req, req.StoreID, nil)
	if err != nil {
		return err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.applyDirChange(st, d, r.Dir, name, nil)
	if !r.Attr.FID.IsZero() {
		o := v.objectFor(r.Attr.FID)
		v.applyAttr(o, r.Attr, st)
		if r.Attr.Nlink == 0 {
			v.forget(o)
		}
	}
	return nil
}

// Rename moves a name, within a directory or across directories of a
// volume. flags may hold RENAME_NOREPLACE; RENAME_EXCHANGE is not supported.
func (v *Venus) Rename(ctx context.Context, c Caller, oldParent uint64, oldName string, newParent uint64, newName string, flags uint32) error {
	if flags&^renameNoReplace != 0 {
		return syscall.EINVAL
	}
	from, err := v.prepChange(ctx, c, oldParent, oldName, acl.Delete)
	if err != nil {
		return err
	}
	to, err := v.prepChange(ctx, c, newParent, newName, acl.Insert)
	if err != nil {
		return err
	}
	if from.fid.Volume != to.fid.Volume {
		return proto.ErrCrossDevice
	}
	if err := v.checkRename(ctx, c, from, oldName, to, newName, flags); err != nil {
		return err
	}
	req := proto.Rename{FromDir: from.fid, FromName: oldName, ToDir: to.fid, ToName: newName, StoreID: v.nextStoreID()}
	st, r, err := updateAs[proto.RenameReply](ctx, v, c, from.fid.Volume, proto.OpRename, &req, req.StoreID, nil)
	if err != nil {
		return err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.applyRename(st, from, oldName, to, newName, r)
	return nil
}

// checkRename does the local checks: the source exists, sticky bits, and
// RENAME_NOREPLACE.
func (v *Venus) checkRename(ctx context.Context, c Caller, from *object, oldName string, to *object, newName string, flags uint32) error {
	src, found, err := v.childAttr(ctx, c, from, oldName)
	if err != nil {
		return err
	}
	if !found {
		return proto.ErrNotFound
	}
	dst, exists, err := v.childAttr(ctx, c, to, newName)
	if err != nil {
		return err
	}
	if exists && flags&renameNoReplace != 0 {
		return proto.ErrExists
	}
	id, _ := v.identityOf(c)
	v.mu.Lock()
	fa, ta := from.attr, to.attr
	v.mu.Unlock()
	if err := checkSticky(id, &fa, &src); err != nil {
		return err
	}
	if exists {
		if err := v.checkMutation(c, to, acl.Delete); err != nil {
			return err
		}
		return checkSticky(id, &ta, &dst)
	}
	return nil
}

// applyRename records a rename's result. Callers hold v.mu.
func (v *Venus) applyRename(st stamp, from *object, oldName string, to *object, newName string, r *proto.RenameReply) {
	moved := proto.DirEntry{Name: newName, FID: r.Attr.FID, Type: r.Attr.Type}
	if from == to {
		v.applyDirChange(st, from, r.FromDir, oldName, nil)
		if dirValid(from) {
			from.dir.add(moved)
			v.meta.setEntry(from, moved)
		}
	} else {
		v.applyDirChange(st, from, r.FromDir, oldName, nil)
		v.applyDirChange(st, to, r.ToDir, newName, &moved)
	}
	o := v.objectFor(r.Attr.FID)
	o.parent = to.fid
	v.applyAttr(o, r.Attr, st)
	if !r.Replaced.FID.IsZero() && r.Replaced.FID != r.Attr.FID {
		rep := v.objectFor(r.Replaced.FID)
		v.applyAttr(rep, r.Replaced, st)
		if r.Replaced.Nlink == 0 {
			v.forget(rep)
		}
	}
}
