// Package adminclient is what the admin tools (volutil, createvol_rep,
// purgevol_rep) use to talk to a server: it dials the server over TLS 1.3,
// pinning the realm CA, proves knowledge of the realm admin key, and wraps
// the admin RPCs in plain methods.
//
// Trust. Dial takes the CA from the caFile argument, else from ca.pem
// beside the key file (where `coda server init` leaves it), else from the
// server itself on first use (pki.FetchCA). The realm is the one named by
// the CA certificate.
//
// Authentication. The key file holds the realm admin key as 64 hex
// characters (pki.ParseAdminKey); it must be 0600. Right after the hello,
// Dial sends proto.OpAdminAuth with HMAC-SHA256(key, HelloReply.Nonce); the
// server refuses every admin op on a connection that did not prove the key.
//
// Contracts. A Client is one connection; its methods are safe for
// concurrent use (the rpc connection multiplexes). Calls without a
// deadline in ctx get CallTimeout. Errors are one line, wrap their cause
// with %w (server errors are *proto.Error, so errors.Is(err,
// proto.ErrNotFound) works) and never contain the key. No logging, no
// global state.
package adminclient
