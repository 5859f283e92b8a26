// Package pki provides a Coda realm's certificate authority, the TLS 1.3
// configurations of servers and clients, trust on first use of a realm's
// CA, the realm admin key, and the reading and writing of secret files.
//
// Model. `coda server init` on the first server creates the realm CA
// (NewCA): an ECDSA P-256 key and a self-signed certificate whose subject
// organisation is the realm name. Each server gets a leaf certificate from
// it (IssueServer) naming the realm (a DNS SAN) and the server's host (an IP
// or DNS SAN). Servers present leaf + CA (ServerTLS). Clients pin the CA:
// ClientTLS accepts a server only if its leaf chains to exactly the pinned
// CA and names the realm, and says clearly which check failed. A client
// without a CA file fetches it once with FetchCA (trust on first use, like
// SSH) and pins it from then on.
//
// The admin key (NewAdminKey, ParseAdminKey) is 32 random bytes stored as
// 64 hex characters in a 0600 file; admin tools prove they know it with
// AdminMAC over the nonce the server sent in its hello reply, and the
// server checks with CheckAdminMAC.
//
// Crypto: crypto/x509, crypto/ecdsa (P-256), crypto/tls, crypto/hmac only.
// Nothing hand-rolled.
//
// Contracts. Every function is safe for concurrent use; nothing keeps
// state. Keys are PEM "PRIVATE KEY" (PKCS #8), certificates PEM
// "CERTIFICATE". Errors are one line, wrap their cause with %w, and never
// contain key material. Secret files are written 0600, created exclusively
// and fsynced with their directory (WriteSecretFile); ReadSecretFile refuses
// a file that group or others may access.
package pki
