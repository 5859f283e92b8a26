package store

import (
	"errors"
	"fmt"
	"io"

	"github.com/cockroachdb/pebble/v2"
)

// Reader is what *DB, *Snapshot and an indexed *Batch have in common, so
// code can read through any of them.
type Reader interface {
	// Get returns a copy of key's value, or an error wrapping ErrNotFound.
	Get(key []byte) ([]byte, error)
	// NewIter iterates over keys in [lower, upper); nil bounds are open.
	NewIter(lower, upper []byte) (*Iter, error)
}

var (
	_ Reader = (*DB)(nil)
	_ Reader = (*Snapshot)(nil)
	_ Reader = (*Batch)(nil)
)

// Get returns a copy of key's committed value, or an error wrapping
// ErrNotFound.
func (db *DB) Get(key []byte) ([]byte, error) {
	done, err := db.enter()
	if err != nil {
		return nil, err
	}
	defer done()
	return getCopy(db.pdb.Get(key))
}

func getCopy(v []byte, closer io.Closer, err error) ([]byte, error) {
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: get: %w", err)
	}
	out := append([]byte(nil), v...)
	return out, closer.Close()
}

// NewIter iterates over committed keys in [lower, upper); nil bounds are
// open. The Iter must be closed before the DB.
func (db *DB) NewIter(lower, upper []byte) (*Iter, error) {
	done, err := db.enter()
	if err != nil {
		return nil, err
	}
	defer done()
	return newIter(db.pdb.NewIter(iterOptions(lower, upper)))
}

// Batch collects writes that DB.Commit applies atomically. The batch copies
// keys and values, so callers may reuse their slices. A Batch is used by
// one goroutine at a time.
type Batch struct {
	db      *DB
	b       *pebble.Batch
	indexed bool
	err     error
}

// NewBatch returns an empty write-only batch.
func (db *DB) NewBatch() *Batch {
	return &Batch{db: db, b: db.pdb.NewBatch()}
}

// NewIndexedBatch returns an empty batch that can also be read: its Get and
// NewIter see the committed state with the batch's own writes applied on
// top (read-your-writes).
func (db *DB) NewIndexedBatch() *Batch {
	return &Batch{db: db, b: db.pdb.NewIndexedBatch(), indexed: true}
}

// Set sets key to value.
func (b *Batch) Set(key, value []byte) {
	if b.usable() {
		b.err = b.b.Set(key, value, nil)
	}
}

// Delete removes key.
func (b *Batch) Delete(key []byte) {
	if b.usable() {
		b.err = b.b.Delete(key, nil)
	}
}

// DeleteRange removes every key in [start, end).
func (b *Batch) DeleteRange(start, end []byte) {
	if b.usable() {
		b.err = b.b.DeleteRange(start, end, nil)
	}
}

func (b *Batch) usable() bool {
	if b.err != nil {
		return false
	}
	if b.b == nil {
		b.err = fmt.Errorf("store: batch used after Commit or Close: %w", ErrClosed)
		return false
	}
	return true
}

// Empty reports whether the batch holds no writes.
func (b *Batch) Empty() bool { return b.b == nil || b.b.Empty() }

// Len is the batch's encoded size in bytes.
func (b *Batch) Len() int {
	if b.b == nil {
		return 0
	}
	return b.b.Len()
}

// Get reads through an indexed batch (see NewIndexedBatch).
func (b *Batch) Get(key []byte) ([]byte, error) {
	if err := b.readable(); err != nil {
		return nil, err
	}
	return getCopy(b.b.Get(key))
}

// NewIter iterates through an indexed batch (see NewIndexedBatch). The Iter
// must be closed before the batch is committed or closed.
func (b *Batch) NewIter(lower, upper []byte) (*Iter, error) {
	if err := b.readable(); err != nil {
		return nil, err
	}
	return newIter(b.b.NewIter(iterOptions(lower, upper)))
}

func (b *Batch) readable() error {
	if b.b == nil {
		return fmt.Errorf("store: batch used after Commit or Close: %w", ErrClosed)
	}
	if !b.indexed {
		return errors.New("store: reading a batch that is not indexed")
	}
	return nil
}

// Close releases an uncommitted batch, discarding its writes. It is a
// no-op after Commit, so `defer b.Close()` is always safe.
func (b *Batch) Close() {
	if b.b != nil {
		_ = b.b.Close()
		b.b = nil
	}
}

// Commit applies b atomically. Unless Options.NoSync, it returns only after
// the write-ahead log is synced; concurrent commits share syncs. The batch
// is released whether or not Commit succeeds. If the sync fails the store
// enters the failed state (see the package documentation).
func (db *DB) Commit(b *Batch) (err error) {
	defer b.Close()
	if b.db != db {
		return errors.New("store: batch belongs to another store")
	}
	if b.err != nil {
		return b.err
	}
	if b.b == nil {
		return fmt.Errorf("store: batch committed twice: %w", ErrClosed)
	}
	done, err := db.enterWrite()
	if err != nil {
		return err
	}
	defer done()
	if err := db.apply(b.b); err != nil {
		db.fail(err)
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}

func (db *DB) apply(b *pebble.Batch) (err error) {
	defer recoverFatal(&err)
	return db.pdb.Apply(b, db.wopts)
}

// Snapshot is a consistent read-only view of the committed state at the
// moment it was taken. Close it before closing the DB.
type Snapshot struct {
	s *pebble.Snapshot
}

// NewSnapshot takes a snapshot of the committed state.
func (db *DB) NewSnapshot() (*Snapshot, error) {
	done, err := db.enter()
	if err != nil {
		return nil, err
	}
	defer done()
	return &Snapshot{s: db.pdb.NewSnapshot()}, nil
}

// Get returns a copy of key's value in the snapshot.
func (s *Snapshot) Get(key []byte) ([]byte, error) {
	if s.s == nil {
		return nil, ErrClosed
	}
	return getCopy(s.s.Get(key))
}

// NewIter iterates over the snapshot's keys in [lower, upper).
func (s *Snapshot) NewIter(lower, upper []byte) (*Iter, error) {
	if s.s == nil {
		return nil, ErrClosed
	}
	return newIter(s.s.NewIter(iterOptions(lower, upper)))
}

// Close releases the snapshot; it is idempotent.
func (s *Snapshot) Close() error {
	if s.s == nil {
		return nil
	}
	err := s.s.Close()
	s.s = nil
	return err
}
