package fusefs

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"

	"github.com/coda-fs/coda/client/venus"
)

// Options configure a mount.
type Options struct {
	Logger *slog.Logger
	// NoPassthrough forces venus to serve reads and writes itself.
	NoPassthrough bool
	// Debug logs every FUSE request (very verbose).
	Debug bool
	// BusyWait bounds how long Unmount serves a busy mount after detaching
	// it (default 5s).
	BusyWait time.Duration
}

// Mount is a mounted venus.
type Mount struct {
	dir    string
	v      *venus.Venus
	log    *slog.Logger
	server *fuse.Server

	passthrough bool // backing files may be registered
	busyWait    time.Duration

	mu      sync.Mutex
	nodes   map[uint64]*fs.Inode // inodes the kernel knows, by number
	backing map[*os.File]*backing
	byFh    map[uint64]*os.File
}

// Mount mounts v at dir and starts serving. The caller must Unmount.
func New(dir string, v *venus.Venus, o Options) (*Mount, error) {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := &Mount{dir: dir, v: v, log: log, nodes: map[uint64]*fs.Inode{},
		backing: map[*os.File]*backing{}, byFh: map[uint64]*os.File{}, busyWait: o.BusyWait}
	if m.busyWait == 0 {
		m.busyWait = 5 * time.Second
	}
	root := &Node{m: m}
	opts := &fs.Options{
		MountOptions: fuse.MountOptions{
			DirectMount:          true,
			DirectMountStrict:    true,
			AllowOther:           true,
			FsName:               "coda",
			Name:                 "coda",
			DisableXAttrs:        true,
			EnableSymlinkCaching: true,
			ExtraCapabilities:    fuse.CAP_ATOMIC_O_TRUNC,
			MaxWrite:             1 << 20,
			Debug:                o.Debug,
			Logger:               slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		},
		Logger:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		NullPermissions: true,
		ExternalNodeID:  true,
		RootStableAttr:  &fs.StableAttr{Ino: venus.RootIno},
	}
	raw := &rawFS{RawFileSystem: fs.NewNodeFS(root, opts), m: m}
	server, err := fuse.NewServer(raw, dir, &opts.MountOptions)
	if err != nil {
		return nil, fmt.Errorf("mount %s: %w", dir, err)
	}
	m.server = server
	go server.Serve()
	if err := server.WaitMount(); err != nil {
		return nil, fmt.Errorf("mount %s: %w", dir, err)
	}
	m.passthrough = !o.NoPassthrough && m.KernelPassthrough()
	m.explainPassthrough(o.NoPassthrough)
	m.register(root.EmbeddedInode())
	v.SetInvalidator(m)
	return m, nil
}

// KernelPassthrough reports whether the kernel offered FUSE passthrough.
func (m *Mount) KernelPassthrough() bool {
	return m.server.KernelSettings().Flags64()&fuse.CAP_PASSTHROUGH != 0
}

// Passthrough reports whether opens use passthrough.
func (m *Mount) Passthrough() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.passthrough
}

func (m *Mount) explainPassthrough(off bool) {
	switch {
	case off:
		m.log.Info("FUSE passthrough disabled by configuration; venus serves reads and writes")
	case !m.KernelPassthrough():
		m.log.Warn("the kernel does not offer FUSE passthrough (Linux 6.9+ and root needed); " +
			"venus serves reads and writes itself, which is slower")
	}
}

// Dir is the mount point.
func (m *Mount) Dir() string { return m.dir }

// Unmount unmounts. A busy mount (a process has a file open or its working
// directory in it) is detached, so the mount point is free at once, and
// served until its users let go or Options.BusyWait has passed.
func (m *Mount) Unmount() error {
	m.v.SetInvalidator(nil)
	err := m.server.Unmount()
	if err == nil {
		return nil
	}
	if derr := unix.Unmount(m.dir, unix.MNT_DETACH); derr != nil {
		return fmt.Errorf("unmount %s: %w", m.dir, err)
	}
	done := make(chan struct{})
	go func() { m.server.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(m.busyWait):
		m.log.Warn("the mount was busy; detached it, its remaining users lose access when venus exits",
			"mount", m.dir)
	}
	return nil
}

// Wait blocks until the file system is unmounted.
func (m *Mount) Wait() { m.server.Wait() }

// CleanDeadMount lazily unmounts a dead FUSE mount left at dir by a crashed
// venus (stat fails with ENOTCONN), so dir can be mounted again.
func CleanDeadMount(dir string) (bool, error) {
	_, err := os.Stat(dir)
	if !errors.Is(err, syscall.ENOTCONN) && !errors.Is(err, syscall.ECONNABORTED) {
		return false, nil
	}
	if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil {
		return false, fmt.Errorf("dead mount at %s: unmount: %w", dir, err)
	}
	return true, nil
}

// register records an inode the kernel knows.
func (m *Mount) register(in *fs.Inode) {
	ino := in.StableAttr().Ino
	m.mu.Lock()
	if m.nodes[ino] == nil {
		m.nodes[ino] = in
	}
	m.mu.Unlock()
}

func (m *Mount) forget(in *fs.Inode) {
	ino := in.StableAttr().Ino
	m.mu.Lock()
	if m.nodes[ino] == in {
		delete(m.nodes, ino)
	}
	m.mu.Unlock()
}

func (m *Mount) node(ino uint64) *fs.Inode {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.nodes[ino]
}
