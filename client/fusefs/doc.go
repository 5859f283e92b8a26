// Package fusefs is coda's FUSE adapter: it mounts a venus cache manager
// (client/venus) through go-fuse and translates kernel requests into calls
// of venus's core API. It is the only package of coda that imports go-fuse.
//
// # Mount
//
// Mount mounts directly (no fusermount), with allow_other and without
// default_permissions: venus checks permissions itself. Inode numbers are
// venus's stable ones and are used as FUSE node ids (ExternalNodeID), so
// kernel notifications address inodes by number.
//
// # Kernel caching
//
// Entry and attribute timeouts come from venus: long for objects holding a
// callback, zero otherwise. Venus invalidates kernel caches through the
// Invalidator this package implements (NotifyContent/NotifyEntry on the
// mount's inodes); venus runs those calls on a goroutine of its own, never
// inside a FUSE handler for the same inode (see go-fuse fs/api.go
// "Deadlocks").
//
// # Passthrough
//
// Every open of a regular file uses FUSE passthrough when the kernel
// offers it: reads, writes and mmap go straight to venus's container file.
// The kernel allows one backing file per inode at a time and refuses to mix
// passthrough and cached opens of one inode, so every open of a file gets
// passthrough, and all the opens of an inode that overlap share venus's one
// container. Backing files are registered and released here (backing.go),
// keyed by container, rather than by go-fuse per node, so that an open that
// follows the last release always gets the container venus chose. Without
// passthrough (older kernels, or a cache directory on a stacked file
// system), venus serves reads and writes from the container itself.
//
// # Locking
//
// Mount.mu guards the node registry and the backing table; it is never held
// while calling venus or the kernel.
//
// # Errors
//
// Venus errors become errnos: a *proto.Error in the chain gives its errno
// (an unreachable server is ETIMEDOUT), else a syscall.Errno passes as it
// is, else proto.ToErrno decides.
package fusefs
