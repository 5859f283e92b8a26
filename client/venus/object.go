package venus

import (
	"container/list"
	"sync"

	"github.com/coda-fs/coda/auth/acl"
	"github.com/coda-fs/coda/server/proto"
)

// object is venus's state of one FID. Fields are guarded by Venus.mu except
// io, which serialises slow per-object work (see the package doc).
type object struct {
	fid     proto.FID
	ino     uint64
	attr    proto.Attr
	hasAttr bool
	cbGen   uint64 // promise generation of the callback (0: none)
	removed bool   // the server said its last link is gone

	// Regular files: the container and what it holds.
	cont      string        // container file name; "" when none
	contVV    proto.VV      // the version whose data the container holds
	contStat  fileStat      // the container's stat when it last matched contVV
	contBytes int64         // allocated bytes of the container
	pending   bool          // the container holds changes a store did not get to the server
	unsynced  bool          // the container's data is not synced yet: records omit it
	syncGen   uint64        // counts markUnsynced, so a sync knows it is stale
	lastUse   int64         // ns; LRU order across restarts
	lru       *list.Element // in v.lruOf(o)
	hoard     int           // hoard priority the last walk gave it (0: not hoarded)
	of        *openFile     // non-nil while open

	// Directories: the cached entries, and the version of the entries
	// persisted in the cache database (loaded on first use after a restart).
	dir       *dirCache
	diskDir   bool
	diskDirVV proto.VV

	// parent is the directory this object was last seen in, whose ACL
	// venus checks it against (the server judges by the directory it
	// records); zero when unknown.
	parent proto.FID

	// Directories: the rights of each Coda user (0: anonymous) and of
	// System:AnyUser on its ACL, valid while it holds its callback (see
	// perm.go).
	rights       map[int32]acl.Rights
	anyRights    acl.Rights
	hasAnyRights bool

	// Symlinks.
	target    string
	targetVV  proto.VV
	hasTarget bool

	io sync.Mutex
}

func (o *object) isDir() bool  { return o.attr.Type == proto.TypeDir }
func (o *object) isFile() bool { return o.attr.Type == proto.TypeFile }

// hasCB reports whether o holds a live callback promise, or has logged
// updates not reintegrated yet (venus's version is the one to serve).
// Callers hold v.mu.
func (v *Venus) hasCB(o *object) bool {
	return o.hasAttr && (o.cbGen != 0 && o.cbGen == v.gen || v.pinned(o))
}

// trusted reports whether the kernel may cache o's status and entry: o
// holds a promise, or its volume is disconnected (nothing but this venus
// changes what it serves then; the kernel's caches are dropped when a
// server is back). Callers hold v.mu.
func (v *Venus) trusted(o *object) bool {
	if v.hasCB(o) {
		return true
	}
	if !o.hasAttr || !v.offline(o.fid.Volume) {
		return false
	}
	v.offlineGrants.Store(true)
	return true
}

// lookupFID returns the object of fid, or nil. Callers hold v.mu.
func (v *Venus) lookupFID(fid proto.FID) *object { return v.objs[fid] }

// objectFor returns the object of fid, creating it (with its inode number)
// if needed. Callers hold v.mu.
func (v *Venus) objectFor(fid proto.FID) *object {
	if o := v.objs[fid]; o != nil {
		return o
	}
	o := &object{fid: fid, ino: v.inoFor(fid)}
	v.objs[fid] = o
	v.byIno[o.ino] = o
	return o
}

// inoFor returns fid's inode number, allocating and persisting one if fid
// has none yet. Callers hold v.mu.
func (v *Venus) inoFor(fid proto.FID) uint64 {
	if ino, ok := v.inos[fid]; ok {
		return ino
	}
	ino := v.nextIno
	v.nextIno++
	v.inos[fid] = ino
	v.meta.setIno(fid, ino, v.nextIno)
	return ino
}

// setAttr records a status from the server. cb says whether the reply that
// carried it also carried a promise still valid (see promiseOK). Callers
// hold v.mu.
func (v *Venus) setAttr(o *object, a proto.Attr, cb bool) {
	if a.Flags&proto.AttrConflict != 0 && !isConflictObject(o) {
		v.announceConflict(o.fid)
	}
	if !cb || o.cbGen != v.gen {
		dropRights(o) // rights are trusted only under the promise they came with
	}
	o.attr = a
	o.hasAttr = true
	if cb {
		o.cbGen = v.gen
	} else {
		o.cbGen = 0
	}
	if a.Type == proto.TypeDir && o.dir != nil && o.dir.vv != a.VV {
		o.dir = nil // entries belong to another version
	}
	if a.Nlink == 0 && a.Type != proto.TypeNone {
		o.removed = true
	}
}

// objByIno returns the object with inode number ino or ENOENT-like errors.
// Callers hold v.mu.
func (v *Venus) objByIno(ino uint64) (*object, error) {
	o := v.byIno[ino]
	if o == nil {
		if v.views[ino] != nil {
			return nil, proto.ErrReadOnly // a replica under an expanded conflict
		}
		return nil, proto.ErrStale
	}
	return o, nil
}
