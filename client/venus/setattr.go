package venus

import (
	"context"
	"fmt"
	"time"

	"golang.org/x/sys/unix"

	"github.com/coda-fs/coda/auth/acl"
	"github.com/coda-fs/coda/server/proto"
)

// SetAttrIn says what to change. Mask holds proto.SetMode, SetUID, SetGID,
// SetSize and SetMtime. MtimeNow: the time is "now" (touch), which write
// permission allows; Handle is the open handle the change came through
// (ftruncate), if any.
type SetAttrIn struct {
	Mask     uint32
	Mode     uint32
	UID, GID uint32
	Size     int64
	Mtime    int64
	MtimeNow bool
	Handle   *Handle
}

// SetAttr changes attributes. On an open file, size and mtime are applied
// to the container too, so what the next store sends agrees.
func (v *Venus) SetAttr(ctx context.Context, c Caller, ino uint64, in SetAttrIn) (Attr, error) {
	if isSynthetic(ino) {
		return Attr{}, proto.ErrPerm
	}
	o, err := v.object(ino)
	if err != nil {
		return Attr{}, err
	}
	if err := v.ensureValid(ctx, c, o); err != nil {
		return Attr{}, err
	}
	if in.MtimeNow {
		in.Mtime = time.Now().UnixNano()
	}
	if err := v.checkSetAttr(c, o, &in); err != nil {
		return Attr{}, err
	}
	if in.Mask == 0 {
		v.mu.Lock()
		defer v.mu.Unlock()
		return v.attrOf(o), nil
	}
	o.io.Lock()
	defer o.io.Unlock()
	wasClean, err := v.setOpenContainer(o, &in)
	if err != nil {
		return Attr{}, err
	}
	if o.of != nil && !wasClean {
		// The container of an open file already holds changes: the store
		// at close carries its size and mtime, so they need no RPC now.
		in.Mask &^= proto.SetSize | proto.SetMtime
		if in.Mask == 0 {
			v.mu.Lock()
			defer v.mu.Unlock()
			return v.attrOf(o), nil
		}
	}
	req := proto.SetAttr{FID: o.fid, Mask: in.Mask, Mode: in.Mode & 0o7777, UID: in.UID, GID: in.GID,
		Size: in.Size, Mtime: in.Mtime, StoreID: v.nextStoreID()}
	st, r, err := updateAs[proto.AttrReply](ctx, v, c, o.fid.Volume, proto.OpSetAttr, &req, req.StoreID, nil)
	if err != nil {
		return Attr{}, err
	}
	return v.applySetAttr(st, o, in.Mask, r.Attr, wasClean), nil
}

// applySetAttr records a setattr's reply. Data cached for the old version
// moves to the new one when only attributes changed while o held a
// callback; the container of an open file that was clean stays clean.
func (v *Venus) applySetAttr(st stamp, o *object, mask uint32, a proto.Attr, wasClean bool) Attr {
	v.mu.Lock()
	defer v.mu.Unlock()
	if mask&proto.SetSize == 0 && o.cbGen == st.gen && v.promiseOK(st, o.fid) {
		v.carryVersion(o, a.VV)
	}
	v.applyAttr(o, a, st)
	if o.of != nil && wasClean {
		if cur, blocks, err := fstat(o.of.f); err == nil {
			o.contVV, o.contStat = a.VV, cur
			v.markUnsynced(o)
			v.setContBytes(o, blocks)
			v.meta.putObject(o)
		}
	}
	return v.attrOf(o)
}

// setOpenContainer applies size and mtime to the container of an open
// file and reports whether it was clean before. Called with o.io held.
func (v *Venus) setOpenContainer(o *object, in *SetAttrIn) (wasClean bool, err error) {
	v.mu.Lock()
	of, clean := o.of, o.contStat
	pending := o.pending
	v.mu.Unlock()
	if of == nil {
		return false, nil
	}
	cur, _, err := fstat(of.f)
	if err != nil {
		return false, err
	}
	wasClean = cur == clean && !pending
	if in.Mask&proto.SetSize != 0 {
		if err := of.f.Truncate(in.Size); err != nil {
			return false, err
		}
	}
	if in.Mask&proto.SetMtime != 0 {
		ts := unix.NsecToTimespec(in.Mtime)
		path := fmt.Sprintf("/proc/self/fd/%d", of.f.Fd())
		if err := unix.UtimesNanoAt(unix.AT_FDCWD, path, []unix.Timespec{ts, ts}, 0); err != nil {
			return false, err
		}
	}
	return wasClean, nil
}

// carryVersion moves the cached data of o (container, entries, target) to
// version vv after a change of attributes only, made while o held a
// callback (so no one else changed it). Callers hold v.mu.
func (v *Venus) carryVersion(o *object, vv proto.VV) {
	old := o.attr.VV
	if o.cont != "" && o.contVV == old {
		o.contVV = vv
	}
	if dirValid(o) {
		o.dir.vv = vv
	}
	if o.hasTarget && o.targetVV == old {
		o.targetVV = vv
	}
}

// checkSetAttr applies the rules the server applies too: only the owner
// (or an administrator) changes the mode or sets explicit times, and needs
// the 'w' right; only administrators give files away; the owner may change
// the group to one of its own groups; truncation needs the write bit.
// Rights venus does not know are left to the server.
func (v *Venus) checkSetAttr(c Caller, o *object, in *SetAttrIn) error {
	id, _ := v.identityOf(c)
	stale := v.disconnected(o.fid.Volume)
	v.mu.Lock()
	a := o.attr
	r, known := v.cachedRights(o, id.uid, stale)
	v.mu.Unlock()
	owner := id.admin || id.owns(&a)
	if in.Mask&proto.SetUID != 0 && in.UID == a.UID {
		in.Mask &^= proto.SetUID
	}
	if in.Mask&proto.SetGID != 0 && in.GID == a.GID {
		in.Mask &^= proto.SetGID
	}
	if in.Mask&proto.SetMode != 0 && in.Mode&0o7777 == a.Mode&0o7777 {
		in.Mask &^= proto.SetMode // chmod to the same mode (tar does it for every file)
	}
	noW := known && !r.Has(acl.Write)
	switch {
	case in.Mask&proto.SetMode != 0 && !owner:
		return proto.ErrPerm
	case in.Mask&proto.SetUID != 0 && !id.admin:
		return proto.ErrPerm
	case in.Mask&proto.SetGID != 0 && !id.admin && (!owner || !id.member(proto.GIDGroup(in.GID))):
		return proto.ErrPerm
	case in.Mask&proto.SetMtime != 0 && !owner && !(in.MtimeNow && modeOK(id, &a, permW)):
		if in.MtimeNow {
			return proto.ErrAccess
		}
		return proto.ErrPerm
	case in.Mask&proto.SetSize != 0 && in.Handle == nil && !modeOK(id, &a, permW):
		return proto.ErrAccess
	case in.Mask&proto.SetSize != 0 && a.Type == proto.TypeDir:
		return proto.ErrIsDir
	case in.Mask&proto.SetMode != 0 && noW:
		return proto.ErrAccess
	case in.Mask&proto.SetGID != 0 && noW && !id.admin:
		return proto.ErrAccess
	case in.Mask&(proto.SetMtime|proto.SetSize) != 0 && noW && !(id.owns(&a) && r.Has(acl.Insert)):
		// The owner of a file in an insert-only directory may still
		// write it (and so set its times and size), as on the servers.
		return proto.ErrAccess
	}
	return nil
}
