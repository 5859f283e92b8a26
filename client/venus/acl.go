package venus

import (
	"context"

	"github.com/coda-fs/coda/server/proto"
)

// GetACL returns the ACL of directory ino (cfs la), asked of the server as
// c: positive entries first, then negative ones.
func (v *Venus) GetACL(ctx context.Context, c Caller, ino uint64) ([]proto.ACLEntry, error) {
	d, err := v.dirObject(ino)
	if err != nil {
		return nil, err
	}
	var r proto.ACLReply
	st, err := v.callVol(ctx, c, d.fid.Volume, proto.OpGetACL, &proto.FIDReq{FID: d.fid}, &r, nil)
	if err != nil {
		return nil, v.forgetIfGone(d, err)
	}
	v.mu.Lock()
	v.applyAttr(d, r.Dir, st)
	v.mu.Unlock()
	return r.Entries, nil
}

// SetACL edits the ACL of directory ino (cfs sa) as c. Every right venus
// cached on the directory (for every user) is forgotten: the server breaks
// the promises of other clients, not this one's.
func (v *Venus) SetACL(ctx context.Context, c Caller, ino uint64, clear bool, entries []proto.ACLEntry) error {
	d, err := v.dirObject(ino)
	if err != nil {
		return err
	}
	req := proto.SetACL{Dir: d.fid, Clear: clear, Entries: entries, StoreID: v.nextStoreID()}
	st, r, err := updateAs[proto.AttrReply](ctx, v, c, d.fid.Volume, proto.OpSetACL, &req, req.StoreID, nil)
	if err != nil {
		return v.forgetIfGone(d, err)
	}
	v.mu.Lock()
	dropRights(d)
	v.applyAttr(d, r.Attr, st)
	v.mu.Unlock()
	// The kernel may hold entries and attributes cached under the old
	// ACL's public rights.
	v.notify(kernelNotes{inodes: []uint64{d.ino}, children: []uint64{d.ino}}, notifyWait)
	return nil
}
