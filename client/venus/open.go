package venus

import (
	"context"
	"os"
	"syscall"
	"time"

	"github.com/coda-fs/coda/auth/acl"
	"github.com/coda-fs/coda/server/proto"
)

// staleWait bounds how long an open waits for the release of handles on a
// file whose callback broke: the kernel sends RELEASE asynchronously after
// the last close, so a handle may look open for a moment after its process
// closed it. Handles really still open after that are shared (they keep
// the old version).
const staleWait = 250 * time.Millisecond

// fmodeExec is the kernel's __FMODE_EXEC flag in FUSE open flags: the open
// is for execve.
const fmodeExec = 0x20

// openFile is the open state of a file: one container shared by every
// handle, as the kernel's passthrough uses one backing file per inode.
type openFile struct {
	f        *os.File
	refs     int
	released chan struct{} // closed when the last handle is released
}

// Handle is one open of a file.
type Handle struct {
	o         *object
	of        *openFile
	view      *view // a replica's version under an expanded conflict (expand.go)
	writable  bool
	keepCache bool
	released  bool
}

// File is the container: reads and writes of the open go to it.
func (h *Handle) File() *os.File { return h.of.f }

// Ino is the inode number of the open file.
func (h *Handle) Ino() uint64 { return h.o.ino }

// KeepCache reports whether the kernel may keep the page cache of an
// earlier open (the data did not change); only used without passthrough.
func (h *Handle) KeepCache() bool { return h.keepCache }

func accessOf(flags uint32) (want uint32, writable bool) {
	switch flags & syscall.O_ACCMODE {
	case syscall.O_WRONLY:
		want, writable = permW, true
	case syscall.O_RDWR:
		want, writable = permR|permW, true
	default:
		want = permR
	}
	if flags&syscall.O_TRUNC != 0 {
		want |= permW
	}
	if flags&fmodeExec != 0 {
		want |= permX
	}
	return want, writable
}

// Open opens the file ino. A file already open on this client shares its
// container; otherwise the cached container is used if it holds the
// current version, or the file is fetched. O_TRUNC on a writable open needs
// no fetch.
func (v *Venus) Open(ctx context.Context, c Caller, ino uint64, flags uint32) (*Handle, error) {
	if vw, x, _ := v.under(ino); vw != nil {
		return v.viewOpen(ctx, c, vw, flags)
	} else if x != nil {
		return nil, proto.ErrIsDir
	}
	o, err := v.object(ino)
	if err != nil {
		return nil, err
	}
	want, writable := accessOf(flags)
	trunc := writable && flags&syscall.O_TRUNC != 0
	v.waitStaleRelease(o)
	if err := v.ensureValid(ctx, c, o); err != nil {
		return nil, err
	}
	v.mu.Lock()
	conflict := v.inConflict(o.fid)
	v.mu.Unlock()
	if conflict {
		return nil, proto.ErrNotFound // a conflict link dangles
	}
	id, r, err := v.rightsFor(ctx, c, o)
	if err != nil {
		return nil, err
	}
	if h, err, ok := v.openShared(id, r, o, want, writable, trunc); ok {
		return h, err
	}
	o.io.Lock()
	defer o.io.Unlock()
	if h, err, ok := v.openShared(id, r, o, want, writable, trunc); ok {
		return h, err
	}
	if err := v.checkOpenable(id, r, o, want); err != nil {
		return nil, err
	}
	f, fetched, err := v.containerFor(ctx, c, o, trunc)
	if err == nil {
		if fetched {
			v.stats.openMisses.Add(1)
		} else {
			v.stats.openHits.Add(1)
		}
	}
	if err != nil {
		return nil, err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	o.of = &openFile{f: f, refs: 1, released: make(chan struct{})}
	v.openFiles++
	if o.lru != nil {
		v.lruOf(o).Remove(o.lru)
		o.lru = nil
	}
	return &Handle{o: o, of: o.of, writable: writable, keepCache: !fetched}, nil
}

// waitStaleRelease waits (at most staleWait) for the handles of an open
// file whose callback broke to be released, so that this open gets the new
// version when they were only waiting for their RELEASE.
func (v *Venus) waitStaleRelease(o *object) {
	v.mu.Lock()
	of := o.of
	stale := of != nil && !v.hasCB(o)
	v.mu.Unlock()
	if !stale {
		return
	}
	t := time.NewTimer(staleWait)
	defer t.Stop()
	select {
	case <-of.released:
	case <-t.C:
	}
}

// openShared adds a handle to o's open state if there is one; ok is false
// when o is not open.
func (v *Venus) openShared(id identity, r acl.Rights, o *object, want uint32, writable, trunc bool) (h *Handle, err error, ok bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if o.of == nil {
		return nil, nil, false
	}
	if !fileAccess(id, r, &o.attr, want) {
		return nil, proto.ErrAccess, true
	}
	if trunc {
		if err := o.of.f.Truncate(0); err != nil {
			return nil, err, true
		}
	}
	o.of.refs++
	return &Handle{o: o, of: o.of, writable: writable, keepCache: true}, nil, true
}

func (v *Venus) checkOpenable(id identity, r acl.Rights, o *object, want uint32) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	switch o.attr.Type {
	case proto.TypeDir:
		return proto.ErrIsDir
	case proto.TypeSymlink:
		return syscall.ELOOP
	}
	if !fileAccess(id, r, &o.attr, want) {
		return proto.ErrAccess
	}
	return nil
}

