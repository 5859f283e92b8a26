package store

import "errors"

var (
	// ErrNotFound: the key or container does not exist.
	ErrNotFound = errors.New("not found")
	// ErrClosed: the store, batch or container was already closed.
	ErrClosed = errors.New("store is closed")
	// ErrLocked: another process (or another Open in this process) holds
	// the store's lock.
	ErrLocked = errors.New("store is locked")
	// ErrFailed: a sync failed earlier; the store refuses further writes
	// until it is closed and reopened.
	ErrFailed = errors.New("store has failed")
)
