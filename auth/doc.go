// Package auth holds the user-facing authentication commands: clog,
// ctokens and cunlog (tokens held by venus for the calling local uid),
// cpasswd (a user changes its password on the SCM), and the
// administrators' au (passwords) and pdbtool (users and groups).
//
// The libraries live in subpackages: acl (rights and ACLs), pdb (the
// protection database model), password (argon2id hashes and the login
// throttle), token (sealed tokens) and authserver (the auth service that
// runs inside coda server).
//
// clog asks the venus serving the mount (client/control) for the realm,
// its servers and the pinned realm CA, logs in to a server over TLS and
// hands the token back to venus, which binds it to the caller's local uid
// (or, for root with -as, to another uid: SO_PEERCRED tells venus who
// asks). Passwords are read from the terminal with echo off, or from stdin
// when it is not a terminal or -pipe is given; they never appear in an
// error, a log or argv. Token files (-tofile) are written 0600 through a
// temporary file and a rename.
//
// au and pdbtool talk to the SCM as an administrator: with the realm's
// admin key when its file is readable (as volutil does), else with the
// caller's own token, fetched from venus (clog admin first).
package auth