// containerFor opens o's container when it holds the current version (or
// local changes not stored yet), makes an empty one for a truncating open,
// or fetches. A container that changed while closed was written through a
// shared mapping after its last close (passthrough mmap keeps the container
// itself mapped): those changes are pending and the next close stores them.
// Called with o.io held.
func (v *Venus) containerFor(ctx context.Context, c Caller, o *object, trunc bool) (f *os.File, fetched bool, err error) {
	v.mu.Lock()
	name, usable := o.cont, o.cont != "" && (o.contVV == o.attr.VV || o.pending)
	v.mu.Unlock()
	if usable {
		if f, err := v.openContainer(o, name, trunc); err == nil {
			return f, false, nil
		}
		v.mu.Lock()
		if o.cont == name {
			v.dropContainer(o)
			v.meta.putObject(o)
		}
		v.mu.Unlock()
	}
	if trunc {
		f, err := v.emptyContainer(o, true)
		return f, true, err
	}
	f, err = v.fetch(ctx, c, o)
	return f, true, err
}

// openContainer opens o's container name, marking it pending when it
// changed since it was last clean.
func (v *Venus) openContainer(o *object, name string, trunc bool) (*os.File, error) {
	f, err := v.conts.open(name)
	if err != nil {
		return nil, err
	}
	cur, _, err := fstat(f)
	if err == nil && trunc {
		err = f.Truncate(0)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if cur != o.contStat && !o.pending {
		v.log.Info("a closed file was written through a mapping; storing it at its next close", "fid", o.fid)
		o.pending = true
		v.markUnsynced(o)
		v.meta.putObject(o)
	}
	return f, nil
}

// emptyContainer gives o a new empty container. dirty: it stands for a
// truncation the server has not seen, so the next flush stores it; else it
// holds the (empty) current version. Called with o.io held.
func (v *Venus) emptyContainer(o *object, dirty bool) (*os.File, error) {
	f, name, err := v.conts.createEmpty()
	if err != nil {
		return nil, err
	}
	st, blocks, err := fstat(f)
	if err != nil {
		f.Close()
		v.conts.remove(name)
		return nil, err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.dropContainer(o)
	o.cont, o.contVV = name, o.attr.VV
	v.markUnsynced(o)
	o.contStat = st
	if dirty {
		o.contStat = fileStat{Size: -1}
	}
	v.setContBytes(o, blocks)
	v.meta.putObject(o)
	return f, nil
}

// OpenFile returns the container shared by the open handles of ino, or nil
// when ino is not open. The adapter registers it as the passthrough backing
// file; it stays valid while the caller's handle is open.
func (v *Venus) OpenFile(ino uint64) *os.File {
	v.mu.Lock()
	defer v.mu.Unlock()
	if vw := v.views[ino]; vw != nil && vw.of != nil {
		return vw.of.f
	}
	o := v.byIno[ino]
	if o == nil || o.of == nil {
		return nil
	}
	return o.of.f
}
