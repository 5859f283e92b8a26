package fusefs

import (
	"os"

	"github.com/hanwen/go-fuse/v2/fuse"
)

// backing is a container registered with the kernel as a passthrough
// backing file, shared by the handles open on it.
type backing struct {
	id   int32
	refs int
}

// rawFS wraps go-fuse's node file system to attach backing files to opens:
// the backing file is the container venus gave the open, registered once
// per container and released with its last handle.
type rawFS struct {
	fuse.RawFileSystem
	m *Mount
}

func (r *rawFS) Open(cancel <-chan struct{}, in *fuse.OpenIn, out *fuse.OpenOut) fuse.Status {
	st := r.RawFileSystem.Open(cancel, in, out)
	if st == fuse.OK {
		r.m.attachBacking(in.NodeId, out)
	}
	return st
}

func (r *rawFS) Create(cancel <-chan struct{}, in *fuse.CreateIn, name string, out *fuse.CreateOut) fuse.Status {
	st := r.RawFileSystem.Create(cancel, in, name, out)
	if st == fuse.OK {
		r.m.attachBacking(out.NodeId, &out.OpenOut)
	}
	return st
}

func (r *rawFS) Release(cancel <-chan struct{}, in *fuse.ReleaseIn) {
	f := r.m.takeFh(in.Fh)
	r.RawFileSystem.Release(cancel, in)
	if f != nil {
		r.m.releaseBacking(f)
	}
}

// attachBacking gives the open out the backing file of the container venus
// holds open for ino. A failed registration turns passthrough off for the
// mount (venus serves reads and writes from then on).
func (m *Mount) attachBacking(ino uint64, out *fuse.OpenOut) {
	if !m.Passthrough() {
		return
	}
	f := m.v.OpenFile(ino)
	if f == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	b := m.backing[f]
	if b == nil {
		id, errno := m.server.RegisterBackingFd(&fuse.BackingMap{Fd: int32(f.Fd())})
		if errno != 0 {
			m.passthrough = false
			m.log.Warn("FUSE passthrough refused by the kernel; venus serves reads and writes itself "+
				"(is the cache directory on a stacked file system such as overlayfs?)", "err", errno)
			return
		}
		b = &backing{id: id}
		m.backing[f] = b
	}
	b.refs++
	m.byFh[out.Fh] = f
	out.BackingID = b.id
	out.OpenFlags |= fuse.FOPEN_PASSTHROUGH
	out.OpenFlags &^= fuse.FOPEN_KEEP_CACHE | fuse.FOPEN_DIRECT_IO
}

// takeFh forgets which container the handle fh used.
func (m *Mount) takeFh(fh uint64) *os.File {
	m.mu.Lock()
	defer m.mu.Unlock()
	f := m.byFh[fh]
	delete(m.byFh, fh)
	return f
}

// releaseBacking drops a handle's reference to its backing file and
// unregisters it with the last one.
func (m *Mount) releaseBacking(f *os.File) {
	m.mu.Lock()
	b := m.backing[f]
	if b == nil {
		m.mu.Unlock()
		return
	}
	b.refs--
	last := b.refs == 0
	if last {
		delete(m.backing, f)
	}
	m.mu.Unlock()
	if last {
		if errno := m.server.UnregisterBackingFd(b.id); errno != 0 {
			m.log.Warn("releasing a passthrough backing file failed", "err", errno)
		}
	}
}
