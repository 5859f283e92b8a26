package volume

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/coda-fs/coda/backup"
	"github.com/coda-fs/coda/server/proto"
	"github.com/coda-fs/coda/server/store"
)

// Restorer fills a new, empty replica from a dump chain (volutil
// restore): a full dump, then incrementals, each against a dump applied
// before. Objects keep the dumped vnode numbers and uniquifiers; every
// replica of the volume is restored from the same chain, so all get one
// version vector (1 in every replica's slot) and start out equal. The
// volume is locked against updates meanwhile; a restore that fails is
// undone by purging the volume (volutil restore does it).
type Restorer struct {
	v       *Volume
	b       *store.Batch
	keys    int
	vv      proto.VV
	applied []*backup.Header
	cur     *backup.Header
	freed   []store.ContainerID // replaced data, removed once committed

	file   *backup.File
	fw     *store.ContainerWriter
	inline []byte
	// written: the vnodes the current dump wrote (a removal of an older
	// object of the same number leaves them)
	written map[uint32]bool
}

// StartRestore begins restoring into v, which must be an empty read-write
// replica (just made by createvol_rep).
func (v *Volume) StartRestore() (*Restorer, error) {
	if v.hdr.Type != proto.VolRW || v.hdr.Source != 0 {
		return nil, proto.Errorf(proto.CodeInvalid, fmt.Sprintf("volume %s is a clone; restore into a new volume", v.hdr.Name))
	}
	p := entryPrefix(v.hdr.ID, v.hdr.Root.Vnode)
	it, err := v.set.db.NewIter(p, prefixEnd(p))
	if err != nil {
		return nil, err
	}
	empty := !it.First()
	it.Close()
	if !empty {
		return nil, proto.Errorf(proto.CodeExists, fmt.Sprintf("volume %s is not empty; restore into a new volume", v.hdr.Name))
	}
	v.LockWrites(DefaultLockTimeout * 12)
	r := &Restorer{v: v, b: v.set.db.NewBatch()}
	for i := range max(len(v.hdr.Replicas), int(v.hdr.Slot)+1) {
		r.vv.Counters[i] = 1
	}
	return r, nil
}

func (r *Restorer) bad(format string, args ...any) error {
	return fmt.Errorf("%w: %s", backup.ErrCorrupt, fmt.Sprintf(format, args...))
}

// commit writes what is batched.
func (r *Restorer) commit() error {
	if err := r.v.set.db.Commit(r.b); err != nil {
		return err
	}
	r.b, r.keys = r.v.set.db.NewBatch(), 0
	for _, c := range r.freed {
		r.v.set.db.RemoveContainer(c)
	}
	r.freed = nil
	return nil
}

// setVnode writes a vnode record of the current dump.
func (r *Restorer) setVnode(vn uint32, n *vnode) error {
	if r.written == nil {
		r.written = map[uint32]bool{}
	}
	r.written[vn] = true
	return r.set(vnodeKey(r.v.hdr.ID, vn), n.encode())
}

func (r *Restorer) set(k, val []byte) error {
	r.b.Set(k, val)
	if r.keys++; r.keys >= cloneBatch {
		return r.commit()
	}
	return nil
}

// Apply applies one record of the chain, as backup.Reader returns them.
func (r *Restorer) Apply(rec any) error {
	id := r.v.hdr.ID
	switch x := rec.(type) {
	case *backup.Header:
		return r.header(x)
	case *backup.Dir:
		return r.dir(x)
	case *backup.File:
		return r.startFile(x)
	case *backup.Extent:
		return r.extent(x)
	case *backup.EndFile:
		return r.endFile()
	case *backup.Symlink:
		if err := r.release(x.Vnode); err != nil {
			return err
		}
		n := &vnode{Type: proto.TypeSymlink, Mode: x.Mode, UID: x.UID, GID: x.GID, Nlink: uint32(max(len(x.Names), 1)),
			Unique: x.Unique, Mtime: x.Mtime, Ctime: x.Ctime, VV: r.vv, Target: x.Target, Parent: firstDir(x.Names)}
		return r.setVnode(x.Vnode, n)
	case *backup.Removed:
		if r.written[x.Vnode] {
			return nil // the number was given to a new object
		}
		old, err := r.v.readVnode(x.Vnode)
		if errors.Is(err, proto.ErrNotFound) || (err == nil && old.Unique != x.Unique) {
			return nil // not restored: nothing to remove
		}
		if err != nil {
			return err
		}
		r.releaseData(x.Vnode, old)
		r.b.Delete(vnodeKey(id, x.Vnode))
		p := parentPrefix(id, x.Vnode)
		r.b.DeleteRange(p, prefixEnd(p))
		if old.Type == proto.TypeDir { // its entries go with it
			p := entryPrefix(id, x.Vnode)
			r.b.DeleteRange(p, prefixEnd(p))
		}
		return nil
	case backup.Names:
		return nil // the servers have the protection database
	case *backup.Trailer:
		if err := r.commit(); err != nil {
			return err
		}
		r.applied, r.written = append(r.applied, r.cur), nil
		return nil
	}
	return fmt.Errorf("unexpected record %T", rec)
}

