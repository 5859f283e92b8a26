// Package volume keeps the volume replicas of one server on top of package
// store: vnodes (files, directories, symlinks), directory entries, back
// references, version vectors, directory ACLs, and the permission rules of
// every operation.
//
// Keyspace: see keys.go. A directory entry is one key (directory, name), so
// lookups are point gets and a readdir is a range scan whatever the size.
// A vnode record holds, besides the status, the directory holding its
// name(s) (Parent: ".." of a directory, the directory of a file or
// symlink — hard links stay within one directory, so it is unique, and a
// rename across directories updates it) and, for a directory, its ACL
// (acl.Encode bytes).
//
// # Identity and permissions
//
// Every operation acts for a Cred: a Coda user id (0 = anonymous), its CPS
// (the id, its groups transitively, System:AnyUser) and whether it is an
// admin. The file server builds it from the connection's token or admin
// key; this package trusts it.
//
// An operation needs a right on the governing ACL — a directory's own, a
// file's or symlink's parent directory's — and the POSIX mode bits. The
// rights are acl.Effective over the CPS: positive rights of every id,
// minus negative rights of any. Mode bits are judged against the Coda
// identity: the owner bits when the caller's id is the owner, the group
// bits when GIDGroup(gid) is in its CPS, the other bits otherwise; an
// anonymous caller is always "other" (it owns nothing, even what it
// created, which belongs to proto.AnonymousUID). An admin bypasses mode
// bits (execute on a non-directory still needs some x bit) but not ACL
// rights, except to change ACLs, owners and groups.
//
//	GetAttr, Validate  l (a directory: also l on its parent's ACL; the
//	                   volume root: its own ACL only)
//	Lookup, ReadDir    l on the directory, and its x / r mode bit
//	Readlink, GetACL   l
//	Fetch (OpenData)   r and mode r, or the owner with w or i
//	Store, truncate    w and mode w, or the owner with i (a drop box:
//	                   users fill the files they created there)
//	Create, Mkdir,     i on the directory, and its w and x mode bits
//	Symlink, Link
//	Remove, Rmdir      d on the directory, its w and x mode bits, the
//	                   sticky rule (EPERM)
//	Rename             d on the source directory, i on the target, also
//	                   d there when a name is replaced; w and x mode bits
//	                   of both; the sticky rule
//	chmod              w, and the owner or an admin (else EPERM)
//	chown              admins only (EPERM)
//	chgrp              an admin, or the owner giving a group of its CPS
//	                   (else EPERM) with w
//	utimes             w and (the owner, an admin or mode w; else EPERM),
//	                   or the owner with i
//	SetACL             a, ownership of the directory, or an admin
//
// k grants nothing here (locks are venus's). Refusals are proto.ErrAccess
// (EACCES) unless marked EPERM. Every Attr returned to a caller carries
// Rights, its effective rights on the governing ACL, and AnyRights,
// System:AnyUser's there; venus caches them per user until the object's
// callback breaks. A file's rights come from its directory's ACL, so a
// SetACL, which breaks only the directory's callback, changes the rights
// of its files too.
//
// A new volume's root has owner admin, group System:Administrators, mode
// 0755 and the ACL acl.DefaultRoot. A new directory inherits a copy of its
// parent's ACL. A new object is owned by the caller (proto.AnonymousUID
// when anonymous); its group is the one the request names if the caller
// is an admin or a member, else the directory's (always the directory's
// under a setgid directory).
//
// # Locking, persistence, errors
//
// Locking: each Volume has a mutex held while a mutation reads the records
// it needs, checks permissions, builds its batch and applies it in memory
// (store.DB.Apply); the durable sync happens after the mutex is released,
// so concurrent updates share one fsync (group commit) while each is
// acknowledged only after its own batch is durable. Reads use the store
// directly (or a snapshot for multi-key reads) without the mutex.
//
// Persistence: file data lives in immutable containers. A store first makes
// the new container durable (the caller's job), then swaps the reference in
// one batch; the old container is removed only after that batch is durable.
// A crash leaves at worst an unreferenced container, which the server
// removes at start-up (Set.Containers lists the referenced ones).
//
// Errors: every error a client may see is a *proto.Error (proto.ErrNotFound,
// proto.ErrExists, proto.ErrAccess, …); others are internal failures.
//
// Every mutation returns a *Change naming the objects whose callbacks must
// be broken (directory and objects, with their new version vectors bumped
// in this replica's slot and stamped with the request's StoreID); a retry
// of an applied request (same StoreID) changes nothing and reports
// Change.Duplicate.
package volume
