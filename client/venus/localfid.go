package venus

import (
	"encoding/binary"
	"slices"

	"github.com/coda-fs/coda/server/proto"
	"github.com/coda-fs/coda/server/store"
)

// Local FIDs. A create while disconnected takes a FID venus reserved on the
// servers while connected; when none is left it takes a local one, which
// no server ever hands out (vnode numbers from localVnodeBase up). When its
// create is reintegrated the servers give the object a real FID, and venus
// renames it everywhere: its object and inode number (the kernel sees the
// same inode), the directory entries naming it, the parents of its
// children, and the log records after it.

// localVnodeBase is the first vnode number of local FIDs.
const localVnodeBase = 0xff000000

// keyLocalNext persists the next local FID number.
const keyLocalNext = "F"

func isLocalFID(fid proto.FID) bool { return fid.Vnode >= localVnodeBase }

// localFID takes a new local FID of volume id. Callers hold v.mu.
func (v *Venus) localFID(id uint32) proto.FID {
	n := v.localNext
	v.localNext++
	v.meta.write(func(b *store.Batch) {
		b.Set([]byte(keyLocalNext), binary.BigEndian.AppendUint64(nil, v.localNext))
	})
	return proto.FID{Volume: id, Vnode: localVnodeBase + uint32(n%(1<<24)), Unique: 1 + uint32(n>>24)}
}

// loadLocalNext restores the local FID counter.
func (v *Venus) loadLocalNext() error {
	b, err := v.meta.db.Get([]byte(keyLocalNext))
	if err == store.ErrNotFound {
		return nil
	}
	if err != nil {
		return err
	}
	if len(b) == 8 {
		v.localNext = binary.BigEndian.Uint64(b)
	}
	return nil
}

// remapFID renames the local FID from to the servers' FID to. Callers hold
// v.mu.
func (v *Venus) remapFID(vol *volume, from, to proto.FID) {
	if from == to {
		return
	}
	if o := v.objs[from]; o != nil {
		delete(v.objs, from)
		v.meta.delObject(from)
		o.fid = to
		v.objs[to] = o
		if ino, ok := v.inos[from]; ok {
			delete(v.inos, from)
			v.inos[to] = ino
			v.meta.write(func(b *store.Batch) { b.Delete(fidKey(prefIno, from)) })
			v.meta.setIno(to, ino, v.nextIno)
		}
		if o.dir != nil {
			v.meta.putDir(o)
		} else {
			v.meta.putObject(o)
		}
	}
	for _, o := range v.objs {
		if o.parent == from {
			o.parent = to
		}
		if o.dir == nil {
			continue
		}
		for name, de := range o.dir.entries {
			if de.FID == from {
				de.FID = to
				o.dir.entries[name] = de
				o.dir.list = nil
				v.meta.setEntry(o, de)
			}
		}
	}
	if n := v.pins[from]; n > 0 {
		delete(v.pins, from)
		v.pins[to] += n
	}
	for _, r := range vol.cml {
		if r.remap(from, to) {
			v.meta.write(func(b *store.Batch) { b.Set(cmlKey(vol.id, r.seq), r.encode()) })
		}
	}
}

// remap renames FID from to to in r; it reports whether r changed. Every
// FID of a record's request is among its fids, so a record not naming from
// there is left alone undecoded.
func (r *cmlRecord) remap(from, to proto.FID) bool {
	if r.subject != from && !slices.Contains(r.fids, from) {
		return false
	}
	changed := false
	swap := func(f *proto.FID) {
		if *f == from {
			*f, changed = to, true
		}
	}
	swap(&r.subject)
	for i := range r.fids {
		swap(&r.fids[i])
	}
	req, err := r.request()
	if err != nil {
		return changed
	}
	switch m := req.(type) {
	case *proto.Create:
		swap(&m.Dir)
		swap(&m.FID)
	case *proto.Remove:
		swap(&m.Dir)
	case *proto.Rename:
		swap(&m.FromDir)
		swap(&m.ToDir)
	case *proto.Link:
		swap(&m.Dir)
		swap(&m.Target)
	case *proto.Store:
		swap(&m.FID)
	case *proto.SetAttr:
		swap(&m.FID)
	}
	if changed {
		r.req = proto.Marshal(req)
	}
	return changed
}
