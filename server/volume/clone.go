package volume

import (
	"errors"
	"fmt"

	"github.com/coda-fs/coda/server/proto"
	"github.com/coda-fs/coda/server/store"
)

// # Clones
//
// A clone (volutil clone, the VOL.backup of volutil backup) is a read-only
// copy of a read-write volume frozen at one moment. It copies the
// metadata — vnode records, directory entries, back-references, under its
// own volume id and with the same vnode numbers and uniquifiers — and
// shares the file data: a clone's vnode whose data is still the source's
// has Owner set to the volume that holds it (a container id in the record,
// or inline data under the owner's inline key). The cost of a clone is its
// metadata only, about the size of the source's vnode records and entries.
//
// Data changes hands instead of being copied while nothing changes it:
// when a volume is about to replace or drop the data of vnode vn (a store,
// a truncate, a remove, a resolution's install, the deletion of a clone),
// release hands it to the first other volume of the family (the source and
// its clones) whose vnode vn shares it: that volume becomes the owner (for
// inline data, the data is copied under its own key, in the same batch),
// the others sharing it now name the new owner, and the container is not
// removed. Only when nobody shares it is a container freed. So a container
// or inline value always has exactly one owner, and is removed with the
// last volume that refers to it.
//
// A reader of shared inline data reads the owner's key, then checks that
// the owner did not hand the data over meanwhile (readInline); container
// ids are immutable, so a container read needs no check.

// Clone makes volume name (id, or a free one when 0; replicaID; type t: proto.VolRO or
// proto.VolBackup, replicas as the location database has them) on this
// server, a read-only copy of replica src as it is now, frozen at time
// frozen (Unix ns; 0: now), which names it in dump bases. Writes to src wait
// while the metadata is copied (about a second per 100,000 objects). A
// crash during the copy leaves a clone marked Building, which Open
// removes.
func (s *Set) Clone(src uint32, name string, id, replicaID uint32, t proto.VolumeType, replicas []proto.Replica, frozen int64) (*Volume, error) {
	if t != proto.VolRO && t != proto.VolBackup {
		return nil, proto.Errorf(proto.CodeInvalid, fmt.Sprintf("a clone is read-only or a backup, not type %d", t))
	}
	sv, err := s.ByID(src)
	if err != nil {
		return nil, err
	}
	if sv.hdr.Type != proto.VolRW {
		return nil, proto.Errorf(proto.CodeInvalid, fmt.Sprintf("volume %s is a clone itself; clone its read-write volume", sv.hdr.Name))
	}
	s.mu.Lock()
	if name == "" || len(name) > proto.MaxVolName {
		s.mu.Unlock()
		return nil, proto.Errorf(proto.CodeInvalid, "a volume name has 1-"+fmt.Sprint(proto.MaxVolName)+" bytes")
	}
	if id == 0 {
		id = s.freeID()
	}
	if _, taken := s.vols[id]; taken {
		s.mu.Unlock()
		return nil, fmt.Errorf("%w: id %x", ErrVolumeExists, id)
	}
	for _, v := range s.vols {
		if v.hdr.Name == name {
			s.mu.Unlock()
			return nil, fmt.Errorf("%w: %s", ErrVolumeExists, name)
		}
	}
	// Reserve the id and name while the copy is made.
	cv := &Volume{set: s, hdr: header{ID: id, Name: name, Type: t, ReplicaID: replicaID, Slot: sv.hdr.Slot,
		Root:     proto.FID{Volume: id, Vnode: sv.hdr.Root.Vnode, Unique: sv.hdr.Root.Unique},
		Replicas: replicas, Created: s.now(), Source: src, Building: true}}
	s.vols[id] = cv
	s.mu.Unlock()

	sv.mu.Lock()
	defer sv.mu.Unlock()
	if sv.deleted {
		s.forget(cv)
		return nil, proto.Errorf(proto.CodeNoVolume, fmt.Sprintf("volume %s was deleted", sv.hdr.Name))
	}
	cv.hdr.Frozen = frozen
	if frozen == 0 {
		cv.hdr.Frozen = s.now()
	}
	if err := s.copyVolume(sv, cv); err != nil {
		s.forget(cv)
		if derr := s.removeKeys(id, name); derr != nil {
			s.log.Warn("an unfinished clone was not removed; the next start removes it", "name", name, "err", derr)
		}
		return nil, fmt.Errorf("clone %s as %s: %w", sv.hdr.Name, name, err)
	}
	cv.nextVnode, cv.nextUnique, cv.files, cv.bytes = sv.nextVnode, sv.nextUnique, sv.files, sv.bytes
	cv.source = sv
	sv.clones = append(sv.clones, cv)
	s.log.Info("volume cloned", "source", sv.hdr.Name, "clone", name, "id", fmt.Sprintf("%x", id), "objects", cv.files)
	return cv, nil
}

