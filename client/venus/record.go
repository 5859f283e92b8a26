package venus

import (
	"fmt"

	"github.com/coda-fs/coda/server/proto"
	"github.com/coda-fs/coda/server/store"
)

// recordVersion 2 added the status's flags (proto.AttrConflict); version
// 1 records are still read.
const recordVersion = 2

const (
	recPending   = 1 << 0
	recHasTarget = 1 << 1
	recDirCached = 1 << 2
)

// encodeRecord serialises what survives a restart of o. A container whose
// data is not synced yet is left out: a record never names a container
// that a power cut could leave with other data than the record says.
// Callers hold v.mu.
func encodeRecord(o *object) []byte {
	var e proto.Encoder
	e.U8(recordVersion)
	e.U64(o.ino)
	e.Attr(o.attr)
	cont, vv, st, n, pending := o.cont, o.contVV, o.contStat, o.contBytes, o.pending
	if o.unsynced {
		cont, vv, st, n, pending = "", proto.VV{}, fileStat{}, 0, false
	}
	e.String(cont)
	e.VV(vv)
	st.encode(&e)
	e.I64(n)
	var flags uint8
	if pending {
		flags |= recPending
	}
	if o.hasTarget {
		flags |= recHasTarget
	}
	var dirVV proto.VV
	if o.dir != nil {
		flags |= recDirCached
		dirVV = o.dir.vv
	}
	e.U8(flags)
	e.String(o.target)
	e.VV(o.targetVV)
	e.VV(dirVV)
	e.I64(o.lastUse)
	return e.B
}

// decodeRecord restores an object; dirVV is the version of the persisted
// directory entries when hasDir.
func decodeRecord(fid proto.FID, b []byte) (o *object, dirVV proto.VV, hasDir bool, err error) {
	d := proto.NewDecoder(b)
	ver := d.U8()
	if ver != recordVersion && ver != 1 {
		return nil, dirVV, false, fmt.Errorf("cache record of %s has version %d", fid, ver)
	}
	o = &object{fid: fid}
	o.ino = d.U64()
	if ver == 1 {
		o.attr = d.AttrBeforeFlags()
	} else {
		o.attr = d.Attr()
	}
	o.hasAttr = true
	o.cont = d.String(64)
	o.contVV = d.VV()
	o.contStat.decode(d)
	o.contBytes = d.I64()
	flags := d.U8()
	o.target = d.String(proto.MaxPath)
	o.targetVV = d.VV()
	dirVV = d.VV()
	o.lastUse = d.I64()
	if err := d.Done(); err != nil {
		return nil, dirVV, false, fmt.Errorf("cache record of %s: %w", fid, err)
	}
	o.pending = flags&recPending != 0
	o.hasTarget = flags&recHasTarget != 0
	o.removed = o.attr.Nlink == 0
	return o, dirVV, flags&recDirCached != 0, nil
}

// putObject persists o's record. Callers hold v.mu.
func (m *meta) putObject(o *object) {
	rec := encodeRecord(o)
	m.write(func(b *store.Batch) { b.Set(fidKey(prefObject, o.fid), rec) })
}

// delObject forgets o's record and directory entries.
func (m *meta) delObject(fid proto.FID) {
	lo, hi := entryRange(fid)
	m.write(func(b *store.Batch) {
		b.Delete(fidKey(prefObject, fid))
		b.DeleteRange(lo, hi)
	})
}

func encodeEntry(de proto.DirEntry) []byte {
	var e proto.Encoder
	e.FID(de.FID)
	e.U8(uint8(de.Type))
	return e.B
}

// putDir replaces dir's persisted entries with d's, and its record.
func (m *meta) putDir(o *object) {
	lo, hi := entryRange(o.fid)
	rec := encodeRecord(o)
	m.write(func(b *store.Batch) {
		b.DeleteRange(lo, hi)
		if o.dir != nil {
			for name, de := range o.dir.entries {
				b.Set(entryKey(o.fid, name), encodeEntry(de))
			}
		}
		b.Set(fidKey(prefObject, o.fid), rec)
	})
}

// setEntry and delEntry change one persisted name of a directory, together
// with the directory's record (its new version).
func (m *meta) setEntry(o *object, de proto.DirEntry) {
	rec := encodeRecord(o)
	m.write(func(b *store.Batch) {
		b.Set(entryKey(o.fid, de.Name), encodeEntry(de))
		b.Set(fidKey(prefObject, o.fid), rec)
	})
}

func (m *meta) delEntry(o *object, name string) {
	rec := encodeRecord(o)
	m.write(func(b *store.Batch) {
		b.Delete(entryKey(o.fid, name))
		b.Set(fidKey(prefObject, o.fid), rec)
	})
}

// loadEntries reads dir's persisted entries.
func (m *meta) loadEntries(dir proto.FID) (map[string]proto.DirEntry, error) {
	lo, hi := entryRange(dir)
	it, err := m.db.NewIter(lo, hi)
	if err != nil {
		return nil, err
	}
	out := map[string]proto.DirEntry{}
	for ok := it.First(); ok; ok = it.Next() {
		k := it.Key()
		d := proto.NewDecoder(it.Value())
		de := proto.DirEntry{Name: string(k[13:]), FID: d.FID(), Type: proto.ObjType(d.U8())}
		if d.Done() != nil {
			it.Close()
			return nil, fmt.Errorf("cache database: bad entry in %s", dir)
		}
		out[de.Name] = de
	}
	return out, it.Close()
}
