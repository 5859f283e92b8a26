// Package venus is coda's cache manager core: it keeps whole files, directories
// and attributes of a realm's volumes in a local cache, talks to the file
// servers, and answers the file-system operations of the FUSE adapter
// (client/fusefs) in terms of inode numbers. It imports no FUSE library; the
// adapter translates kernel requests into calls of this API and implements
// the Invalidator through which venus drops kernel caches.
//
// # Model
//
// Every object (file, directory, symlink) is named by a proto.FID and shown
// to the kernel under a stable inode number that is persisted, so a path
// never changes inode across restarts. Whole-file caching: Open fetches the
// whole file into a container file (CACHE/containers/NAME, written under a
// temporary name, fsynced, then renamed) and returns a Handle whose File is
// that container; reads and writes go to it (through FUSE passthrough when
// the kernel offers it). Flush of a writable handle stores the whole file
// back when the container changed since it was last clean (size, mtime or
// ctime, in ns), and Release stores again if it changed since (mmap). All
// concurrent opens of one file share one container; a callback break while
// it is open leaves the open container alone, and the next open after the
// last release fetches the new version. Because the kernel sends RELEASE
// after close returns, an open of a file whose callback broke waits up to
// staleWait for pending releases before sharing the old container. A closed
// container that changed anyway (written through a mapping after close) is
// marked pending: never evicted, stored at the next close. A store that
// fails leaves the changes pending the same way.
//
// Eviction: least recently used closed, clean containers go when the
// allocated bytes of all containers exceed Options.CacheSize.
//
// Directories are cached whole (every ReadDir page) in a map keyed by name,
// so lookups in directories of any size are a map access; listing a
// directory also fetches, in batched Validates, the status of entries venus
// has none for, so ls -l or find cost one RPC per directory, not per name.
// Symlink targets are cached with their version.
//
// # Callbacks
//
// Every reply that carries an object's status also carries the server's
// promise to break it when the object changes. An object holding a promise
// is used without any RPC, and the kernel may cache its entry and
// attributes for EntryTimeout; objects without one get timeout 0 and are
// revalidated on use. Promises belong to one connection: when it dies all
// are dropped, the kernel's caches are invalidated, and the next use of a
// volume revalidates everything cached in it with one batched Validate. A
// break arriving between a request and its reply wins: the reply is applied
// without a promise (break sequence numbers, see breaklog.go).
//
// Breaks are answered only after venus's state and the kernel's caches are
// invalidated; kernel notifications run on their own goroutine (a FUSE
// handler blocked on the same inode would deadlock them) and the reply
// waits for them at most notifyWait.
//
// # Locking
//
// Venus.mu guards the object tables, directory caches, the break log, the
// LRU and the counters of cached bytes; it is never held across an RPC, a
// kernel notification or container I/O larger than a stat. object.io
// serialises the slow per-object work (fetch, store, first open, last
// release, directory fetch) and is taken before Venus.mu, never after.
//
// # Persistence
//
// Cache metadata lives in a server/store database in CACHE/db: the client
// id, the inode counter, FID→inode numbers, object records (status, version,
// container name and its stat) and directory entries keyed by (directory,
// name). Metadata is made durable by a background flush every 500ms and at
// Close; a lost record only costs a refetch. A record names a container only
// once the container's data is synced: containers written by fetch, store or
// create are synced by that flush (one syncfs when there are many) before
// their records are written, off the path of every file system call.
// Containers no record names are removed at start, and a record whose
// container's stat (size, mtime, ctime, inode) no longer matches loses it,
// so neither kill -9 nor a power cut leaves a record pointing at wrong data.
//
// # Counters
//
// Counters (Stats) count RPCs per op and the reads and writes venus served
// itself (zero with passthrough).
//
// # Errors
//
// Methods return errors that proto.ToErrno maps to the errno of the file
// system call, or a syscall.Errno for conditions the wire table does not
// name (EROFS, EBADF, ...). A server that cannot be reached gives
// proto.ErrTimeout quickly: dials are bounded and, after a failure, calls
// fail at once until the retry interval has passed.
package venus
