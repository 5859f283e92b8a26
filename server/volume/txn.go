package volume

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/coda-fs/coda/server/proto"
	"github.com/coda-fs/coda/server/store"
)

// Cred is the identity a request acts with, established by the file server
// from the connection's token (or admin key); see doc.go for how it is
// judged.
type Cred struct {
	UID   int32   // the caller's Coda user id; 0 when anonymous
	CPS   []int32 // UID, its groups (transitively) and System:AnyUser
	Admin bool    // a member of System:Administrators, or the realm's admin key
}

// Anonymous is the identity of a caller without a (valid) token.
var Anonymous = Cred{CPS: []int32{proto.AnyUserID}}

// root reports whether c bypasses mode bits (never ACL rights).
func (c Cred) root() bool { return c.Admin }

// Change is what a mutation did: the objects whose callbacks must be
// broken, and containers that may be removed once the change is durable.
type Change struct {
	FIDs []proto.FID
	// Duplicate: the request was a retry of one already applied; nothing
	// changed (resources prepared for it, such as a container, are unused).
	Duplicate bool
	freed     []store.ContainerID
	wait      func() error
	fileDelta int64
	byteDelta int64
}

// errApplied, returned by a transaction's function, says that the request
// was applied already (a retry after a lost reply): nothing changes and the
// caller's results, filled from the current state, are returned as success.
var errApplied = errors.New("already applied")

// applied reports whether n's last update was the one named by sid: a
// retried request carries the same StoreID as the original, so a replica
// applies it once (the reply of the first attempt was lost). Only the last
// update of an object is recognised, which covers an immediate retry.
func applied(n *vnode, sid proto.StoreID) bool {
	return sid != (proto.StoreID{}) && n.VV.Store == sid
}

// txn is one atomic metadata update of a volume, built under Volume.mu.
type txn struct {
	v   *Volume
	b   *store.Batch
	now int64
	sid proto.StoreID
	// r reads the volume as this transaction sees it: the store, or for
	// a transaction of several updates (Reintegrate) the indexed batch,
	// so that each sees the entries and data the earlier ones wrote.
	r      store.Reader
	dirty  map[uint32]*vnode
	loaded map[uint32]*vnode
	ch     *Change
	// trimmed: log order keys this transaction dropped (dirlog.go).
	trimmed map[string]bool
	// released: vnodes whose data this transaction gave up (clone.go).
	released map[uint32]bool
}

// update runs fn under the volume lock, applies its batch, and returns once
// the batch is durable. On error nothing is applied.
func (v *Volume) update(sid proto.StoreID, fn func(t *txn) error) (*Change, error) {
	return v.transact(sid, false, fn)
}

// transact is update; a transaction of several updates (indexed) reads
// its own writes.
func (v *Volume) transact(sid proto.StoreID, indexed bool, fn func(t *txn) error) (*Change, error) {
	ch := &Change{}
	if err := v.awaitUnlocked(); err != nil {
		return nil, err
	}
	defer v.updateDone()
	v.mu.Lock()
	if v.deleted {
		v.mu.Unlock()
		return nil, proto.Errorf(proto.CodeNoVolume, fmt.Sprintf("volume %s was deleted", v.hdr.Name))
	}
	if v.hdr.Type != proto.VolRW {
		v.mu.Unlock()
		return nil, proto.Errorf(proto.CodeReadOnly, fmt.Sprintf("volume %s is a read-only clone", v.hdr.Name))
	}
	t := &txn{v: v, b: v.set.db.NewBatch(), r: v.set.db, now: v.set.now(), sid: sid,
		dirty: map[uint32]*vnode{}, loaded: map[uint32]*vnode{}, ch: ch}
	if indexed {
		t.b = v.set.db.NewIndexedBatch()
		t.r = t.b
	}
	logCount := v.logCount
	if err := fn(t); err != nil {
		v.logCount = logCount // the records logged are not applied
		v.mu.Unlock()
		t.b.Close()
		if err == errApplied {
			return &Change{Duplicate: true}, nil
		}
		return nil, err
	}
	for vn, n := range t.dirty {
		if n == nil {
			t.b.Delete(vnodeKey(v.hdr.ID, vn))
			continue
		}
		t.b.Set(vnodeKey(v.hdr.ID, vn), n.encode())
	}
	wait, err := v.set.db.Apply(t.b)
	if err != nil {
		v.mu.Unlock()
		return nil, fmt.Errorf("volume %s: %w", v.hdr.Name, err)
	}
	v.files += uint64(ch.fileDelta)
	v.bytes += ch.byteDelta
	v.mu.Unlock()
	if err := wait(); err != nil {
		return nil, fmt.Errorf("volume %s: commit: %w", v.hdr.Name, err)
	}
	for _, c := range ch.freed {
		if err := v.set.db.RemoveContainer(c); err != nil {
			v.set.log.Warn("remove container", "id", c, "err", err)
		}
	}
	return ch, nil
}