// cloneBatch is the number of keys a clone writes per commit.
const cloneBatch = 20000

// copyVolume writes clone cv of sv: its header (Building), every vnode,
// entry and back-reference of sv under cv's id, then the header again,
// finished. Callers hold sv.mu.
func (s *Set) copyVolume(sv, cv *Volume) error {
	b := s.db.NewBatch()
	b.Set(headerKey(cv.hdr.ID), cv.hdr.encode())
	b.Set(nameKey(cv.hdr.Name), headerKey(cv.hdr.ID)[1:])
	n := 0
	flush := func() error {
		if err := s.db.Commit(b); err != nil {
			return err
		}
		b, n = s.db.NewBatch(), 0
		return nil
	}
	for _, pfx := range []byte{pfxVnode, pfxEntry, pfxParent} {
		p := volPrefix(pfx, sv.hdr.ID)
		it, err := s.db.NewIter(p, prefixEnd(p))
		if err != nil {
			b.Close()
			return err
		}
		for it.First(); it.Valid(); it.Next() {
			k := append(volPrefix(pfx, cv.hdr.ID), it.Key()[len(p):]...)
			val := it.Value()
			if pfx == pfxVnode {
				vn, err := decodeVnode(val)
				if err != nil {
					it.Close()
					b.Close()
					return fmt.Errorf("vnode %d: %w", keyVnode(it.Key()), err)
				}
				vn.Flags &^= flagCOP2
				vn.Pending = nil
				if vn.Container != 0 || vn.inline() {
					vn.Owner = sv.hdr.ID
				}
				val = vn.encode()
			}
			b.Set(k, val)
			if n++; n >= cloneBatch {
				if err := flush(); err != nil {
					it.Close()
					b.Close()
					return err
				}
			}
		}
		if err := it.Close(); err != nil {
			b.Close()
			return err
		}
	}
	cv.hdr.Building = false
	b.Set(headerKey(cv.hdr.ID), cv.hdr.encode())
	return flush()
}

// volPrefix is the prefix of every key of kind pfx of volume vol.
func volPrefix(pfx byte, vol uint32) []byte {
	return []byte{pfx, byte(vol >> 24), byte(vol >> 16), byte(vol >> 8), byte(vol)}
}

// forget drops cv from the set (a clone that was not made).
func (s *Set) forget(cv *Volume) {
	s.mu.Lock()
	if s.vols[cv.hdr.ID] == cv {
		delete(s.vols, cv.hdr.ID)
	}
	s.mu.Unlock()
}

// removeKeys deletes every key of volume id (named name), without
// touching any data: an unfinished clone, which owns none.
func (s *Set) removeKeys(id uint32, name string) error {
	b := s.db.NewBatch()
	deleteKeys(b, id, name)
	return s.db.Commit(b)
}

// deleteKeys adds to b the deletion of every key of volume id, named name.
func deleteKeys(b *store.Batch, id uint32, name string) {
	b.Delete(headerKey(id))
	b.Delete(nameKey(name))
	b.Delete(allocKey(id))
	b.Delete(logSizeKey(id))
	for _, pfx := range volumePrefixes {
		p := volPrefix(pfx, id)
		b.DeleteRange(p, prefixEnd(p))
	}
}

