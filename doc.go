// Command coda is the Coda distributed file system rebuilt in Go as one
// static binary: file servers, the client cache manager (venus, a FUSE
// mount) and every admin tool. main.go dispatches on the name the binary
// was called by (a busybox symlink such as volutil or clog) or on
// `coda MODE`, builds the urfave/cli app from the constructors it lists,
// and decides exit codes in one place: 0 ok, 1 error (one line
// "coda: MSG" on stderr), 2 usage error.
//
// # Map of the tree
//
//	main.go              busybox dispatch, the list of modes, exit codes
//	server/proto         wire types, codec, framing, the one error table
//	server/rpc           TLS 1.3 connections: multiplexing, deadlines,
//	                     callbacks pushed to clients, BUSY keepalives, probes
//	server/store         Pebble metadata + container files (the only
//	                     importer of pebble on the server side)
//	server/pki           realm CA, server certificates, TLS configs, trust on
//	                     first use, admin key, secret files
//	server/volume        volumes and vnodes on top of store
//	server/fileserver    the file service: one handler per RPC, callbacks
//	server/realmdb       versioned whole-value realm databases (users, groups,
//	                     passwords, servers, volume locations)
//	server/dbsync        the SCM serves the realm databases, other servers copy
//	server/location      where things live: the realm's servers (and volumes)
//	server/adminclient   what volutil and createvol_rep use to talk to a server
//	server/logging       the slog logger of daemons and tools
//	server/readyfile     readiness files: daemons write them, scripts wait
//	server/servertest    in-process servers and a raw protocol client, for tests
//	server/bintest       runs the real binary in end-to-end tests
//	server/e2e           end-to-end tests of the server binary
//	server               package server: daemon assembly (server.go) and the
//	                     server-side commands (cmd_*.go)
//	client/venus         the cache manager core
//	client/fusefs        the FUSE adapter (the only importer of go-fuse)
//	client               package client: venus assembly and the client
//	                     commands (cmd_*.go)
//	client/venustest     in-process venus mounts, for tests
//	client/e2e           end-to-end tests of venus with the binary
//	auth/acl, auth/pdb   ACLs (rights, text form); the protection database
//	auth/token           tokens sealed by the realm secret
//	auth/password        argon2id hashes, login throttling, password prompts
//	auth/authserver      the auth service inside every server
//	auth                 package auth: clog, ctokens, cunlog, cpasswd, au,
//	                     pdbtool (cmd_*.go)
//	auth/e2e             end-to-end tests of logins and ACLs with the binary
//	backup               the dump format (coda-dump(5)): reader, writer,
//	                     dump2tar; the server writes and restores dumps
//	                     (server/volume) with it
//	resolve/             version vectors and the merge of directories
//	man/                 man pages; package man generates the command pages
//	                     from the cli definitions (coda gen-man, make man)
//	scripts/             coda-cell (a local cell), bench.sh, backup/
//	                     (coda-backup, coda-restore-files), systemd units
//	                     and cron snippets users copy into place
//
// # Allowed import edges
//
// Enforced by TestImportRules (lint_test.go), from DESIGN.md §2:
//
//   - server/proto imports nothing of ours.
//   - resolve/... depends on no pebble, go-fuse or net, not even
//     transitively: it is a deterministic engine.
//   - only client/fusefs imports go-fuse.
//   - server/... never imports client/... (client/... may import server/...:
//     venus builds on server/proto, server/rpc, server/pki and server/store).
//   - on the server side only server/store imports pebble.
//
// The root package (main) may import anything; nothing imports it.
package main
