package venus

import (
	"encoding/binary"

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

// remapFIDs renames local FIDs to the servers' FIDs (m maps each local FID
// to its new name) in one pass over the cache and the log. Callers hold
// v.mu.
func (v *Venus) remapFIDs(vol *volume, m map[proto.FID]proto.FID) {
	for from, to := range m {
		o := v.objs[from]
		if o == nil {
			continue
		}
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
		if to, ok := m[o.parent]; ok {
			o.parent = to
		}
		if o.dir == nil {
			continue
		}
		for name, de := range o.dir.entries {
			if to, ok := m[de.FID]; ok {
				de.FID = to
				o.dir.entries[name] = de
				o.dir.list = nil
				v.meta.setEntry(o, de)
			}
		}
	}
	for from, to := range m {
		if n := v.pins[from]; n > 0 {
			delete(v.pins, from)
			v.pins[to] += n
		}
	}
	for from, to := range m {
		list := vol.naming[from]
		if len(list) == 0 {
			continue
		}
		delete(vol.naming, from)
		vol.naming[to] = append(vol.naming[to], list...) // to is new: no record named it
		for _, r := range list {
			if r.remap(m) {
				v.meta.write(func(b *store.Batch) { b.Set(cmlKey(vol.id, r.seq), r.encode()) })
			}
		}
	}
}

// remap renames the FIDs m maps in r; it reports whether r changed. Every
// FID of a record's request is among its fids, so a record naming none of
// them is left alone undecoded.
func (r *cmlRecord) remap(m map[proto.FID]proto.FID) bool {
	names := false
	if _, ok := m[r.subject]; ok {
		names = true
	}
	for _, f := range r.fids {
		if _, ok := m[f]; ok {
			names = true
		}
	}
	if !names {
		return false
	}
	changed := false
	swap := func(f *proto.FID) {
		if to, ok := m[*f]; ok {
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
	switch q := req.(type) {
	case *proto.Create:
		swap(&q.Dir)
		swap(&q.FID)
	case *proto.Remove:
		swap(&q.Dir)
	case *proto.Rename:
		swap(&q.FromDir)
		swap(&q.ToDir)
	case *proto.Link:
		swap(&q.Dir)
		swap(&q.Target)
	case *proto.Store:
		swap(&q.FID)
	case *proto.SetAttr:
		swap(&q.FID)
	}
	if changed {
		r.req = proto.Marshal(req)
	}
	return changed
}
