package venus

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/coda-fs/coda/server/proto"
	"github.com/coda-fs/coda/server/store"
)

// volume is what venus knows of one volume.
type volume struct {
	id   uint32
	name string
	// shown is name for messages, read without v.mu (see label).
	shown atomic.Pointer[string]
	// reps are the volume's replicas (repsKnown: asked of the servers);
	// pref is the address of the one reads go to.
	reps      []proto.Replica
	repsKnown bool
	pref      string
	// fids are FIDs reserved on a replica for this client's creates
	// (refilling: a reservation runs in the background).
	fids      []proto.FID
	refilling bool
	// outOfDate are objects whose replicas were seen to differ and could
	// not be brought level (diverged, or a replica refused), with why
	// (cfs lv).
	outOfDate map[proto.FID]string
	// conflicts are the objects shown as conflict links (conflict.go).
	conflicts map[proto.FID]bool
	// localConflicts are the objects whose logged update the servers
	// refused, shown as conflict links too (localconflict.go).
	localConflicts map[proto.FID]*localConflict
	// validGen is the promise generation in which every cached object of
	// the volume was revalidated (one batched Validate); validating is
	// closed when the revalidation in progress ends.
	validGen   uint64
	validating chan struct{}
	// cml is the volume's log of updates made while disconnected, oldest
	// first (cml.go); reintegrating is set while it is being replayed.
	cml []*cmlRecord
	// naming indexes cml by object: the records whose subject or fids
	// name each FID, oldest first.
	naming        map[proto.FID][]*cmlRecord
	reintegrating bool
	offlineSeen   bool // the state last announced (volumeStates)
	// retry is a batch whose outcome is not known (no replica answered):
	// it is sent again as it was, with its store id (reintegrate.go).
	retry     *batchRetry
	reintDone chan struct{} // closed when the replay running ends
	// why reintegration waits, for cfs lv ("" when it does not).
	waitReason string
	// wd is the volume's write-disconnected mode (wd.go).
	wd wdSettings
}

// rootInfo is the realm's root volume, persisted so a restart needs no RPC
// to find it.
type rootInfo struct {
	known bool
	name  string
	fid   proto.FID // root directory of the root volume
	// warned: the absence of a root volume was logged.
	warned bool
}

// validateChunk bounds the items of one Validate request (frames ≤ 4 MiB).
const validateChunk = 30000

func (v *Venus) volumeFor(id uint32) *volume {
	vol := v.vols[id]
	if vol == nil {
		vol = &volume{id: id}
		v.vols[id] = vol
	}
	return vol
}

func (v *Venus) loadRoot() error {
	b, err := v.meta.db.Get([]byte(keyRoot))
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cache database: %w", err)
	}
	d := proto.NewDecoder(b)
	r := rootInfo{known: true, name: d.String(proto.MaxVolName), fid: d.FID()}
	if d.Done() != nil {
		return errors.New("cache database: bad root volume record")
	}
	v.root = r
	return nil
}

// errNoRootVolume: the realm exists but has no root volume yet.
var errNoRootVolume = errors.New("the realm has no root volume yet")

// rootFID returns the root directory of the realm's root volume, asking
// the servers when it is not known yet.
func (v *Venus) rootFID(ctx context.Context, c Caller) (proto.FID, error) {
	v.mu.Lock()
	r := v.root
	v.mu.Unlock()
	if r.known {
		return r.fid, nil
	}
	var rv proto.RootVolume
	if _, err := v.call(ctx, c, proto.OpGetRootVolume, &proto.Empty{}, &rv, nil); err != nil {
		return proto.FID{}, err
	}
	if rv.Name == "" {
		return proto.FID{}, errNoRootVolume
	}
	var info proto.VolumeInfo
	if _, err := v.call(ctx, c, proto.OpGetVolumeInfo, &proto.VolumeRef{Name: rv.Name}, &info, nil); err != nil {
		return proto.FID{}, fmt.Errorf("root volume %s: %w", rv.Name, err)
	}
	v.learnVolume(&info)
	var e proto.Encoder
	e.String(rv.Name)
	e.FID(info.Root)
	v.mu.Lock()
	v.root = rootInfo{known: true, name: rv.Name, fid: info.Root, warned: v.root.warned}
	v.mu.Unlock()
	v.meta.write(func(b *store.Batch) { b.Set([]byte(keyRoot), e.B) })
	v.log.Info("realm root volume found", "realm", v.opts.Realm, "volume", rv.Name, "root", info.Root)
	return info.Root, nil
}

