package volume

import (
	"fmt"

	"github.com/coda-fs/coda/auth/acl"
	"github.com/coda-fs/coda/resolve"
	"github.com/coda-fs/coda/server/proto"
)

// Edit is one change of a directory's ACL, as `cfs sa` asks for it.
type Edit struct {
	ID       int32      // a user (> 0) or a group (< 0)
	Rights   acl.Rights // the principal's new rights; acl.None removes its entry
	Negative bool       // the edit is of the negative list
}

// GetACL returns directory dir's status and ACL: 'l' on it.
func (v *Volume) GetACL(c Cred, dir proto.FID) (proto.Attr, acl.ACL, error) {
	d, err := v.object(dir)
	if err != nil {
		return proto.Attr{}, acl.ACL{}, err
	}
	if d.Type != proto.TypeDir {
		return proto.Attr{}, acl.ACL{}, proto.ErrNotDir
	}
	da, err := dirACL(d)
	if err != nil {
		return proto.Attr{}, acl.ACL{}, err
	}
	if err := need(rightsOn(c, da), acl.Lookup); err != nil {
		return proto.Attr{}, acl.ACL{}, err
	}
	return stamp(d.attr(dir), c, da), da, nil
}

// SetACL edits directory dir's ACL: with clear every entry goes first, then
// each edit sets its principal's rights in its list (acl.None removes the
// entry). It needs 'a' on the directory, ownership of it, or an admin;
// else proto.ErrAccess. Like any update it bumps the directory's version
// (a retry with the same StoreID applies once) and its Change names the
// directory, whose callbacks must break. It returns the directory's
// status with the caller's new rights.
func (v *Volume) SetACL(c Cred, dir proto.FID, clear bool, edits []Edit, sid proto.StoreID) (proto.Attr, *Change, error) {
	for _, e := range edits {
		if e.ID == 0 {
			return proto.Attr{}, nil, proto.Errorf(proto.CodeInvalid, "ACL entry for id 0")
		}
	}
	var out proto.Attr
	ch, err := v.update(sid, func(t *txn) error {
		d, da, err := t.dirWithACL(dir)
		if err != nil {
			return err
		}
		if applied(d, sid) {
			out = stamp(d.attr(dir), c, da)
			return errApplied
		}
		if !c.root() && !c.owns(d) && !rightsOn(c, da).Has(acl.Administer) {
			return proto.ErrAccess
		}
		if clear {
			da = acl.ACL{}
		}
		for _, e := range edits {
			if err := da.Set(e.ID, e.Rights, e.Negative); err != nil {
				return proto.Errorf(proto.CodeInvalid, err.Error())
			}
		}
		b, err := acl.Encode(da)
		if err != nil {
			return fmt.Errorf("encode ACL: %w", err)
		}
		d.ACL = b
		d.Ctime = t.now
		t.logOp(dir.Vnode, resolve.LogOp{Kind: resolve.OpSetAttr, FID: dir, Type: proto.TypeDir})
		t.touch(dir.Vnode, d)
		out = stamp(d.attr(dir), c, da)
		return nil
	})
	return out, ch, err
}
