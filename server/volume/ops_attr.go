package volume

import (
	"fmt"
	"io"

	"github.com/coda-fs/coda/auth/acl"
	"github.com/coda-fs/coda/resolve"
	"github.com/coda-fs/coda/server/proto"
	"github.com/coda-fs/coda/server/store"
)

// SetAttr changes mode, owner, group, size or mtime, each judged on the
// ACL governing the object:
//
//   - chmod: 'w', and the owner or an admin (else EPERM);
//   - chown: admins only (EPERM);
//   - chgrp: an admin, or the owner giving a group in its CPS (else
//     EPERM) with 'w';
//   - truncate: as Store;
//   - mtime: 'w' and (the owner, an admin or the w mode bit, else EPERM),
//     or the owner with 'i'.
//
// A truncation that shrinks a file writes a new container holding the
// kept prefix (containers are immutable, so clones and open fetches keep
// their view).
func (v *Volume) SetAttr(c Cred, a proto.SetAttr) (proto.Attr, *Change, error) {
	var newCt store.ContainerID
	var newBlocks int64
	if a.Mask&proto.SetSize != 0 {
		n, err := v.object(a.FID)
		if err != nil {
			return proto.Attr{}, nil, err
		}
		if err := fileOnly(n); err != nil {
			return proto.Attr{}, nil, err
		}
		gov, err := governing(v.readVnode, n)
		if err != nil {
			return proto.Attr{}, nil, err
		}
		if !mayWriteData(c, n, rightsOn(c, gov)) {
			return proto.Attr{}, nil, proto.ErrAccess
		}
		if a.Size < n.Size && a.Size > 0 && n.Container != 0 {
			newCt, newBlocks, err = v.copyPrefix(store.ContainerID(n.Container), a.Size)
			if err != nil {
				return proto.Attr{}, nil, err
			}
		}
	}
	var out proto.Attr
	ch, err := v.update(a.StoreID, func(t *txn) (err error) {
		out, err = t.setAttr(c, a, newCt, newBlocks)
		return err
	})
	if (err != nil || ch.Duplicate) && newCt != 0 {
		v.set.db.RemoveContainer(newCt)
	}
	return out, ch, err
}

// setAttr is SetAttr within transaction t, with the container holding a
// truncated file's kept prefix (made before the transaction).
func (t *txn) setAttr(c Cred, a proto.SetAttr, newCt store.ContainerID, newBlocks int64) (out proto.Attr, err error) {
	n, gov, out, err := t.target(c, a.FID, a.StoreID)
	if err != nil {
		return out, err
	}
	if err := t.applyAttrs(c, n, a, rightsOn(c, gov), newCt, newBlocks); err != nil {
		return out, err
	}
	if n.Type == proto.TypeDir {
		t.logOp(a.FID.Vnode, resolve.LogOp{Kind: resolve.OpSetAttr, FID: a.FID, Type: n.Type})
	}
	t.touch(a.FID.Vnode, n)
	out = stamp(n.attr(a.FID), c, gov)
	return out, nil
}

// target reads the object fid an update of one object (store, setattr)
// changes, with the ACL governing it. When the update named by sid was
// applied already it returns errApplied and the object's status.
func (t *txn) target(c Cred, fid proto.FID, sid proto.StoreID) (*vnode, acl.ACL, proto.Attr, error) {
	n, err := t.getFID(fid)
	if err != nil {
		return nil, acl.ACL{}, proto.Attr{}, err
	}
	gov, err := governing(t.get, n)
	if err != nil {
		return nil, acl.ACL{}, proto.Attr{}, err
	}
	if applied(n, sid) {
		return n, gov, stamp(n.attr(fid), c, gov), errApplied
	}
	if err := notPlaceholder(n); err != nil {
		return nil, acl.ACL{}, proto.Attr{}, err
	}
	return n, gov, proto.Attr{}, nil
}

// fileOnly refuses n unless it is a regular file: EISDIR for a directory,
// EINVAL otherwise (a symlink).
func fileOnly(n *vnode) error {
	switch n.Type {
	case proto.TypeFile:
		return nil
	case proto.TypeDir:
		return proto.ErrIsDir
	}
	return proto.ErrInvalid
}

