package volume

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cespare/xxhash/v2"

	"github.com/coda-fs/coda/server/proto"
	"github.com/coda-fs/coda/server/store"
)

// # Dumps and their bases
//
// volutil dump writes a clone (never a read-write volume, which changes
// under the dump) in the coda-dump(5) format. Level 0 is full; level N
// holds every directory, the files and symlinks that changed since the
// base — the newest good dump of a level below N — and the objects of
// the base that are gone. A dump is marked good by volutil ancient, which
// records its state as the base of its level: for every vnode of the
// dumped clone, its uniquifier and a hash of its version vector. Bases
// belong to the read-write volume (keys below), and every replica's
// server records its own from its replica of the clone, which holds the
// same version vectors; so the next level can be dumped from any replica.
//
//	'B' vol level        → base: the frozen time of the clone it records
//	'b' vol level vnode  → uniquifier, version hash
//	'W' vol              → the last dump written here: clone id, level,
//	                       frozen time (what volutil ancient marks)
const (
	pfxBase     = 'B'
	pfxBaseVn   = 'b'
	pfxLastDump = 'W'
)

// Levels are 0 to MaxLevel.
const MaxLevel = 9

func baseKey(vol uint32, level uint8) []byte { return append(volPrefix(pfxBase, vol), level) }
func baseVnPrefix(vol uint32, level uint8) []byte {
	return append(volPrefix(pfxBaseVn, vol), level)
}
func baseVnKey(vol uint32, level uint8, vn uint32) []byte {
	return binary.BigEndian.AppendUint32(baseVnPrefix(vol, level), vn)
}
func lastDumpKey(vol uint32) []byte { return volPrefix(pfxLastDump, vol) }

// vvHash is what a base keeps of a vnode's version.
func vvHash(n *vnode) uint64 {
	var e proto.Encoder
	e.VV(n.VV)
	e.U32(n.Unique)
	return xxhash.Sum64(e.B)
}

// base is a recorded base: its level and the frozen time of its clone.
type base struct {
	level  uint8
	frozen int64
}

// bases returns the bases recorded for read-write volume src.
func (s *Set) bases(src uint32) ([]base, error) {
	p := volPrefix(pfxBase, src)
	it, err := s.db.NewIter(p, prefixEnd(p))
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var out []base
	for it.First(); it.Valid(); it.Next() {
		k, val := it.Key(), it.Value()
		if len(k) != len(p)+1 || len(val) < 8 {
			return nil, fmt.Errorf("corrupt dump base record %x", k)
		}
		out = append(out, base{level: k[len(p)], frozen: int64(binary.BigEndian.Uint64(val))})
	}
	return out, it.Error()
}

// baseFor picks the base of a level-N dump: the newest base below N.
func baseFor(bases []base, level uint8) (base, bool) {
	var best base
	found := false
	for _, b := range bases {
		if b.level < level && (!found || b.frozen > best.frozen) {
			best, found = b, true
		}
	}
	return best, found
}

