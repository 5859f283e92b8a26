package venus

import (
	"context"
	"errors"

	"github.com/coda-fs/coda/server/proto"
)

// ensureValid makes sure o's status is current: it holds a live promise, or
// it is revalidated — first with the whole volume's batched Validate when
// the promise generation changed, else with one GetAttr.
func (v *Venus) ensureValid(ctx context.Context, c Caller, o *object) error {
	v.mu.Lock()
	ok := v.hasCB(o) || o.removed
	cached := o.hasAttr
	v.mu.Unlock()
	if ok {
		return nil
	}
	if v.disconnected(o.fid.Volume) {
		if cached {
			return nil // disconnected: the cached status is the one to serve
		}
		return proto.Errorf(proto.CodeTimeout, "disconnected from every replica of the volume, and not cached")
	}
	err := v.ensureVolume(ctx, c, o.fid.Volume)
	if err == nil {
		v.mu.Lock()
		ok = v.hasCB(o) || o.removed
		v.mu.Unlock()
		if ok {
			return nil
		}
		err = v.getAttr(ctx, c, o)
	}
	if err != nil && cached && v.disconnected(o.fid.Volume) {
		return nil // the servers went away under the call: disconnected now
	}
	return err
}

// getAttr fetches o's status (and a promise).
func (v *Venus) getAttr(ctx context.Context, c Caller, o *object) error {
	_, err := v.getAttrAs(ctx, c, o)
	return err
}

// getAttrAs fetches o's status as c and returns it (with c's rights).
func (v *Venus) getAttrAs(ctx context.Context, c Caller, o *object) (proto.Attr, error) {
	var r proto.AttrReply
	var st stamp
	reps, err := v.replicas(ctx, c, o.fid.Volume)
	if err == nil && len(reps) > 1 {
		st, r.Attr, err = v.getAttrReplicas(ctx, c, o.fid)
	} else if err == nil {
		st, err = v.callVol(ctx, c, o.fid.Volume, proto.OpGetAttr, &proto.FIDReq{FID: o.fid}, &r, nil)
	}
	if err != nil {
		return proto.Attr{}, v.forgetIfGone(o, err)
	}
	v.mu.Lock()
	v.applyAttr(o, r.Attr, st)
	v.mu.Unlock()
	return r.Attr, nil
}

// isGone reports whether err says the object no longer exists.
func isGone(err error) bool {
	return errors.Is(err, proto.ErrNotFound) || errors.Is(err, proto.ErrStale)
}

// prefetchChildren gets, in batched Validates, the status (and a promise)
// of every entry of directory d that has none: a listing is usually
// followed by a stat of each name (ls -l, find), which then needs no RPC.
func (v *Venus) prefetchChildren(ctx context.Context, c Caller, d *object) error {
	if v.disconnected(d.fid.Volume) {
		return nil // what is cached is served as it is
	}
	v.mu.Lock()
	var items []proto.ValidateItem
	if dirValid(d) {
		for _, de := range d.dir.entries {
			o := v.objs[de.FID]
			switch {
			case o == nil:
				items = append(items, proto.ValidateItem{FID: de.FID})
			case !o.removed && !v.hasCB(o):
				items = append(items, proto.ValidateItem{FID: de.FID, VV: o.attr.VV})
			}
		}
	}
	for _, it := range items {
		v.objectFor(it.FID).parent = d.fid
	}
	v.mu.Unlock()
	if len(items) < 2 {
		return nil
	}
	_, err := v.validate(ctx, c, d.fid.Volume, items)
	return err
}
