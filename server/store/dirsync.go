package store

import (
	"errors"
	"fmt"
	"sync"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// dirSyncer makes renames into container directories durable with group
// commit: a caller registers the directory it renamed into and waits; one
// caller at a time becomes the leader of a round, syncs every directory
// registered since the previous round started, and wakes the others. Callers
// that arrive while a round runs join the next round, so N concurrent
// commits cost about two rounds of directory syncs, not N.
//
// Once a round fails, every later call fails with the same error: after a
// failed fsync nobody knows what reached the disk.
type dirSyncer struct {
	fs vfs.FS

	mu      sync.Mutex
	cond    sync.Cond
	pending map[string]struct{} // registered for round `next`
	next    uint64              // round that new registrations join
	done    uint64              // last round completed
	running bool
	waiting int    // callers inside sync (for tests)
	failed  uint64 // first round that failed, 0 if none
	err     error

	// handles are open directory files, used only by the leader and Close.
	handles map[string]vfs.File
}

func newDirSyncer(fsys vfs.FS) *dirSyncer {
	s := &dirSyncer{
		fs:      fsys,
		pending: make(map[string]struct{}),
		next:    1,
		handles: make(map[string]vfs.File),
	}
	s.cond.L = &s.mu
	return s
}

// sync returns once dir has been synced by a round that started after the
// call (so after the caller's rename).
func (s *dirSyncer) sync(dir string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	s.pending[dir] = struct{}{}
	mine := s.next
	s.waiting++
	defer func() { s.waiting-- }()
	for s.done < mine {
		if s.running {
			s.cond.Wait()
			continue
		}
		s.lead()
	}
	if s.failed != 0 && mine >= s.failed {
		return s.err
	}
	return nil
}

// lead runs one round; s.mu is held on entry and on return.
func (s *dirSyncer) lead() {
	dirs := s.pending
	s.pending = make(map[string]struct{})
	round := s.next
	s.next++
	s.running = true
	s.mu.Unlock()
	err := s.syncAll(dirs)
	s.mu.Lock()
	s.running = false
	s.done = round
	if err != nil && s.err == nil {
		s.err = err
		s.failed = round
	}
	s.cond.Broadcast()
}

func (s *dirSyncer) syncAll(dirs map[string]struct{}) error {
	for dir := range dirs {
		f, ok := s.handles[dir]
		if !ok {
			var err error
			if f, err = s.fs.OpenDir(dir); err != nil {
				return fmt.Errorf("open directory %s: %w", dir, err)
			}
			s.handles[dir] = f
		}
		if err := f.Sync(); err != nil {
			return fmt.Errorf("sync directory %s: %w", dir, err)
		}
	}
	return nil
}

// close releases the directory handles; no sync may be in flight.
func (s *dirSyncer) close() error {
	var err error
	for dir, f := range s.handles {
		err = errors.Join(err, f.Close())
		delete(s.handles, dir)
	}
	return err
}
