// Package fileserver serves the file and volume RPCs of one coda server on
// top of package volume, and keeps the callback promises.
//
// One handler per RPC (handle_*.go), registered in Server.Register on an
// rpc.Mux; each decodes its request, acts with the identity the request
// carries (until the auth issue: the uid venus sends) and returns a typed
// reply or a *proto.Error.
//
// Callbacks: every reply that gives a venus an object's status registers a
// promise for that connection first (so a racing change is broken, never
// missed). A mutation is acknowledged only after its batch is durable and
// every other holder of a promise on a changed object has acknowledged the
// break; a holder that does not answer within one second loses its
// connection, and with it every promise (its venus then revalidates).
// Promises die with the connection and with the server process
// (Incarnation changes at every start).
//
// Locking: callbacks.mu guards the promise tables and each client's set;
// it is never held while a break is delivered. Volume locking is package
// volume's.
package fileserver
