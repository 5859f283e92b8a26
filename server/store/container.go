package store

import (
	"fmt"
	"io"
	"strconv"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// InvalidFd is what Container.Fd returns for a container without a file
// descriptor.
const InvalidFd = vfs.InvalidFd

// ContainerID names an immutable container file. 0 means "no container"
// and reads as an empty file.
type ContainerID uint64

// String formats the id as its file name (16 hex digits).
func (id ContainerID) String() string { return fmt.Sprintf("%016x", uint64(id)) }

// parseContainerID parses a container file name; ok is false for any name
// that is not exactly 16 lower-case hex digits naming a non-zero id.
func parseContainerID(name string) (ContainerID, bool) {
	if len(name) != 16 {
		return 0, false
	}
	for _, c := range name {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return 0, false
		}
	}
	v, err := strconv.ParseUint(name, 16, 64)
	if err != nil || v == 0 {
		return 0, false
	}
	return ContainerID(v), true
}

func (db *DB) containersDir() string { return db.fs.PathJoin(db.dir, "containers") }
func (db *DB) tmpDir() string        { return db.fs.PathJoin(db.containersDir(), "tmp") }

func (db *DB) fanoutDir(id ContainerID) string {
	return db.fs.PathJoin(db.containersDir(), fmt.Sprintf("%02x", uint64(id)&0xff))
}

func (db *DB) containerPath(id ContainerID) string {
	return db.fs.PathJoin(db.fanoutDir(id), id.String())
}

func (db *DB) tmpPath(id ContainerID) string {
	return db.fs.PathJoin(db.tmpDir(), id.String()+".tmp")
}

// initContainers creates the container directories and loads the id
// counter.
func (db *DB) initContainers() error {
	top := db.containersDir()
	if err := mkdirSynced(db.fs, top, db.noSync); err != nil {
		return fmt.Errorf("create %s: %w", top, err)
	}
	have, err := db.fs.List(top)
	if err != nil {
		return fmt.Errorf("list %s: %w", top, err)
	}
	exists := make(map[string]bool, len(have))
	for _, name := range have {
		exists[name] = true
	}
	created := false
	for i := 0; i <= 256; i++ {
		name := "tmp"
		if i < 256 {
			name = fmt.Sprintf("%02x", i)
		}
		if exists[name] {
			continue
		}
		if err := db.fs.MkdirAll(db.fs.PathJoin(top, name), 0o700); err != nil {
			return fmt.Errorf("create %s: %w", name, err)
		}
		created = true
	}
	if created && !db.noSync {
		if err := syncDir(db.fs, top); err != nil {
			return err
		}
	}
	if db.ids, err = db.loadIDs(top); err != nil {
		return err
	}
	db.sessionStart = db.ids.peek()
	db.dirs = newDirSyncer(db.fs)
	return nil
}

// Container is an open, immutable container. It is an io.ReaderAt over the
// stored bytes; ReadAtLogical and NewReader read it as a file of a given
// logical size, with zeros past the stored bytes.
type Container struct {
	id     ContainerID
	f      vfs.File // nil for id 0
	size   int64
	closed bool
}

// OpenContainer opens container id; id 0 gives an empty container. A
// missing container gives an error wrapping ErrNotFound.
func (db *DB) OpenContainer(id ContainerID) (*Container, error) {
	if id == 0 {
		return &Container{}, nil
	}
	done, err := db.enter()
	if err != nil {
		return nil, err
	}
	defer done()
	path := db.containerPath(id)
	f, err := db.fs.Open(path)
	if isNotExist(err) {
		return nil, fmt.Errorf("store: container %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: open container %s: %w", id, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("store: stat container %s: %w", id, err)
	}
	return &Container{id: id, f: f, size: fi.Size()}, nil
}

// ID returns the container's id.
func (c *Container) ID() ContainerID { return c.id }

// Size is the number of stored bytes (the file's length). It is at most
// the logical size given to Finish; on real file systems it equals it.
func (c *Container) Size() int64 { return c.size }

// ReadAt reads stored bytes, as io.ReaderAt (io.EOF at Size).
func (c *Container) ReadAt(p []byte, off int64) (int, error) {
	if c.closed {
		return 0, fmt.Errorf("store: container %s: %w", c.id, ErrClosed)
	}
	if c.f == nil {
		if off < 0 {
			return 0, fmt.Errorf("store: negative offset %d", off)
		}
		return 0, io.EOF
	}
	return c.f.ReadAt(p, off)
}

// ReadAtLogical reads the container as a file of `logical` bytes: stored
// bytes, then zeros up to logical, then io.EOF. It follows io.ReaderAt's
// contract otherwise.
func (c *Container) ReadAtLogical(p []byte, off, logical int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("store: negative offset %d", off)
	}
	if off >= logical {
		return 0, io.EOF
	}
	want, atEnd := p, false
	if rest := logical - off; int64(len(p)) >= rest {
		want, atEnd = p[:rest], true
	}
	n := 0
	if off < c.size {
		stored := want[:min(int64(len(want)), c.size-off)]
		var err error
		n, err = c.ReadAt(stored, off)
		if n < len(stored) {
			if err == nil || err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return n, fmt.Errorf("store: read container %s: %w", c.id, err)
		}
	}
	clear(want[n:])
	if atEnd {
		return len(want), io.EOF
	}
	return len(want), nil
}

// NewReader returns a reader of the container as a file of `logical`
// bytes (see ReadAtLogical), for streaming with io.Copy.
func (c *Container) NewReader(logical int64) *io.SectionReader {
	return io.NewSectionReader(logicalReader{c, logical}, 0, logical)
}

type logicalReader struct {
	c       *Container
	logical int64
}

func (r logicalReader) ReadAt(p []byte, off int64) (int, error) {
	return r.c.ReadAtLogical(p, off, r.logical)
}

// File returns the open file (nil for id 0). The caller must not close it
// and must not write to it.
func (c *Container) File() vfs.File { return c.f }

// Fd returns the file descriptor of a container on a real file system, for
// SEEK_DATA, mmap or FUSE passthrough; InvalidFd otherwise (id 0, or a
// file system that is not backed by the OS).
func (c *Container) Fd() uintptr {
	if c.f == nil || c.closed {
		return vfs.InvalidFd
	}
	return c.f.Fd()
}

// Close closes the container; it is idempotent.
func (c *Container) Close() error {
	if c.closed || c.f == nil {
		c.closed = true
		return nil
	}
	c.closed = true
	return c.f.Close()
}

// RemoveContainer deletes container id. It is idempotent (removing a
// missing container or id 0 succeeds) and not synced: after a crash the
// container may come back, as an orphan for CleanOrphans. Open Containers
// stay readable until closed (on real file systems).
func (db *DB) RemoveContainer(id ContainerID) error {
	if id == 0 {
		return nil
	}
	done, err := db.enter()
	if err != nil {
		return err
	}
	defer done()
	if err := db.fs.Remove(db.containerPath(id)); err != nil && !isNotExist(err) {
		return fmt.Errorf("store: remove container %s: %w", id, err)
	}
	return nil
}
