// Package server assembles the coda file server: Init creates a data
// directory (identity, realm CA, certificate, admin key, realm secret,
// empty store), Run opens the store and the volumes, removes orphaned
// containers and serves the file service over rpc until its context ends.
// The cmd_*.go files turn command lines (coda server, server init,
// createvol_rep, volutil) into option structs and call those functions.
//
// Data directory layout: see server.go. Secrets are 0600 and refused when
// others can read them. Errors returned to the command line are one line.
package server
