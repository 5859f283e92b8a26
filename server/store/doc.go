// Package store is coda's storage layer: a Pebble key-value store for
// metadata plus immutable container files for file contents, both kept in one
// directory and reached through one pebble vfs.FS (so crash tests can run on
// vfs.NewCrashableMem and fault tests on errorfs). It is the only package of
// coda that imports pebble; the server's volume layer and venus's persistent
// cache build on it.
//
// # Layout
//
//	DIR/LOCK                  lock file held while the store is open
//	DIR/meta/                 the Pebble database
//	DIR/containers/idmark     container-id high-water mark
//	DIR/containers/tmp/       containers being written (ID.tmp)
//	DIR/containers/XX/ID      committed containers; XX is the low byte of the
//	                          id in hex, ID the id as 16 hex digits
//
// # Locking
//
// Open takes an exclusive lock on DIR/LOCK: a second Open of the same
// directory, from this process or another, fails with an error wrapping
// ErrLocked ("store DIR is in use by another process"). The lock is released
// by Close.
//
// A *DB is safe for concurrent use by any number of goroutines. A *Batch,
// *Iter, *Snapshot, *ContainerWriter and *Container belong to one goroutine
// at a time (ContainerWriter.WriteAt and Container.ReadAt may run in
// parallel on disjoint ranges, as io.WriterAt and io.ReaderAt allow). Close
// waits for operations in flight; every Iter and Snapshot must be closed
// before Close.
//
// # Durability
//
// DB.Commit applies a batch atomically and returns only after the Pebble
// write-ahead log is synced (pebble.Sync). Concurrent commits share syncs:
// Pebble's commit pipeline syncs the log once for every batch queued behind
// the sync in progress. DB.Apply splits a commit in two: the batch is
// applied (visible to readers, in order) at once, and the returned wait
// function blocks until it is synced; callers apply under their own lock and
// wait outside it, and acknowledge nothing before wait returns nil. The log
// is written in apply order, so a batch is never durable without the
// batches applied before it. Get/NewIter/Snapshot read applied state: with
// Commit as with Apply, other readers may see a batch a moment before its
// sync completes; only the committer is promised durability.
//
// ContainerWriter.Commit syncs the container file, renames it from tmp/ into
// place and syncs the destination directory before it returns. Concurrent
// Commit calls share directory syncs (group commit: one goroutine syncs the
// directories of every rename done since the last sync while the others
// wait for it).
//
// Options.NoSync skips every sync; it exists for tests that do not crash and
// must never be used for real data.
//
// # Crash ordering (the caller's contract)
//
// To replace a file's contents so that an acknowledged update survives a
// crash or power loss at any point:
//
//  1. write the new container (NewContainer, WriteAt, Finish);
//  2. ContainerWriter.Commit — file and directory are synced, the id is
//     durable;
//  3. commit the metadata batch that references the new id with DB.Commit
//     (synced);
//  4. acknowledge the update to the client;
//  5. only then RemoveContainer(old id).
//
// A crash between 2 and 3 leaves an unreferenced container; a crash after 5
// may bring the removed container back (removal is not synced). Both are
// orphans: call CleanOrphans at start-up, with a function that says which ids
// the committed metadata references, and they are removed together with any
// leftover tmp files.
//
// Container ids are never reused, even across crashes: they come from a
// counter whose high-water mark is persisted (synced) in blocks before any id
// of a block is handed out. Ids are unique but not in increasing order
// (consecutive ids share a fan-out directory so that concurrent commits
// share its sync). Id 0 means "no container": it reads as an empty file,
// and callers use it for files that have no data.
//
// # Sparse files and logical sizes
//
// A file's logical size lives in the caller's metadata. A container may be
// shorter than that: bytes past its stored length read as zeros
// (Container.ReadAtLogical, Container.NewReader). ContainerWriter.Finish
// records the logical size; on real file systems the file is extended to it
// with ftruncate, which allocates no blocks, so Container.Fd can be used with
// SEEK_DATA/SEEK_HOLE, mmap or FUSE passthrough.
//
// # Errors
//
// Missing keys and containers give errors for which errors.Is(err,
// ErrNotFound) holds; operations on a closed store give ErrClosed. Every
// other error is an I/O or Pebble error wrapped with %w and the path or
// operation concerned. No commit ever reports success unless its data is
// synced. If a sync of the write-ahead log or of a container directory fails,
// the store cannot know what reached the disk: it enters a failed state in
// which every later write returns an error wrapping ErrFailed; the process
// should close and reopen the store (recovery then sees exactly what is
// durable). A failed write or sync of one container's file fails only that
// container's Commit.
//
// Logging goes to Options.Logger (nil discards); Pebble's informational
// messages are logged there at debug level, its errors at error level. A fatal Pebble error in a background
// goroutine (a failed MANIFEST sync, for example) panics, as Pebble itself
// would exit: a storage daemon must not run on after losing durability.
package store
