package venus

import (
	"container/list"
	"time"

	"github.com/coda-fs/coda/server/proto"
)

// applyAttr records a status from the server and drops what it makes
// stale: the container of a closed file whose version moved on, a symlink
// target, directory entries (setAttr). An object with logged updates
// keeps venus's status and data until they are reintegrated: a status
// from the servers (read for the rights it carries, or before the update
// was logged) only brings its rights. Callers hold v.mu.
func (v *Venus) applyAttr(o *object, a proto.Attr, st stamp) {
	if !st.local && o.hasAttr && v.pinned(o) {
		v.noteRights(o, &a, st)
		return
	}
	v.setAttr(o, a, v.promiseOK(st, o.fid))
	v.noteRights(o, &a, st)
	if o.removed && o.of == nil {
		v.forget(o)
		return
	}
	if o.cont != "" && o.of == nil && !o.pending && o.contVV != a.VV {
		v.dropContainer(o)
	}
	if o.hasTarget && o.targetVV != a.VV {
		o.hasTarget = false
	}
	v.meta.putObject(o)
}

// forget drops an object the server no longer has (or whose last link is
// gone): its record, its container unless open, its entries. Its inode
// number stays, so the kernel sees ESTALE/ENOENT rather than another file.
// Callers hold v.mu.
func (v *Venus) forget(o *object) {
	o.removed = true
	o.cbGen = 0
	if o.attr.Nlink != 0 {
		o.attr.Nlink = 0
	}
	if o.of == nil {
		// Gone from the server: nothing waits for the space, so the
		// unlink happens in the background (see containers).
		v.releaseContainer(o, v.conts.removeLater)
	}
	o.dir = nil
	o.diskDir = false
	v.meta.delObject(o.fid)
}

// forgetIfGone forgets o when err says the server no longer has it, and
// returns err. Callers do not hold v.mu.
func (v *Venus) forgetIfGone(o *object, err error) error {
	if isGone(err) {
		v.mu.Lock()
		v.forget(o)
		v.mu.Unlock()
	}
	return err
}

// dropContainer removes o's container from the cache. Callers hold v.mu and
// o is not open.
func (v *Venus) dropContainer(o *object) { v.releaseContainer(o, v.conts.remove) }

// releaseContainer forgets o's container and has remove unlink it.
func (v *Venus) releaseContainer(o *object, remove func(name string)) {
	if o.cont == "" {
		return
	}
	if o.lru != nil {
		v.lruOf(o).Remove(o.lru)
		o.lru = nil
	}
	v.cachedBytes -= o.contBytes
	remove(o.cont)
	o.cont, o.contStat, o.contBytes, o.pending, o.unsynced = "", fileStat{}, 0, false, false
}

// setContBytes updates o's allocated bytes and the cache total. Callers
// hold v.mu.
func (v *Venus) setContBytes(o *object, n int64) {
	v.cachedBytes += n - o.contBytes
	o.contBytes = n
}

// touchLRU makes o the most recently used closed container. Callers hold
// v.mu.
func (v *Venus) touchLRU(o *object) {
	o.lastUse = time.Now().UnixNano()
	if o.cont == "" || o.of != nil || o.pending {
		return
	}
	if o.lru == nil {
		o.lru = v.lruOf(o).PushBack(o)
	} else {
		v.lruOf(o).MoveToBack(o.lru)
	}
}

// lruOf is the LRU list o's container is in: hoarded objects have their
// own, evicted only when the other is empty. Callers hold v.mu.
func (v *Venus) lruOf(o *object) *list.List {
	if o.hoard > 0 {
		return &v.hoardLRU
	}
	return &v.lru
}

// setHoard gives o hoard priority pri (0: not hoarded), moving its
// container to the LRU list that goes with it. Callers hold v.mu.
func (v *Venus) setHoard(o *object, pri int) {
	if (o.hoard > 0) == (pri > 0) || o.lru == nil {
		o.hoard = pri
		return
	}
	v.lruOf(o).Remove(o.lru)
	o.hoard = pri
	o.lru = v.lruOf(o).PushBack(o)
}

// evict drops least recently used closed, unmodified containers until the
// cache fits its size. Callers hold v.mu.
func (v *Venus) evict() {
	for v.cachedBytes > v.opts.CacheSize {
		e := v.lru.Front()
		if e == nil {
			e = v.hoardLRU.Front() // nothing unhoarded is left
		}
		if e == nil {
			return
		}
		o := e.Value.(*object)
		if v.pinned(o) {
			// Its logged store ships this container: kept until then.
			v.lruOf(o).Remove(e)
			o.lru = nil
			continue
		}
		if st, _, err := v.conts.check(o.cont); err == nil && st != o.contStat {
			// Written through a mapping after its last close: keep it
			// until a close stores it.
			v.lruOf(o).Remove(e)
			o.lru, o.pending = nil, true
			v.markUnsynced(o)
			v.meta.putObject(o)
			continue
		}
		v.dropContainer(o)
		v.meta.putObject(o)
		v.stats.evictions.Add(1)
	}
}

// attrOf converts o's status for the kernel. An open file whose container
// changed since it was clean reports the container's size and times.
// Callers hold v.mu.
func (v *Venus) attrOf(o *object) Attr {
	a := &o.attr
	out := Attr{Ino: o.ino, Mode: typeBits(a.Type) | a.Mode&0o7777, Nlink: a.Nlink,
		UID: a.UID, GID: a.GID, Size: a.Size, Blocks: (a.Blocks + 511) / 512,
		Mtime: a.Mtime, Ctime: a.Ctime, Atime: a.Mtime}
	if o.removed {
		out.Nlink = 0
	}
	if x := v.expanded[o.fid]; x != nil && !x.real {
		return expandedAttr(o, x)
	}
	if v.inConflict(o.fid) {
		out.Mode, out.Size, out.Blocks = typeBits(proto.TypeSymlink)|0o777, int64(len(v.conflictTarget(o.fid))), 0
		out.Nlink, out.Timeout = 1, 0 // a link, even to what this client removed
		return out
	}
	if o.cont != "" && (o.contVV == a.VV || o.of != nil) {
		out.Blocks = o.contBytes / 512
	}
	if o.of != nil {
		if st, blocks, err := fstat(o.of.f); err == nil && (st != o.contStat || o.pending) {
			out.Size, out.Mtime, out.Ctime, out.Blocks = st.Size, st.Mtime, st.Ctime, blocks/512
			out.Atime = st.Mtime
		}
	}
	out.Timeout = v.dur(v.trusted(o) && o.of == nil && !o.removed && v.public(o))
	return out
}