func firstDir(names []backup.Name) uint32 {
	if len(names) > 0 {
		return names[0].Dir
	}
	return RootVnode
}

// header checks that a dump continues the chain: a full dump first, then
// incrementals against a dump applied before, of the same volume, newer.
func (r *Restorer) header(h *backup.Header) error {
	r.cur = h
	if len(r.applied) == 0 {
		if !h.Full() {
			return proto.Errorf(proto.CodeInvalid, fmt.Sprintf("the chain starts with a level-%d dump of %s; a restore starts with a full dump", h.Level, h.Volume))
		}
		return nil
	}
	first, last := r.applied[0], r.applied[len(r.applied)-1]
	if h.SourceID != first.SourceID || h.Source != first.Source {
		return proto.Errorf(proto.CodeInvalid, fmt.Sprintf("a dump of %s follows dumps of %s", h.Source, first.Source))
	}
	if h.Full() {
		return proto.Errorf(proto.CodeInvalid, fmt.Sprintf("a second full dump of %s (frozen %d) in the chain", h.Source, h.Frozen))
	}
	if h.Frozen <= last.Frozen {
		return proto.Errorf(proto.CodeInvalid, fmt.Sprintf("the level-%d dump of %s is not newer than the dump before it: out of order", h.Level, h.Source))
	}
	for _, a := range r.applied {
		if a.Frozen == h.BaseFrozen && int8(a.Level) == h.BaseLevel {
			return nil
		}
	}
	return proto.Errorf(proto.CodeInvalid, fmt.Sprintf("the level-%d dump of %s is against a level-%d dump that is not in the chain before it (missing or out of order)", h.Level, h.Source, h.BaseLevel))
}

