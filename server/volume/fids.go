package volume

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/coda-fs/coda/server/proto"
	"github.com/coda-fs/coda/server/store"
)

// FIDs of a replicated volume are the same on every replica: the client
// proposes the FID of each object it creates and sends the create to every
// replica. It takes FIDs from one replica (AllocFIDs), which hands out
// vnode numbers of its own class only — vnode v belongs to the replica in
// slot (v-1) mod proto.MaxReplicas — so replicas never hand out the same
// number, whichever a client asks. A replica's own creates (no proposed
// FID) use its class too. The highest number handed out is kept in the
// store ('A' key), so a restart never hands one out again.

// inClass reports whether vnode vn belongs to this replica.
func (v *Volume) inClass(vn uint32) bool {
	n := uint32(max(len(v.hdr.Replicas), 1))
	return (vn-1)%n == uint32(v.hdr.Slot)%n
}

// nextOwn returns the first vnode number of this replica's class at or
// after v.nextVnode, and moves nextVnode past it. Callers hold v.mu.
func (v *Volume) nextOwn() uint32 {
	vn := v.nextVnode
	for !v.inClass(vn) {
		vn++
	}
	v.nextVnode = vn + 1
	return vn
}

// AllocFIDs reserves n FIDs of this replica's class for creates a client
// will propose to every replica.
func (v *Volume) AllocFIDs(n int) ([]proto.FID, error) {
	if n < 1 || n > proto.MaxAllocFIDs {
		return nil, proto.Errorf(proto.CodeInvalid, fmt.Sprintf("allocate 1-%d FIDs, not %d", proto.MaxAllocFIDs, n))
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.deleted {
		return nil, proto.Errorf(proto.CodeNoVolume, fmt.Sprintf("volume %s was deleted", v.hdr.Name))
	}
	fids := make([]proto.FID, n)
	for i := range fids {
		fids[i] = proto.FID{Volume: v.hdr.ID, Vnode: v.nextOwn(), Unique: v.nextUnique}
		v.nextUnique++
	}
	b := v.set.db.NewBatch()
	b.Set(allocKey(v.hdr.ID), binary.BigEndian.AppendUint32(nil, fids[n-1].Vnode))
	if err := v.set.db.Commit(b); err != nil {
		return nil, fmt.Errorf("volume %s: %w", v.hdr.Name, err)
	}
	return fids, nil
}

// loadAllocMark moves nextVnode past the numbers handed out before.
func (v *Volume) loadAllocMark() error {
	b, err := v.set.db.Get(allocKey(v.hdr.ID))
	if errors.Is(err, store.ErrNotFound) {
		return nil // none handed out
	}
	if err != nil {
		return err
	}
	if len(b) != 4 {
		return fmt.Errorf("volume %s: bad allocation mark", v.hdr.Name)
	}
	if mark := binary.BigEndian.Uint32(b); mark >= v.nextVnode {
		v.nextVnode = mark + 1
	}
	return nil
}