// get returns the vnode vn as this transaction sees it.
func (t *txn) get(vn uint32) (*vnode, error) {
	if n, ok := t.dirty[vn]; ok {
		if n == nil {
			return nil, proto.ErrNotFound
		}
		return n, nil
	}
	if n, ok := t.loaded[vn]; ok {
		return n, nil
	}
	n, err := t.v.readVnodeFrom(t.r, vn)
	if err != nil {
		return nil, err
	}
	t.loaded[vn] = n
	return n, nil
}

// getFID returns the object named by fid, checking the uniquifier.
func (t *txn) getFID(fid proto.FID) (*vnode, error) {
	if fid.Volume != t.v.hdr.ID {
		return nil, proto.ErrCrossDevice
	}
	n, err := t.get(fid.Vnode)
	if err != nil {
		return nil, err
	}
	if n.Unique != fid.Unique {
		return nil, proto.ErrNotFound
	}
	return n, nil
}

// getDir returns the directory named by fid.
func (t *txn) getDir(fid proto.FID) (*vnode, error) {
	n, err := t.getFID(fid)
	if err != nil {
		return nil, err
	}
	if n.Type != proto.TypeDir {
		return nil, proto.ErrNotDir
	}
	return n, nil
}

// touch marks vn modified by this transaction: bumps its version vector,
// records the StoreID and schedules it for a callback break.
func (t *txn) touch(vn uint32, n *vnode) {
	if _, done := t.dirty[vn]; !done {
		n.VV.Counters[t.v.hdr.Slot]++
		n.VV.Store = t.sid
		if t.sid != (proto.StoreID{}) {
			n.Pending = append(n.Pending, t.sid)
			if len(n.Pending) > maxPendingCOP2 {
				n.Pending = n.Pending[len(n.Pending)-maxPendingCOP2:]
			}
			n.Flags |= flagCOP2
		}
		t.ch.FIDs = append(t.ch.FIDs, proto.FID{Volume: t.v.hdr.ID, Vnode: vn, Unique: n.Unique})
	}
	t.dirty[vn] = n
}

// nameChange records a change of file vn's names only (its link count,
// ctime, Parent) and breaks its callbacks, but leaves its version alone:
// naming lives in the directories, whose versions move, and resolution
// counts names from the back-references — so a name made or removed on one
// side of a partition is no update of the file to clash with its removal
// or renaming on the other.
func (t *txn) nameChange(vn uint32, n *vnode) {
	if _, done := t.dirty[vn]; !done {
		t.ch.FIDs = append(t.ch.FIDs, proto.FID{Volume: t.v.hdr.ID, Vnode: vn, Unique: n.Unique})
	}
	t.dirty[vn] = n
}

// drop deletes vn and frees its container once the change is durable
// (or hands its data to a clone sharing it).
func (t *txn) drop(vn uint32, n *vnode) error {
	if err := t.release(vn, n); err != nil {
		return err
	}
	t.touch(vn, n)
	t.dirty[vn] = nil
	if n.inline() {
		t.b.Delete(inlineKey(t.v.hdr.ID, vn))
	}
	t.ch.fileDelta--
	t.ch.byteDelta -= n.Blocks
	return nil
}

// lookup finds name in directory dir.
func (t *txn) lookup(dir uint32, name string) (entry, error) {
	return t.v.lookupEntryFrom(t.r, dir, name)
}