// Ancient marks the last dump written on this server of a clone of
// read-write volume v good: it records that clone's state as the base of
// the dump's level. level and frozen, when not 0, name the dump (a replica
// of the clone frozen then); else the last dump written here.
func (v *Volume) Ancient(level uint8, frozen int64) (uint8, error) {
	s := v.set
	if v.hdr.Source != 0 {
		return 0, proto.Errorf(proto.CodeInvalid, fmt.Sprintf("volume %s is a clone: mark the dumps of its read-write volume", v.hdr.Name))
	}
	if frozen == 0 {
		var err error
		if level, frozen, err = v.LastDump(); err != nil {
			return 0, err
		}
	}
	v.mu.Lock() // the family: no clone comes or goes meanwhile
	defer v.mu.Unlock()
	var clone *Volume
	for _, c := range v.clones {
		if c.hdr.Frozen == frozen {
			clone = c
		}
	}
	if clone == nil {
		return 0, proto.Errorf(proto.CodeNotFound, fmt.Sprintf("the clone of %s that was dumped is gone (refreshed since?): dump it again", v.hdr.Name))
	}
	b := s.db.NewBatch()
	p := baseVnPrefix(v.hdr.ID, level)
	b.DeleteRange(p, prefixEnd(p))
	b.Set(baseKey(v.hdr.ID, level), binary.BigEndian.AppendUint64(nil, uint64(frozen)))
	lo, hi := vnodeSpan(clone.hdr.ID)
	it, err := s.db.NewIter(lo, hi)
	if err != nil {
		b.Close()
		return 0, err
	}
	for it.First(); it.Valid(); it.Next() {
		n, err := decodeVnode(it.Value())
		if err != nil {
			it.Close()
			b.Close()
			return 0, err
		}
		val := binary.BigEndian.AppendUint32(nil, n.Unique)
		b.Set(baseVnKey(v.hdr.ID, level, keyVnode(it.Key())), binary.BigEndian.AppendUint64(val, vvHash(n)))
	}
	if err := it.Close(); err != nil {
		b.Close()
		return 0, err
	}
	if err := s.db.Commit(b); err != nil {
		return 0, err
	}
	s.log.Info("dump marked good", "volume", v.hdr.Name, "level", level, "clone", clone.hdr.Name)
	return level, nil
}

// LastDump returns the level and clone frozen time of the last dump of a
// clone of v written on this server (CodeNotFound when there is none).
func (v *Volume) LastDump() (level uint8, frozen int64, err error) {
	val, err := v.set.db.Get(lastDumpKey(v.hdr.ID))
	if errors.Is(err, store.ErrNotFound) {
		return 0, 0, proto.Errorf(proto.CodeNotFound, fmt.Sprintf("no dump of a clone of %s was written on this server", v.hdr.Name))
	}
	if err != nil {
		return 0, 0, err
	}
	d := proto.NewDecoder(val)
	d.U32()
	level, frozen = d.U8(), d.I64()
	if err := d.Done(); err != nil {
		return 0, 0, fmt.Errorf("corrupt last-dump record: %w", err)
	}
	return level, frozen, nil
}

// Estimate returns the estimated bytes of a dump of clone v at each level
// 0-9 (volutil dumpestimate).
func (v *Volume) Estimate() ([MaxLevel + 1]int64, error) {
	var out [MaxLevel + 1]int64
	if v.hdr.Source == 0 {
		return out, proto.Errorf(proto.CodeInvalid, fmt.Sprintf("volume %s is read-write: estimate the dumps of %s.backup", v.hdr.Name, v.hdr.Name))
	}
	bases, err := v.set.bases(v.hdr.Source)
	if err != nil {
		return out, err
	}
	var per [MaxLevel + 1]*base
	for l := range per {
		if b, ok := baseFor(bases, uint8(l)); ok && l > 0 {
			per[l] = &b
		}
	}
	lo, hi := vnodeSpan(v.hdr.ID)
	it, err := v.set.db.NewIter(lo, hi)
	if err != nil {
		return out, err
	}
	defer it.Close()
	for it.First(); it.Valid(); it.Next() {
		vn := keyVnode(it.Key())
		n, err := decodeVnode(it.Value())
		if err != nil {
			return out, err
		}
		size := int64(100 + len(n.ACL))
		switch n.Type {
		case proto.TypeDir:
			size += 40 * n.Size // entries
		case proto.TypeFile:
			size += n.Blocks
		default:
			size += int64(len(n.Target))
		}
		for l := range out {
			if n.Type == proto.TypeDir || per[l] == nil {
				out[l] += size
				continue
			}
			changed, err := changedSince(v.set.db, v.hdr.Source, per[l].level, vn, n)
			if err != nil {
				return out, err
			}
			if changed {
				out[l] += size
			}
		}
	}
	return out, it.Error()
}
