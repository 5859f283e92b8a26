package venus

import (
	"fmt"

	"github.com/coda-fs/coda/server/proto"
)

// cfs flushobject and flushvolume drop cached data, as in Coda: a flushed
// file is fetched again on its next open, a flushed directory listed again,
// and every flushed status asked again. What the servers do not have yet
// (changes logged for reintegration, a store not sent, an open file) is
// kept unless the caller forces a volume flush, which drops the log too.

// flushable says why o cannot be flushed ("" when it can). Callers hold
// v.mu.
func (v *Venus) flushable(o *object) string {
	switch {
	case v.pinned(o):
		return "has changes logged for reintegration (cfs fr sends them)"
	case o.of != nil:
		return "is open"
	case o.pending:
		return "holds changes not stored on the servers yet"
	}
	return ""
}

// flushOne drops o's cached data and status promise. Callers hold v.mu.
func (v *Venus) flushOne(o *object, notes *kernelNotes) {
	if o.cont != "" {
		v.dropContainer(o)
	}
	o.dir, o.diskDir = nil, false
	o.cbGen = 0
	o.hasTarget = false
	dropRights(o)
	v.meta.putDir(o)
	notes.inodes = append(notes.inodes, o.ino)
	if o.isDir() {
		notes.children = append(notes.children, o.ino)
	}
}

// FlushObject drops what venus caches of the object ino (cfs flushobject).
func (v *Venus) FlushObject(ino uint64) error {
	o, err := v.object(ino)
	if err != nil {
		return err
	}
	var notes kernelNotes
	v.mu.Lock()
	if why := v.flushable(o); why != "" {
		v.mu.Unlock()
		return proto.Errorf(proto.CodeBusy, "not flushed: it "+why)
	}
	v.flushOne(o, &notes)
	v.mu.Unlock()
	v.notify(notes, kernelWait)
	return nil
}

// FlushVolume drops what venus caches of the volume holding ino (cfs
// flushvolume) and returns how many objects it flushed and kept. Objects
// the servers do not have in full yet are kept unless force, which drops
// the volume's log too (root only).
func (v *Venus) FlushVolume(ino uint64, c Caller, force bool) (flushed, kept int, err error) {
	o, err := v.object(ino)
	if err != nil {
		return 0, 0, err
	}
	if force {
		if c.UID != 0 {
			return 0, 0, proto.Errorf(proto.CodePerm, "flushvolume --force drops every user's logged changes: root only")
		}
		if _, err := v.DiscardLocal(ino, c, true); err != nil {
			return 0, 0, err
		}
	}
	var notes kernelNotes
	v.mu.Lock()
	for fid, ob := range v.objs {
		if fid.Volume != o.fid.Volume || ob.removed {
			continue
		}
		if why := v.flushable(ob); why != "" && !(force && ob.of == nil) {
			kept++
			continue
		}
		ob.pending = false
		v.flushOne(ob, &notes)
		flushed++
	}
	v.mu.Unlock()
	v.notify(notes, kernelWait)
	if kept > 0 && !force {
		return flushed, kept, proto.Errorf(proto.CodeBusy, fmt.Sprintf("%d objects flushed; %d kept: open, or with changes not on the servers yet (--force drops those changes)", flushed, kept))
	}
	return flushed, kept, nil
}
