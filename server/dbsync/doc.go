// Package dbsync keeps the realm databases of every server in step with
// the SCM's. The SCM (the first server) holds the writable copies: the
// protection database, the password hashes, and whatever database a later
// part of the server adds. Every other server holds a read-only copy that
// it pulls from the SCM about once a second, so that a change reaches it
// within seconds, and keeps serving from it while the SCM is down.
//
// A database takes part by implementing DB: a name, a version that only
// grows, a snapshot of its whole content, and Install of a newer
// snapshot. Serve answers proto.OpDBFetch on the SCM with every database
// newer than the asker's; a Follower on each other server asks and
// installs. Only connections that proved the realm's admin key may fetch:
// the copies hold password hashes.
package dbsync
