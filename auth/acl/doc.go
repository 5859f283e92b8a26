// Package acl models Coda directory access control lists.
//
// Rights are a bitmask of the seven Coda rights, written "rlidwka":
// r Read files, l Lookup (list, stat), i Insert, d Delete (and rename
// out), w Write files and chmod, k lock, a Administer the ACL.
// ParseRights accepts what `cfs sa` accepts: a string of those letters,
// or the words all (rlidwka), read (rl), write (rlidwk) and none.
//
// An ACL holds positive and negative entries keyed by principal id:
// users have positive ids, groups negative ids (as in Coda's pdb). The
// effective rights of a caller are the union of the positive rights of
// every id it holds (its own id and its transitive groups; AnyUser is
// always counted) minus the union of the negative rights of those ids.
//
// Well-known ids: AnyUser (System:AnyUser, -101) and Administrators
// (System:Administrators, -204) as in Coda's pdb; AdminUser (1) is the
// "admin" user that `coda server init` creates. DefaultRoot is the ACL
// of a new volume's root: Administrators rlidwka, AnyUser rl.
//
// Encodings: Encode/Decode give the bounded, versioned binary form stored
// in a directory's vnode (version u8 = 1 | npos u16 | nneg u16 | entries
// of id i32 + rights u8, big-endian, ids strictly increasing, rights
// non-empty); Decode accepts only that canonical form. Text/ParseText
// give the `cfs la` form: "NAME RIGHTS" lines, then a "Negative rights:"
// line and the negative entries, names resolved through a Resolver.
//
// Locking: none; ACL is a value type — copy with Clone before sharing
// mutably. Persistence: none here. Errors: ErrMalformed wraps every
// decoding and parsing failure; messages name the offending line or
// field, never more than one line.
package acl