// volumePrefixes are the kinds of keys a volume id leads.
var volumePrefixes = []byte{pfxVnode, pfxEntry, pfxParent, pfxInline, pfxLog, pfxLogOrder, pfxTruncated, pfxPolicy, pfxReint,
	pfxBase, pfxBaseVn, pfxLastDump}

// family returns the volumes that may share data with v, v excluded: the
// clones of v's source (or of v, a read-write volume) and that source.
// Callers hold the source's mu.
func (v *Volume) family() []*Volume {
	src := v
	if v.hdr.Source != 0 {
		src = v.source
	}
	if src == nil {
		return nil
	}
	out := make([]*Volume, 0, len(src.clones)+1)
	if src != v {
		out = append(out, src)
	}
	for _, c := range src.clones {
		if c != v {
			out = append(out, c)
		}
	}
	return out
}

// release is called before vnode vn's data (its container, its inline
// data) is replaced or dropped by transaction t. It hands the data to a
// clone still sharing it, or else schedules the container's removal for
// when t is durable. Once per vnode and transaction.
func (t *txn) release(vn uint32, n *vnode) error {
	if t.released[vn] {
		return nil
	}
	if t.released == nil {
		t.released = map[uint32]bool{}
	}
	t.released[vn] = true
	taken := false
	if len(t.v.clones) > 0 && (n.Container != 0 || n.inline()) {
		var err error
		if taken, err = t.v.handOver(t.b, t.r, vn, n); err != nil {
			return err
		}
	}
	if n.Container != 0 && !taken {
		t.ch.freed = append(t.ch.freed, store.ContainerID(n.Container))
	}
	return nil
}

// handOver gives the data of v's vnode vn (record n) to the first other
// volume of v's family whose vnode vn shares it from v, and points the
// others sharing it at that one; it writes to b and reports whether
// someone took it. r reads v's state as the caller's transaction sees
// it. Callers hold the family source's mu.
func (v *Volume) handOver(b *store.Batch, r store.Reader, vn uint32, n *vnode) (taken bool, err error) {
	var heir *Volume
	for _, m := range v.family() {
		mn, err := m.readVnode(vn)
		if errors.Is(err, proto.ErrNotFound) {
			continue
		}
		if err != nil {
			return false, err
		}
		if mn.Owner != v.hdr.ID {
			continue
		}
		if heir == nil {
			heir = m
			mn.Owner = 0
			if n.inline() {
				data, err := r.Get(inlineKey(v.ownerOf(n), vn))
				if err != nil && !errors.Is(err, store.ErrNotFound) {
					return false, fmt.Errorf("inline data of vnode %d: %w", vn, err)
				}
				b.Set(inlineKey(m.hdr.ID, vn), data)
			}
		} else {
			mn.Owner = heir.hdr.ID
		}
		b.Set(vnodeKey(m.hdr.ID, vn), mn.encode())
	}
	return heir != nil, nil
}

// ownerOf returns the volume holding the data of v's vnode record n.
func (v *Volume) ownerOf(n *vnode) uint32 {
	if n.Owner != 0 {
		return n.Owner
	}
	return v.hdr.ID
}

// readInline returns the inline data of v's vnode vn (record n), from its
// owner; if the owner handed it over meanwhile, from the new one.
func (v *Volume) readInline(vn uint32, n *vnode) ([]byte, error) {
	for {
		b, err := v.set.db.Get(inlineKey(v.ownerOf(n), vn))
		if n.Owner == 0 {
			return b, err
		}
		cur, cerr := v.readVnode(vn)
		if cerr != nil {
			return nil, cerr
		}
		if cur.Owner == n.Owner {
			return b, err
		}
		n = cur
	}
}

// IsClone reports whether v is a clone, and of which volume.
func (v *Volume) IsClone() (source uint32, frozen int64, ok bool) {
	return v.hdr.Source, v.hdr.Frozen, v.hdr.Source != 0
}
