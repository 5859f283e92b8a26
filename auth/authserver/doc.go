// Package authserver is the auth service that runs inside `coda server`:
// password login (clog), token verification for the file server, the
// protection set of each user, password changes (cpasswd, au) and the
// pdbtool commands.
//
// # Model
//
// The realm's identities live in two realm databases kept in the
// server's store (package store), each under one key 'R' + name whose
// value is a big-endian u64 version followed by the payload:
//
//	Rpdb     the protection database: pdb export text (package pdb)
//	Rpasswd  password hashes: "coda-passwd 1", then "ID NAME HASH" lines,
//	         HASH an argon2id PHC string (package password)
//
// A password entry counts only while the pdb still gives ID that NAME,
// so an import that reuses an id never hands over a password. The SCM
// (the first server; Config.SCM) holds the writable copies; Init creates
// them at `coda server init` with admin, System:AnyUser,
// System:Administrators and admin's password. Other servers refuse every
// mutation with a message naming the SCM.
//
// Both are realm databases (server/realmdb); Service.Databases lists
// them for server/dbsync, which copies them from the SCM to the other
// servers like every other realm database.
//
// Login checks the password and seals a token (package token) with the
// realm secret; OpenToken verifies one and refuses tokens of users the
// pdb no longer has. CPS(uid) is the protection set the file server
// checks ACLs against: uid, its transitive groups and System:AnyUser,
// and whether System:Administrators is among them.
//
// # Throttling and cost
//
// password.Limiter counts failed logins per user and per remote host;
// after 5 failures within 60 s each further attempt (login or cpasswd)
// first waits 1 s. Unknown users are verified against a dummy hash, so
// they cost the time a real user does. At most max(2, NumCPU/2) argon2
// runs (64 MiB each) proceed at once; the rest wait their turn.
//
// # Locking
//
// The published state of each database is immutable and read through an
// atomic pointer: Login, OpenToken, CPS, Name and Lookup take no lock.
// Every mutation (and Install) holds one writer mutex for all databases,
// builds new values on private copies, writes them with one synced
// store commit and only then publishes them. The CPS cache belongs to
// one pdb version and is replaced when a newer version is published.
//
// # Persistence
//
// A mutation is acknowledged only after its commit is synced; a failed
// write publishes nothing, so memory and disk never disagree. Versions
// only grow. A change that touches both databases (deleting a user and
// its password, an import that drops stale passwords) is one commit.
//
// # Errors
//
// Every error a client may see is a *proto.Error with a one-line
// message: proto.ErrAuth for any failed login (unknown user, no password
// and wrong password are indistinguishable), CodeAccess for refused
// tokens ("token forged or damaged", "token not issued by realm R",
// "token of U expired at T") and for non-administrators,
// CodeNotSupported for mutations on a server that is not the SCM, and
// the pdb's errors mapped to CodeExists, CodeNotFound, CodePerm or
// CodeInvalid. No password, hash, token or key appears in an error or a
// log line; a failed login logs one warning naming user and address.
// Handlers zero password buffers after use.
package authserver
