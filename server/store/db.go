package store

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/sstable"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// memTableSize is Pebble's memtable size (its default is 4 MiB).
const memTableSize = 32 << 20

// Options configure Open.
type Options struct {
	// FS is the file system everything goes through; nil means vfs.Default.
	FS vfs.FS
	// Dir is the store's directory; it is created if missing.
	Dir string
	// Logger receives the store's and Pebble's messages; nil discards them.
	Logger *slog.Logger
	// NoSync skips every fsync. For tests that never crash; never for data.
	NoSync bool
	// CacheSize is the bytes of Pebble's block cache; 0 means 8 MiB. The
	// server uses more so that a batched validate of 100,000 objects reads
	// from memory.
	CacheSize int64
	// MinSyncInterval spaces the log's syncs at least this far apart:
	// a commit is written to the operating system at once (a crash of the
	// process loses nothing applied) but synced with the commits of the
	// interval. Venus's cache uses it; 0 syncs as soon as asked.
	MinSyncInterval time.Duration
}

// DB is an open store. See the package documentation for its contracts.
type DB struct {
	fs     vfs.FS
	dir    string
	log    *slog.Logger
	noSync bool
	wopts  *pebble.WriteOptions

	cacheSize       int64
	minSyncInterval time.Duration

	lock io.Closer
	pdb  *pebble.DB
	ids  *idAllocator
	dirs *dirSyncer

	// sessionStart is the first container sequence number of this Open;
	// CleanOrphans leaves containers from it on alone.
	sessionStart uint64

	// closeMu: every operation holds it shared; Close holds it exclusively.
	closeMu sync.RWMutex
	closed  bool
	failed  atomic.Pointer[error]
}

// Open opens the store in opts.Dir, creating it if needed.
func Open(opts Options) (*DB, error) {
	if opts.Dir == "" {
		return nil, errors.New("store: Options.Dir is empty")
	}
	db := &DB{
		cacheSize: opts.CacheSize, minSyncInterval: opts.MinSyncInterval,
		fs:     opts.FS,
		dir:    filepath.Clean(opts.Dir),
		log:    opts.Logger,
		noSync: opts.NoSync,
		wopts:  pebble.Sync,
	}
	if db.fs == nil {
		db.fs = vfs.Default
	}
	if db.log == nil {
		db.log = slog.New(slog.DiscardHandler)
	}
	if db.noSync {
		db.wopts = pebble.NoSync
	}
	if err := db.open(); err != nil {
		db.closeAll()
		return nil, err
	}
	return db, nil
}

func (db *DB) open() error {
	if err := mkdirSynced(db.fs, db.dir, db.noSync); err != nil {
		return fmt.Errorf("store %s: create: %w", db.dir, err)
	}
	if err := db.takeLock(); err != nil {
		return err
	}
	popts := &pebble.Options{
		FS:                 db.fs,
		Logger:             pebbleLogger{db.log},
		FormatMajorVersion: pebble.FormatNewest,
		// Metadata updates are small and rewrite the same keys (a vnode's
		// status, a directory's entries): a larger memtable absorbs bursts
		// (a disconnected client unpacking a tree, a resync) without a
		// flush and compaction every few thousand operations.
		MemTableSize: memTableSize,
	}
	// zstd below the first levels: metadata compresses well (names,
	// version vectors), and a clone's cost is its metadata.
	for i := 2; i < len(popts.Levels); i++ {
		popts.Levels[i].Compression = func() *sstable.CompressionProfile { return sstable.BalancedCompression }
	}
	if d := db.minSyncInterval; d > 0 {
		popts.WALMinSyncInterval = func() time.Duration { return d }
	}
	if db.cacheSize > 0 {
		cache := pebble.NewCache(db.cacheSize)
		defer cache.Unref()
		popts.Cache = cache
	}
	pdb, err := pebble.Open(db.fs.PathJoin(db.dir, "meta"), popts)
	if err != nil {
		return fmt.Errorf("store %s: open metadata: %w", db.dir, err)
	}
	db.pdb = pdb
	if err := db.initContainers(); err != nil {
		return fmt.Errorf("store %s: %w", db.dir, err)
	}
	return nil
}

func (db *DB) takeLock() error {
	l, err := db.fs.Lock(db.fs.PathJoin(db.dir, "LOCK"))
	if err == nil {
		db.lock = l
		return nil
	}
	switch {
	case errors.Is(err, syscall.EAGAIN), errors.Is(err, syscall.EACCES):
		return fmt.Errorf("store %s is in use by another process: %w", db.dir, ErrLocked)
	case strings.Contains(err.Error(), "held by current process"):
		return fmt.Errorf("store %s is already open in this process: %w", db.dir, ErrLocked)
	}
	return fmt.Errorf("store %s: lock: %w", db.dir, err)
}

// Close releases the store. It waits for operations in flight; later calls
// return ErrClosed. Every Iter and Snapshot must be closed first.
func (db *DB) Close() error {
	db.closeMu.Lock()
	defer db.closeMu.Unlock()
	if db.closed {
		return ErrClosed
	}
	db.closed = true
	return db.closeAll()
}

func (db *DB) closeAll() (err error) {
	if db.dirs != nil {
		err = errors.Join(err, db.dirs.close())
	}
	if db.pdb != nil {
		err = errors.Join(err, db.closePebble())
	}
	if db.lock != nil {
		err = errors.Join(err, db.lock.Close())
	}
	if err != nil {
		return fmt.Errorf("store %s: close: %w", db.dir, err)
	}
	return nil
}

// closePebble closes Pebble, turning a fatal Pebble error (after a failed
// sync) into an error.
func (db *DB) closePebble() (err error) {
	defer recoverFatal(&err)
	return db.pdb.Close()
}

// enter is called at the start of every operation; the caller must call
// the returned function when done.
func (db *DB) enter() (func(), error) {
	db.closeMu.RLock()
	if db.closed {
		db.closeMu.RUnlock()
		return nil, ErrClosed
	}
	return db.closeMu.RUnlock, nil
}

// enterWrite is enter for operations that change durable state: they are
// refused once the store has failed.
func (db *DB) enterWrite() (func(), error) {
	done, err := db.enter()
	if err != nil {
		return nil, err
	}
	if perr := db.failed.Load(); perr != nil {
		done()
		return nil, fmt.Errorf("%w: %w", ErrFailed, *perr)
	}
	return done, nil
}

// fail puts the store in the failed state (first error wins).
func (db *DB) fail(err error) {
	if db.failed.CompareAndSwap(nil, &err) {
		db.log.Error("store failed; close and reopen it", "dir", db.dir, "err", err)
	}
}

// Dir returns the store's directory.
func (db *DB) Dir() string { return db.dir }