// ensureVolume revalidates, in one batched Validate per chunk, every object
// of volume id cached before the current promise generation began.
func (v *Venus) ensureVolume(ctx context.Context, c Caller, id uint32) error {
	for {
		v.mu.Lock()
		vol := v.volumeFor(id)
		if vol.validGen != 0 && vol.validGen == v.gen {
			v.mu.Unlock()
			return nil
		}
		if ch := vol.validating; ch != nil {
			v.mu.Unlock()
			select {
			case <-ch:
				continue
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		ch := make(chan struct{})
		vol.validating = ch
		items := v.staleItems(id)
		v.mu.Unlock()
		gen, err := v.validate(ctx, c, id, items)
		v.mu.Lock()
		vol.validating = nil
		if err == nil {
			vol.validGen = gen
		}
		v.mu.Unlock()
		close(ch)
		return err
	}
}

// staleItems lists the objects of volume id that have a status but no live
// promise. Callers hold v.mu.
func (v *Venus) staleItems(id uint32) []proto.ValidateItem {
	var items []proto.ValidateItem
	for fid, o := range v.objs {
		if fid.Volume == id && o.hasAttr && !o.removed && !v.hasCB(o) {
			items = append(items, proto.ValidateItem{FID: fid, VV: o.attr.VV})
		}
	}
	return items
}

// validate sends the items of volume id in chunks and applies the
// results; it returns the promise generation the replies belong to.
func (v *Venus) validate(ctx context.Context, c Caller, id uint32, items []proto.ValidateItem) (uint64, error) {
	if len(items) == 0 {
		// Nothing to check, but the volume must be reachable.
		var r proto.ValidateReply
		st, err := v.callVol(ctx, c, id, proto.OpValidate, &proto.Validate{}, &r, nil)
		return st.gen, err
	}
	var gen uint64
	for len(items) > 0 {
		n := min(len(items), validateChunk)
		chunk := items[:n]
		items = items[n:]
		st, res, err := v.validateReplicas(ctx, c, id, chunk)
		if err != nil {
			return 0, err
		}
		v.applyValidate(st, chunk, res)
		gen = st.gen
	}
	return gen, nil
}

func (v *Venus) applyValidate(st stamp, items []proto.ValidateItem, res []proto.ValidateResult) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for i, it := range items {
		o := v.objs[it.FID]
		if o == nil {
			continue
		}
		switch res[i].Code {
		case proto.CodeOK:
			v.applyAttr(o, res[i].Attr, st)
		case proto.CodeNotFound, proto.CodeStale:
			v.forget(o)
		}
	}
}

// offline reports whether every replica of volume id is down or cut off,
// from the link's published state. Callers hold v.mu.
func (v *Venus) offline(id uint32) bool {
	vol := v.vols[id]
	if vol == nil || !vol.repsKnown || len(vol.reps) == 0 {
		return false
	}
	for _, r := range vol.reps {
		if !v.link.isDownNow(r.Addr) {
			return false
		}
	}
	return true
}

// volumeStates announces the volumes that became disconnected (every
// replica down or cut off) or connected again since the link last changed.
// Called with the link's lock held (which is taken before v.mu).
func (v *Venus) volumeStates() {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, vol := range v.vols {
		off := v.offline(vol.id)
		if off == vol.offlineSeen {
			continue
		}
		vol.offlineSeen = off
		msg := fmt.Sprintf("volume %s connected", vol.label())
		if off {
			msg = fmt.Sprintf("volume %s disconnected: no replica reachable; serving the cache, logging updates", vol.label())
		}
		v.event(nil, EventVolume, proto.FID{}, msg)
	}
}
