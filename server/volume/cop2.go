package volume

import (
	"fmt"
	"slices"

	"github.com/coda-fs/coda/server/proto"
)

// The second phase of a replicated update. An update is applied by every
// replica the client reaches (COP1); each bumps its own slot of the
// version vectors of what it changed and records the update's store id.
// The client then tells every replica that applied it which replicas did
// (COP2): each adds one for each other replica in that set, so the
// replicas that applied an update end with equal version vectors, and one
// that missed it is dominated. A vnode takes a COP2 only while the update
// named is among those pending there (vnode.Pending): a retried COP2
// changes nothing, and a COP2 that comes after a later update (two
// clients writing one directory at once) still counts.

// COP2 completes update sid on the vnodes fids: updated has bit i set for
// every replica slot i that applied it. FIDs this replica does not have
// (removed since) are skipped.
func (v *Volume) COP2(sid proto.StoreID, updated uint8, fids []proto.FID) error {
	return v.COP2Confirmed(sid, updated, updated, fids)
}

// COP2Confirmed is COP2 where only the replicas in confirmed answered that
// they applied the update (the others in updated may have): the update
// leaves the directories' resolution logs only when every replica
// confirmed it.
func (v *Volume) COP2Confirmed(sid proto.StoreID, updated, confirmed uint8, fids []proto.FID) error {
	if n := max(len(v.hdr.Replicas), 1); updated == 0 || n < 8 && updated>>n != 0 {
		return proto.Errorf(proto.CodeInvalid, fmt.Sprintf("cop2: update set %08b names slots volume %s does not have", updated, v.hdr.Name))
	}
	all := uint8(1<<max(len(v.hdr.Replicas), 1) - 1)
	_, err := v.update(sid, func(t *txn) error {
		for _, fid := range fids {
			if fid.Volume != v.hdr.ID {
				return proto.ErrCrossDevice
			}
			n, err := t.get(fid.Vnode)
			if err == proto.ErrNotFound {
				continue
			}
			if err != nil {
				return err
			}
			k := slices.Index(n.Pending, sid)
			if n.Unique != fid.Unique || k < 0 {
				continue // another object, or done already (or forgotten)
			}
			for i := range proto.MaxReplicas {
				if updated&(1<<i) != 0 && uint8(i) != v.hdr.Slot {
					n.VV.Counters[i]++
				}
			}
			n.Pending = slices.Delete(n.Pending, k, k+1)
			if len(n.Pending) == 0 {
				n.Flags &^= flagCOP2
			}
			t.dirty[fid.Vnode] = n // no touch: the content did not change
			if n.Type == proto.TypeDir && confirmed&updated == all {
				if err := t.completeLog(fid.Vnode, sid); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return err
}