// baseConflict is the conflict of a logged change decided on version base
// (when hasBase) of fid, whose version here, n's, is another (neither
// equal nor weakly equal); what says what was decided on it.
func baseConflict(fid proto.FID, n *vnode, base proto.VV, hasBase bool, what string) error {
	if !hasBase || resolve.CompareCounters(n.VV, base) == resolve.Equal || resolve.WeaklyEqual(n.VV, base) {
		return nil
	}
	return proto.Errorf(proto.CodeConflict, fmt.Sprintf("%v was changed on the servers (version %v) after the version %s (%v)", fid, n.VV, what, base))
}

// applyAttrs applies a to n for c, whose rights on n's governing ACL are r.
func (t *txn) applyAttrs(c Cred, n *vnode, a proto.SetAttr, r acl.Rights, newCt store.ContainerID, newBlocks int64) error {
	if a.Mask&proto.SetMode != 0 {
		if err := checkChmod(c, n, r); err != nil {
			return err
		}
		n.Mode = a.Mode & 07777
		if !c.root() && n.Type != proto.TypeDir && !c.inGroup(n.GID) {
			n.Mode &^= 02000 // POSIX: setgid only for members of the group
		}
	}
	if a.Mask&(proto.SetUID|proto.SetGID) != 0 {
		if err := checkChown(c, n, a, r); err != nil {
			return err
		}
		if a.Mask&proto.SetUID != 0 {
			n.UID = a.UID
		}
		if a.Mask&proto.SetGID != 0 {
			n.GID = a.GID
		}
		if !c.root() {
			n.Mode &^= 06000
		}
	}
	if a.Mask&proto.SetSize != 0 && !mayWriteData(c, n, r) {
		return proto.ErrAccess
	}
	if a.Mask&proto.SetSize != 0 && a.Size != n.Size {
		if n.Type != proto.TypeFile {
			return proto.ErrInvalid
		}
		if a.Size < n.Size && n.inline() {
			if err := t.shrinkInline(n, a.FID.Vnode, a.Size); err != nil {
				return err
			}
		} else if a.Size < n.Size {
			if err := t.release(a.FID.Vnode, n); err != nil {
				return err
			}
			t.ch.byteDelta += newBlocks - n.Blocks
			n.Container, n.Blocks = uint64(newCt), newBlocks
		}
		n.Size = a.Size
		n.Mtime = t.now
	}
	if a.Mask&proto.SetMtime != 0 {
		if err := checkUtimes(c, n, r); err != nil {
			return err
		}
		n.Mtime = a.Mtime
	}
	n.Ctime = t.now
	return nil
}

// checkChmod: 'w', and the owner or an admin.
func checkChmod(c Cred, n *vnode, r acl.Rights) error {
	if err := need(r, acl.Write); err != nil {
		return err
	}
	if !c.owns(n) && !c.root() {
		return proto.ErrPerm
	}
	return nil
}

// checkChown: a change of owner is for admins only; a change of group
// for admins, or for the owner with 'w' giving one of its groups.
func checkChown(c Cred, n *vnode, a proto.SetAttr, r acl.Rights) error {
	if c.root() {
		return nil
	}
	if a.Mask&proto.SetUID != 0 && a.UID != n.UID {
		return proto.ErrPerm
	}
	if a.Mask&proto.SetGID != 0 && a.GID != n.GID {
		if !c.owns(n) || !c.inGroup(a.GID) {
			return proto.ErrPerm
		}
		return need(r, acl.Write)
	}
	return nil
}

// checkUtimes: 'w' and (the owner, an admin or the w mode bit), or the
// owner with 'i'.
func checkUtimes(c Cred, n *vnode, r acl.Rights) error {
	switch {
	case r.Has(acl.Write) && (c.owns(n) || c.root() || may(c, n, permW)):
		return nil
	case c.owns(n) && r.Has(acl.Insert):
		return nil
	case !r.Has(acl.Write):
		return proto.ErrAccess
	}
	return proto.ErrPerm
}

