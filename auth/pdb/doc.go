// Package pdb is the in-memory model of the protection database: Coda
// users and groups, nested group membership and the export/import text
// format that `coda pdbtool` drives. It does no storage and no I/O apart
// from Export and Import.
//
// Ids: users are positive, groups negative, 0 is never used. New users
// get the next id above the largest user id, new groups the next id below
// the smallest group id. The realm's well-known principals are those of
// package acl: admin (acl.AdminUser, 1), System:AnyUser (acl.AnyUser,
// -101) and System:Administrators (acl.Administrators, -204); NewRealm
// creates them, with admin a member of System:Administrators.
//
// Names: a user name is 1..64 bytes of letters, digits, '.', '_', '-'
// and '@', starting with a letter, digit or '_' and not all digits (so
// that ids and names never collide). A group name is OWNER:NAME, each
// part following the same rule, where OWNER is the owning user's name or
// "System".
// Names are unique across users and groups and case-sensitive.
//
// Membership: a group's members are users or groups. Adding a member
// that would make a group contain itself (directly or through nesting)
// is refused with ErrCycle. Groups(id) is the transitive closure of the
// groups id belongs to, and always includes System:AnyUser; it is
// computed with a visited set, so it terminates on any data.
//
// Locking: DB is safe for concurrent use (one RWMutex). Version counts
// mutations, so a replica can tell when it is behind.
//
// Errors: ErrExists, ErrNotFound, ErrBadName, ErrCycle, ErrInUse,
// ErrBuiltin, ErrMalformed (import/parse), each wrapped with a one-line
// message naming the user, group or line.
package pdb
