package store

import (
	"errors"
	"fmt"
	"sync"

	"github.com/cockroachdb/pebble/v2/vfs"
	"golang.org/x/sys/unix"
)

type writerState int

const (
	writerOpen writerState = iota
	writerCommitting
	writerDone // committed or aborted
)

// ContainerWriter writes a new container in containers/tmp/ until Commit
// moves it into place. Write and WriteAt may leave holes; bytes never
// written read as zeros. WriteAt may be called in parallel on disjoint
// ranges; the other methods belong to one goroutine.
type ContainerWriter struct {
	db  *DB
	id  ContainerID
	tmp string

	mu       sync.Mutex
	f        vfs.File
	state    writerState
	extent   int64 // end of the furthest byte written
	off      int64 // Write's position
	size     int64 // logical size given to Finish
	finished bool
	err      error // first write error; Commit returns it
}

// NewContainer starts a new container.
func (db *DB) NewContainer() (*ContainerWriter, error) {
	done, err := db.enterWrite()
	if err != nil {
		return nil, err
	}
	defer done()
	id, err := db.ids.alloc()
	if err != nil {
		return nil, fmt.Errorf("store: new container: %w", err)
	}
	tmp := db.tmpPath(id)
	f, err := db.fs.Create(tmp, vfs.WriteCategoryUnspecified)
	if err != nil {
		return nil, fmt.Errorf("store: new container: %w", err)
	}
	return &ContainerWriter{db: db, id: id, tmp: tmp, f: f}, nil
}

// WriteAt writes p at off, as io.WriterAt.
func (w *ContainerWriter) WriteAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("store: negative offset %d", off)
	}
	w.mu.Lock()
	f, err := w.writable(off + int64(len(p)))
	w.mu.Unlock()
	if err != nil {
		return 0, err
	}
	n, err := f.WriteAt(p, off)
	w.mu.Lock()
	defer w.mu.Unlock()
	if err == nil && n < len(p) {
		err = fmt.Errorf("short write (%d of %d bytes)", n, len(p))
	}
	if err != nil {
		err = fmt.Errorf("store: write container %s: %w", w.id, err)
		if w.err == nil {
			w.err = err
		}
		return n, err
	}
	w.extent = max(w.extent, off+int64(n))
	return n, nil
}

// writable checks that bytes up to end may still be written; w.mu held.
func (w *ContainerWriter) writable(end int64) (vfs.File, error) {
	switch {
	case w.state != writerOpen:
		return nil, fmt.Errorf("store: container writer used after Commit or Abort: %w", ErrClosed)
	case w.err != nil:
		return nil, w.err
	case w.finished && end > w.size:
		return nil, fmt.Errorf("store: write past the logical size %d given to Finish", w.size)
	}
	return w.f, nil
}

// Write appends p at the writer's position (which starts at 0 and is moved
// only by Write), as io.Writer.
func (w *ContainerWriter) Write(p []byte) (int, error) {
	n, err := w.WriteAt(p, w.off)
	w.off += int64(n)
	return n, err
}

// Finish records the container's logical size; it must not be less than
// the end of any byte written. Bytes between the last written byte and size
// are a hole. Without Finish, Commit uses the end of the furthest write.
func (w *ContainerWriter) Finish(size int64) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, err := w.writable(0); err != nil {
		return err
	}
	if size < w.extent {
		return fmt.Errorf("store: logical size %d is less than the %d bytes written", size, w.extent)
	}
	w.size, w.finished = size, true
	return nil
}

// Commit makes the container durable and returns its id: the file is
// synced, renamed into place and its directory synced (shared with
// concurrent commits). On error the container is discarded. Commit or Abort
// must be called exactly once; Abort after Commit is a no-op.
func (w *ContainerWriter) Commit() (ContainerID, error) {
	w.mu.Lock()
	if w.state != writerOpen {
		w.mu.Unlock()
		return 0, fmt.Errorf("store: container committed after Commit or Abort: %w", ErrClosed)
	}
	w.state = writerCommitting
	size, werr := w.extent, w.err
	if w.finished {
		size = w.size
	}
	w.mu.Unlock()
	if werr != nil {
		w.discard(false)
		return 0, werr
	}
	done, err := w.db.enterWrite()
	if err != nil {
		w.discard(false)
		return 0, err
	}
	defer done()
	renamed, err := w.commit(size)
	if err != nil {
		w.discard(renamed)
		return 0, fmt.Errorf("store: commit container %s: %w", w.id, err)
	}
	w.mu.Lock()
	w.state = writerDone
	w.mu.Unlock()
	return w.id, nil
}

func (w *ContainerWriter) commit(size int64) (renamed bool, err error) {
	db := w.db
	if size > w.extent {
		if err := extend(w.f, size); err != nil {
			return false, err
		}
	}
	if !db.noSync {
		if err := w.f.Sync(); err != nil {
			return false, fmt.Errorf("sync: %w", err)
		}
	}
	err = w.f.Close()
	w.f = nil
	if err != nil {
		return false, fmt.Errorf("close: %w", err)
	}
	if err := db.fs.Rename(w.tmp, db.containerPath(w.id)); err != nil {
		return false, err
	}
	if db.noSync {
		return true, nil
	}
	if err := db.dirs.sync(db.fanoutDir(w.id)); err != nil {
		db.fail(err)
		return true, err
	}
	return true, nil
}

// extend sets the length of a real file to size, leaving a hole. Files
// without a descriptor (in-memory ones) stay short; readers zero-fill.
func extend(f vfs.File, size int64) error {
	fd := f.Fd()
	if fd == vfs.InvalidFd {
		return nil
	}
	if err := unix.Ftruncate(int(fd), size); err != nil {
		return fmt.Errorf("extend to %d bytes: %w", size, err)
	}
	return nil
}

// Abort discards the container. It is idempotent and a no-op after a
// successful Commit, so `defer w.Abort()` is safe.
func (w *ContainerWriter) Abort() {
	w.mu.Lock()
	if w.state != writerOpen {
		w.mu.Unlock()
		return
	}
	w.state = writerCommitting
	w.mu.Unlock()
	w.discard(false)
}

// discard closes and removes the file; a failure leaves an orphan for
// CleanOrphans, which is only logged.
func (w *ContainerWriter) discard(renamed bool) {
	var err error
	if w.f != nil {
		err = w.f.Close()
		w.f = nil
	}
	path := w.tmp
	if renamed {
		path = w.db.containerPath(w.id)
	}
	if rerr := w.db.fs.Remove(path); rerr != nil && !isNotExist(rerr) {
		err = errors.Join(err, rerr)
	}
	if err != nil {
		w.db.log.Warn("discarding container left an orphan", "container", w.id.String(), "err", err)
	}
	w.mu.Lock()
	w.state = writerDone
	w.mu.Unlock()
}
