package venus

import (
	"context"
	"time"

	"github.com/coda-fs/coda/server/proto"
	"github.com/coda-fs/coda/server/rpc"
)

// notifyWait bounds how long a break's reply waits for the kernel
// notifications; the server closes a connection whose break is not
// acknowledged within a second.
const notifyWait = 600 * time.Millisecond

// Invalidator drops kernel caches; the FUSE adapter implements it. Its
// methods may block (the kernel may wait for a FUSE request in progress on
// the same inode), so venus calls them from a goroutine of its own, never
// from a FUSE handler.
type Invalidator interface {
	// InvalidateInode drops the cached attributes and data of ino.
	InvalidateInode(ino uint64)
	// InvalidateEntry drops the cached name→inode mapping (parent, name).
	InvalidateEntry(parent uint64, name string)
	// InvalidateChildren drops every name of directory parent the kernel
	// caches.
	InvalidateChildren(parent uint64)
	// InvalidateAll drops every cached name and attribute of the mount.
	InvalidateAll()
}

// SetInvalidator installs the adapter's invalidator (nil: none).
func (v *Venus) SetInvalidator(inv Invalidator) {
	v.invalMu.Lock()
	v.inval = inv
	v.invalMu.Unlock()
}

// kernelNotes are the kernel invalidations a change requires.
type kernelNotes struct {
	all      bool
	inodes   []uint64
	children []uint64
}

func (n *kernelNotes) empty() bool { return !n.all && len(n.inodes) == 0 && len(n.children) == 0 }

// add adds m's notes to n's.
func (n *kernelNotes) add(m kernelNotes) {
	n.all = n.all || m.all
	n.inodes = append(n.inodes, m.inodes...)
	n.children = append(n.children, m.children...)
}

// notify runs the invalidations on their own goroutine and waits for them
// at most wait.
func (v *Venus) notify(n kernelNotes, wait time.Duration) {
	v.invalMu.Lock()
	inv := v.inval
	v.invalMu.Unlock()
	if inv == nil || n.empty() {
		return
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if n.all {
			inv.InvalidateAll()
			return
		}
		for _, ino := range n.inodes {
			inv.InvalidateInode(ino)
		}
		for _, ino := range n.children {
			inv.InvalidateChildren(ino)
		}
	}()
	if wait <= 0 {
		return
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		v.log.Debug("kernel invalidation still running when the break was acknowledged")
	}
}

// handleBreak serves a server's callback break: the promises go, the
// kernel forgets what it cached of the objects, and only then is the break
// acknowledged.
func (v *Venus) handleBreak(ctx context.Context, req *rpc.Request) (proto.Message, *rpc.Source, error) {
	var m proto.CallbackBreak
	if err := proto.Unmarshal(req.Body, &m); err != nil {
		return nil, nil, proto.Errorf(proto.CodeProtocol, err.Error())
	}
	v.notifyBreak(v.applyBreaks(m.FIDs))
	return &proto.Empty{}, nil, nil
}

// BreakCallbacks applies a break as if a server sent it (for tests and the
// control channel).
func (v *Venus) BreakCallbacks(fids []proto.FID) {
	v.notifyBreak(v.applyBreaks(fids))
}

// notifyBreak runs a break's kernel invalidations: those of inodes
// (attributes, data, a directory's listing) before the break is
// acknowledged, up to notifyWait; those of a directory's entries on their
// own, not waited for. Dropping a dentry takes the directory's lock in the
// kernel, which a request of this mount in the same directory holds while
// it waits for the servers — which may be waiting for this very
// acknowledgement (two clients writing one directory): waiting for it cost
// each such pair notifyWait. A name removed elsewhere may so answer a
// lookup here for a moment after the remover's call returned; the object
// it names is already invalidated, and venus answers for it afresh.
func (v *Venus) notifyBreak(n kernelNotes) {
	if n.all {
		v.notify(n, notifyWait)
		return
	}
	v.sweepEntries(n.children)
	n.children = nil
	v.notify(n, notifyWait)
}

// sweepEntries drops the kernel's dentries under each directory in dirs,
// on a goroutine per directory; a sweep asked for while one runs makes it
// run once more after (so many breaks cost a few sweeps, not one each).
func (v *Venus) sweepEntries(dirs []uint64) {
	v.invalMu.Lock()
	defer v.invalMu.Unlock()
	inv := v.inval
	if inv == nil {
		return
	}
	if v.sweeps == nil {
		v.sweeps = map[uint64]bool{}
	}
	for _, d := range dirs {
		if _, running := v.sweeps[d]; running {
			v.sweeps[d] = true // again when done
			continue
		}
		v.sweeps[d] = false
		go func() {
			for {
				inv.InvalidateChildren(d)
				v.invalMu.Lock()
				if !v.sweeps[d] {
					delete(v.sweeps, d)
					v.invalMu.Unlock()
					return
				}
				v.sweeps[d] = false
				v.invalMu.Unlock()
			}
		}()
	}
}

// applyBreaks drops the promises on fids and lists the kernel
// invalidations they need.
func (v *Venus) applyBreaks(fids []proto.FID) kernelNotes {
	v.mu.Lock()
	defer v.mu.Unlock()
	var n kernelNotes
	for _, fid := range fids {
		v.breaks.add(fid)
		if fid.Vnode == 0 {
			for f, o := range v.objs {
				if f.Volume == fid.Volume {
					o.cbGen = 0
				}
			}
			n.all = true
			continue
		}
		o := v.objs[fid]
		if o == nil {
			continue
		}
		o.cbGen = 0
		n.inodes = append(n.inodes, o.ino)
		if o.isDir() {
			n.children = append(n.children, o.ino)
		}
	}
	return n
}

// promisesLost is called when the connection died: every promise is gone
// and the kernel must forget everything it was allowed to cache.
func (v *Venus) promisesLost() {
	v.mu.Lock()
	v.gen++
	v.mu.Unlock()
	go v.notify(kernelNotes{all: true}, 0)
}