// release schedules the removal of the data vnode vn holds now, before a
// record replaces or removes it.
func (r *Restorer) release(vn uint32) error {
	old, err := r.v.readVnode(vn)
	if errors.Is(err, proto.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	r.releaseData(vn, old)
	return nil
}

// releaseData schedules the removal of the data of vnode vn, record old.
func (r *Restorer) releaseData(vn uint32, old *vnode) {
	if old.Container != 0 {
		r.freed = append(r.freed, store.ContainerID(old.Container))
	}
	if old.inline() {
		r.b.Delete(inlineKey(r.v.hdr.ID, vn))
	}
}

func (r *Restorer) dir(d *backup.Dir) error {
	v, id := r.v, r.v.hdr.ID
	root := d.Vnode == d.Parent
	if root && d.Vnode != v.hdr.Root.Vnode {
		return r.bad("the root is vnode %d, not %d", d.Vnode, v.hdr.Root.Vnode)
	}
	n := &vnode{Type: proto.TypeDir, Mode: d.Mode, UID: d.UID, GID: d.GID, Nlink: 2, Unique: d.Unique,
		Size: int64(len(d.Entries)), Mtime: d.Mtime, Ctime: d.Ctime, VV: r.vv, Parent: d.Parent, ACL: d.ACL}
	if root {
		n.Unique = v.hdr.Root.Unique // the volume's root FID stays
	}
	keep := map[string]bool{}
	for _, e := range d.Entries {
		if e.Type == proto.TypeDir {
			n.Nlink++
		}
		keep[e.Name] = true
	}
	// An incremental's directory replaces the entries it had.
	p := entryPrefix(id, d.Vnode)
	it, err := v.set.db.NewIter(p, prefixEnd(p))
	if err != nil {
		return err
	}
	for it.First(); it.Valid(); it.Next() {
		name := string(it.Key()[len(p):])
		if keep[name] {
			continue
		}
		e, err := decodeEntry(it.Value())
		if err != nil {
			it.Close()
			return err
		}
		r.b.Delete(entryKey(id, d.Vnode, name))
		r.b.Delete(parentKey(id, e.Vnode, d.Vnode, name))
	}
	if err := it.Close(); err != nil {
		return err
	}
	for _, e := range d.Entries {
		if err := r.set(entryKey(id, d.Vnode, e.Name), entry{Vnode: e.Vnode, Unique: e.Unique, Type: e.Type}.encode()); err != nil {
			return err
		}
		if err := r.set(parentKey(id, e.Vnode, d.Vnode, e.Name), nil); err != nil {
			return err
		}
	}
	return r.setVnode(d.Vnode, n)
}

func (r *Restorer) startFile(f *backup.File) error {
	if err := r.release(f.Vnode); err != nil {
		return err
	}
	r.file, r.inline, r.fw = f, nil, nil
	if f.Size > InlineMax { // else inline: the data, zeros for the holes
		fw, err := r.v.set.db.NewContainer()
		if err != nil {
			return err
		}
		r.fw = fw
	}
	return nil
}

func (r *Restorer) extent(x *backup.Extent) error {
	if r.fw != nil {
		_, err := r.fw.WriteAt(x.Data, x.Offset)
		return err
	}
	if need := x.Offset + int64(len(x.Data)); int64(len(r.inline)) < need {
		r.inline = append(r.inline, make([]byte, need-int64(len(r.inline)))...)
	}
	copy(r.inline[x.Offset:], x.Data)
	return nil
}

func (r *Restorer) endFile() error {
	f, id := r.file, r.v.hdr.ID
	r.file = nil
	n := &vnode{Type: proto.TypeFile, Mode: f.Mode, UID: f.UID, GID: f.GID, Nlink: max(f.Nlink, 1), Unique: f.Unique,
		Size: f.Size, Mtime: f.Mtime, Ctime: f.Ctime, VV: r.vv, Parent: firstDir(f.Names)}
	if r.fw != nil {
		fw := r.fw
		r.fw = nil
		if err := fw.Finish(f.Size); err != nil {
			fw.Abort()
			return err
		}
		ct, err := fw.Commit()
		if err != nil {
			return err
		}
		n.Container = uint64(ct)
		n.Blocks = (f.DataBytes() + 4095) &^ 4095
	} else if len(r.inline) > 0 {
		n.Flags |= flagInline
		n.Blocks = (int64(len(r.inline)) + 4095) &^ 4095
		if err := r.set(inlineKey(id, f.Vnode), r.inline); err != nil {
			return err
		}
	}
	return r.setVnode(f.Vnode, n)
}

// Abort drops what a failed restore wrote into the batch, and any
// container being written; the caller purges the volume.
func (r *Restorer) Abort() {
	if r.fw != nil {
		r.fw.Abort()
	}
	r.b.Close()
	r.v.UnlockWrites()
}

// Finish checks the restored tree (every entry names an object), reloads
// the volume's counters and unlocks it.
func (r *Restorer) Finish() error {
	defer r.v.UnlockWrites()
	if len(r.applied) == 0 {
		return proto.Errorf(proto.CodeInvalid, "no dump to restore")
	}
	if err := r.commit(); err != nil {
		return err
	}
	v, id := r.v, r.v.hdr.ID
	lo, hi := volPrefix(pfxEntry, id), prefixEnd(volPrefix(pfxEntry, id))
	it, err := v.set.db.NewIter(lo, hi)
	if err != nil {
		return err
	}
	for it.First(); it.Valid(); it.Next() {
		e, err := decodeEntry(it.Value())
		if err != nil {
			it.Close()
			return err
		}
		n, err := v.readVnode(e.Vnode)
		if err != nil || n.Unique != e.Unique {
			k := bytes.Clone(it.Key())
			it.Close()
			return r.bad("entry %q of directory %d names vnode %d.%d, which the dumps do not hold", k[9:], keyVnode(k), e.Vnode, e.Unique)
		}
	}
	if err := it.Close(); err != nil {
		return err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.files, v.bytes = 0, 0
	return v.loadCounters()
}
