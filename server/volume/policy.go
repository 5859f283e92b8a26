package volume

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/coda-fs/coda/auth/acl"
	"github.com/coda-fs/coda/resolve"
	"github.com/coda-fs/coda/server/proto"
	"github.com/coda-fs/coda/server/store"
)

// Conflict policies are replicated attributes of directories (cfs
// setpolicy): a directory's policy applies to the conflicts found under it
// (in it and below, unless a directory below sets another). The
// coordinating server applies it once, when it finds the conflict.
//
//	'Y' vol dir → policy (one byte)
const pfxPolicy = 'Y'

func policyKey(vol, dir uint32) []byte {
	k := binary.BigEndian.AppendUint32([]byte{pfxPolicy}, vol)
	return binary.BigEndian.AppendUint32(k, dir)
}

// readPolicy is directory dir's own policy (PolicyManual: none set).
func (v *Volume) readPolicy(dir uint32) (uint8, error) {
	b, err := v.set.db.Get(policyKey(v.hdr.ID, dir))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return proto.PolicyInherit, nil
	case err != nil:
		return 0, err
	case len(b) != 1:
		return 0, fmt.Errorf("volume %s: bad policy of directory %d", v.hdr.Name, dir)
	}
	return b[0], nil
}

// Policy returns directory dir's own policy and the one in force there
// (its own, else the nearest ancestor's, else manual), with the directory
// it comes from.
func (v *Volume) Policy(dir proto.FID) (own, effective uint8, from proto.FID, err error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	vn := dir.Vnode
	for steps := 0; steps < 1<<16; steps++ {
		p, err := v.readPolicy(vn)
		if err != nil {
			return 0, 0, proto.FID{}, err
		}
		n, err := v.readVnode(vn)
		if err != nil {
			return 0, 0, proto.FID{}, err
		}
		if steps == 0 {
			own = p
		}
		if p != proto.PolicyInherit {
			return own, p, proto.FID{Volume: v.hdr.ID, Vnode: vn, Unique: n.Unique}, nil
		}
		if vn == RootVnode || n.Parent == vn {
			break
		}
		vn = n.Parent
	}
	return own, proto.PolicyManual, proto.FID{}, nil
}

// SetPolicy sets directory dir's policy (PolicyInherit removes it): an
// update like a setattr ('a' right, logged, replicated by the client).
func (v *Volume) SetPolicy(c Cred, dir proto.FID, policy uint8, sid proto.StoreID) (proto.Attr, *Change, error) {
	if policy > proto.PolicyNewest {
		return proto.Attr{}, nil, proto.Errorf(proto.CodeInvalid, fmt.Sprintf("unknown policy %d", policy))
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
		if err := need(rightsOn(c, da), acl.Administer); err != nil && !c.root() {
			return err
		}
		if policy == proto.PolicyInherit {
			t.b.Delete(policyKey(v.hdr.ID, dir.Vnode))
		} else {
			t.b.Set(policyKey(v.hdr.ID, dir.Vnode), []byte{policy})
		}
		d.Ctime = t.now
		t.logOp(dir.Vnode, resolve.LogOp{Kind: resolve.OpSetAttr, FID: dir, Type: proto.TypeDir})
		t.touch(dir.Vnode, d)
		out = stamp(d.attr(dir), c, da)
		return nil
	})
	return out, ch, err
}

// NameOf returns a name of object fid and the directory holding it.
func (v *Volume) NameOf(fid proto.FID) (proto.FID, string, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	dir, name, err := v.firstName(fid.Vnode)
	if err != nil {
		return proto.FID{}, "", err
	}
	d, err := v.readVnode(dir)
	if err != nil {
		return proto.FID{}, "", err
	}
	return proto.FID{Volume: v.hdr.ID, Vnode: dir, Unique: d.Unique}, name, nil
}