func (t *txn) setEntry(dir uint32, name string, e entry) {
	t.b.Set(entryKey(t.v.hdr.ID, dir, name), e.encode())
	t.b.Set(parentKey(t.v.hdr.ID, e.Vnode, dir, name), nil)
}

func (t *txn) delEntry(dir uint32, name string, vn uint32) {
	t.b.Delete(entryKey(t.v.hdr.ID, dir, name))
	t.b.Delete(parentKey(t.v.hdr.ID, vn, dir, name))
}

// readVnode reads a vnode record from the store.
func (v *Volume) readVnode(vn uint32) (*vnode, error) {
	return v.readVnodeFrom(v.set.db, vn)
}

// readVnodeFrom reads a vnode record through r (the store or a snapshot).
func (v *Volume) readVnodeFrom(r store.Reader, vn uint32) (*vnode, error) {
	b, err := r.Get(vnodeKey(v.hdr.ID, vn))
	if errors.Is(err, store.ErrNotFound) {
		return nil, proto.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return decodeVnode(b)
}

// lookupEntry reads one directory entry.
func (v *Volume) lookupEntry(dir uint32, name string) (entry, error) {
	return v.lookupEntryFrom(v.set.db, dir, name)
}

// lookupEntryFrom reads one directory entry through r.
func (v *Volume) lookupEntryFrom(r store.Reader, dir uint32, name string) (entry, error) {
	b, err := r.Get(entryKey(v.hdr.ID, dir, name))
	if errors.Is(err, store.ErrNotFound) {
		return entry{}, proto.ErrNotFound
	}
	if err != nil {
		return entry{}, err
	}
	return decodeEntry(b)
}

// nameSet summarises the names of a vnode: how many, the directory of
// the first, and the directories (a few; enough to tell whether Parent is
// among them).
type nameSet struct {
	count uint32
	first uint32
	dirs  []uint32
}

func (ns nameSet) inParent(n *vnode) bool { return slices.Contains(ns.dirs, n.Parent) }

// apply makes n's link count its names and its Parent a directory holding
// one (ns.count > 0).
func (ns nameSet) apply(n *vnode) {
	n.Nlink = ns.count
	if !ns.inParent(n) {
		n.Parent = ns.first
	}
}

// names reads the back-references ('P' keys) of vn as t.r sees them,
// leaving out the name (gone, goneName) when given: an indexed transaction
// sees the names it made and removed; another sees the store, where the
// name it just removed is still recorded (its other names are unchanged).
func (t *txn) names(vn, gone uint32, goneName string) (nameSet, error) {
	var ns nameSet
	p := parentPrefix(t.v.hdr.ID, vn)
	it, err := t.r.NewIter(p, prefixEnd(p))
	if err != nil {
		return ns, err
	}
	defer it.Close()
	skip := ""
	if gone != 0 {
		skip = string(parentKey(t.v.hdr.ID, vn, gone, goneName))
	}
	for it.First(); it.Valid(); it.Next() {
		k := it.Key()
		if len(k) < len(p)+4 || string(k) == skip {
			continue
		}
		d := binary.BigEndian.Uint32(k[len(p):])
		if ns.count == 0 {
			ns.first = d
		}
		if !slices.Contains(ns.dirs, d) {
			ns.dirs = append(ns.dirs, d)
		}
		ns.count++
	}
	return ns, it.Error()
}

// relink sets the link count and Parent of every file and symlink t
// touched from their back-references. Resolution adds and removes names
// directory by directory, and a file's names may lie in several
// directories merged separately, so counting is what keeps Nlink right. A
// file with no name left is left alone (its last unref dropped it, or a
// placeholder awaits its name).
func (t *txn) relink() error {
	for vn, n := range t.dirty {
		if n == nil || n.Type == proto.TypeDir {
			continue
		}
		ns, err := t.names(vn, 0, "")
		if err != nil {
			return err
		}
		if ns.count == 0 {
			continue
		}
		// Clients cached the old names and count: break their callbacks
		// (a merge changes a file's record without touching it).
		t.ch.FIDs = append(t.ch.FIDs, proto.FID{Volume: t.v.hdr.ID, Vnode: vn, Unique: n.Unique})
		ns.apply(n)
	}
	return nil
}
