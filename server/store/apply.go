package store

import (
	"errors"
	"fmt"
	"sync"

	"github.com/cockroachdb/pebble/v2"
)

// Apply makes b visible to readers at once, in commit order, without
// waiting for the log sync, and returns a wait function that blocks until
// b is durable (or returns the sync error). The batch is consumed. Callers
// build and apply batches under their own lock and call wait after
// releasing it, so that concurrent updates share one log sync (group
// commit) while each acknowledges only after its own batch is durable.
// Because the log is written in apply order, a later batch that read an
// earlier one's effects is never durable without it.
//
// wait must be called (Close waits for it); calling it again returns the
// same result. Nothing may be acknowledged before wait returns nil.
func (db *DB) Apply(b *Batch) (wait func() error, err error) {
	if b.db != db {
		b.Close()
		return nil, errors.New("store: batch belongs to another store")
	}
	if b.err != nil {
		b.Close()
		return nil, b.err
	}
	if b.b == nil {
		return nil, fmt.Errorf("store: batch committed twice: %w", ErrClosed)
	}
	done, err := db.enterWrite()
	if err != nil {
		b.Close()
		return nil, err
	}
	pb := b.b
	b.b = nil
	if db.noSync {
		defer done()
		defer pb.Close()
		if err := db.apply(pb); err != nil {
			db.fail(err)
			return nil, fmt.Errorf("store: commit: %w", err)
		}
		return func() error { return nil }, nil
	}
	if err := db.applyNoSyncWait(pb); err != nil {
		done()
		db.fail(err)
		return nil, fmt.Errorf("store: commit: %w", err)
	}
	var once sync.Once
	var werr error
	return func() error {
		once.Do(func() {
			defer done()
			err := pb.SyncWait()
			pb.Close()
			if err != nil {
				db.fail(err)
				werr = fmt.Errorf("store: commit: %w", err)
			}
		})
		return werr
	}, nil
}

// applyNoSyncWait applies pb without waiting for its sync, turning a fatal
// Pebble error into an error. A batch that failed here is not closed: Pebble
// may still hold it.
func (db *DB) applyNoSyncWait(pb *pebble.Batch) (err error) {
	defer recoverFatal(&err)
	return db.pdb.ApplyNoSyncWait(pb, db.wopts)
}