// copyPrefix writes a new container holding the first size bytes of ct,
// skipping all-zero blocks so holes stay holes.
func (v *Volume) copyPrefix(id store.ContainerID, size int64) (store.ContainerID, int64, error) {
	src, err := v.set.db.OpenContainer(id)
	if err != nil {
		return 0, 0, err
	}
	defer src.Close()
	w, err := v.set.db.NewContainer()
	if err != nil {
		return 0, 0, err
	}
	buf := make([]byte, 1<<20)
	var blocks int64
	for off := int64(0); off < size; {
		n := int64(len(buf))
		if size-off < n {
			n = size - off
		}
		if got, err := src.ReadAtLogical(buf[:n], off, size); int64(got) < n || (err != nil && err != io.EOF) {
			w.Abort()
			return 0, 0, fmt.Errorf("truncate: read container: %w", err)
		}
		for b := int64(0); b < n; b += 4096 {
			e := b + 4096
			if e > n {
				e = n
			}
			if !allZero(buf[b:e]) {
				if _, err := w.WriteAt(buf[b:e], off+b); err != nil {
					w.Abort()
					return 0, 0, err
				}
				blocks += 4096
			}
		}
		off += n
	}
	if err := w.Finish(size); err != nil {
		w.Abort()
		return 0, 0, err
	}
	nid, err := w.Commit()
	return nid, blocks, err
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// StoreArgs replace a file's content with a committed container.
type StoreArgs struct {
	FID       proto.FID
	Container store.ContainerID // 0 for an empty file
	Size      int64
	Blocks    int64
	Mtime     int64
	StoreID   proto.StoreID
	// Base, when HasBase, is the version the change was made on: another
	// version here is a conflict (proto.Store.Base).
	Base    proto.VV
	HasBase bool
	// Inline, when not nil, is the whole content of a small file
	// (len ≤ InlineMax), stored in the metadata batch instead of a
	// container; Container must then be 0.
	Inline []byte
}

// Store swaps in new content: 'w' on the governing ACL and the w mode bit,
// or the owner with 'i' (so a drop box where a user may only insert lets
// it fill the files it created, whatever their mode). The container must
// already be durable (ContainerWriter.Commit); on error the caller
// removes it.
func (v *Volume) Store(c Cred, a StoreArgs) (proto.Attr, *Change, error) {
	var out proto.Attr
	ch, err := v.update(a.StoreID, func(t *txn) (err error) {
		out, err = t.store(c, a)
		return err
	})
	return out, ch, err
}

// store is Store within transaction t.
func (t *txn) store(c Cred, a StoreArgs) (out proto.Attr, err error) {
	v := t.v
	n, gov, out, err := t.target(c, a.FID, a.StoreID)
	if err != nil {
		return out, err
	}
	if err := fileOnly(n); err != nil {
		return out, err
	}
	if err := baseConflict(a.FID, n, a.Base, a.HasBase, "the change was made on"); err != nil {
		return out, err
	}
	if !mayWriteData(c, n, rightsOn(c, gov)) {
		return out, proto.ErrAccess
	}
	if err := t.checkQuota(a.Blocks - n.Blocks); err != nil {
		return out, err
	}
	if err := t.release(a.FID.Vnode, n); err != nil {
		return out, err
	}
	key := inlineKey(v.hdr.ID, a.FID.Vnode)
	switch {
	case a.Inline != nil:
		t.b.Set(key, a.Inline)
		n.Flags |= flagInline
	case n.inline():
		t.b.Delete(key)
		n.Flags &^= flagInline
	}
	t.ch.byteDelta += a.Blocks - n.Blocks
	n.Container, n.Size, n.Blocks = uint64(a.Container), a.Size, a.Blocks
	n.Mtime, n.Ctime = a.Mtime, t.now
	if n.Mtime == 0 {
		n.Mtime = t.now
	}
	t.touch(a.FID.Vnode, n)
	out = stamp(n.attr(a.FID), c, gov)
	return out, nil
}

// shrinkInline cuts a file's inline data to size bytes.
func (t *txn) shrinkInline(n *vnode, vn uint32, size int64) error {
	if err := t.release(vn, n); err != nil {
		return err
	}
	key := inlineKey(t.v.hdr.ID, vn)
	data, err := t.r.Get(key)
	if err != nil {
		return fmt.Errorf("inline data of vnode %d: %w", vn, err)
	}
	if int64(len(data)) > size {
		data = data[:size]
	}
	t.b.Set(key, data)
	blocks := (int64(len(data)) + 4095) &^ 4095
	t.ch.byteDelta += blocks - n.Blocks
	n.Blocks = blocks
	return nil
}
