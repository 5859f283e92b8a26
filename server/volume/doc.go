// Package volume keeps the volume replicas of one server on top of package
// store: vnodes (files, directories, symlinks), directory entries, back
// references, version vectors, and the POSIX rules of every mutation.
//
// Keyspace: see keys.go. A directory entry is one key (directory, name), so
// lookups are point gets and a readdir is a range scan whatever the size.
//
// Locking: each Volume has a mutex held while a mutation reads the records
// it needs, builds its batch and applies it in memory (store.DB.Apply); the
// durable sync happens after the mutex is released, so concurrent updates
// share one fsync (group commit) while each is acknowledged only after its
// own batch is durable. Reads use the store directly (or a snapshot for
// multi-key reads) without the mutex.
//
// Persistence: file data lives in immutable containers. A store first makes
// the new container durable (the caller's job), then swaps the reference in
// one batch; the old container is removed only after that batch is durable.
// A crash leaves at worst an unreferenced container, which the server
// removes at start-up (Set.Containers lists the referenced ones).
//
// Errors: every error a client may see is a *proto.Error (proto.ErrNotFound,
// proto.ErrExists, …); others are internal failures.
//
// Every mutation returns a *Change naming the objects whose callbacks must
// be broken (directory and objects, with their new version vectors bumped
// in this replica's slot and stamped with the request's StoreID).
package volume
