// Package rpc carries coda's wire protocol (package proto) over TCP and TLS
// 1.3: multiplexed calls in both directions on one connection, deadlines,
// liveness probes and BUSY keepalives, and streamed file data.
//
// # Use
//
// A server builds a Mux of handlers, NewServer(cfg, mux, accept) and
// Serve(listener); accept sees each client's Hello and answers it. A
// client Dials with its Hello and calls Conn.Call; its own Mux serves the
// server's calls to it (callback breaks). Both ends are Conns and both may
// call. Server.OnClose tells the owner a connection died (the file server
// drops that client's callback promises there).
//
// # Connection
//
// Dial connects, does the TLS handshake and sends the Hello request (id 1,
// no deadline); the server answers HelloReply, which holds its clock. The
// client measures the skew from the round trip and sends every later
// deadline on the server's clock; deadlines of calls from the server are
// converted back. The server refuses clients of another protocol version
// (by answering its own version) and clients accept rejects (an Error
// reply, shown as "server refused: MSG"); then it closes.
//
// Each connection runs three goroutines and one per request served:
//
//   - the reader reads frames. It never blocks on anything but the
//     socket: it answers pings itself (no disk I/O, so a busy server still
//     answers), refuses expired requests, unknown ops and overload itself,
//     hands replies to their callers, queues data frames on their stream
//     (bounded by the credit granted) and starts handlers.
//   - the writer owns the socket's write side. Frames are queued without
//     blocking and written in priority order: control frames (pongs,
//     credit, busy, cancel), then requests and replies, then one data frame
//     at a time, so bulk data holds a small call back by at most one 1 MiB
//     frame. It flushes when its queues are empty.
//   - the timer declares the connection dead when no frame arrived for
//     DeadAfter, pings when nothing arrived for ProbeInterval, and sends
//     BUSY every BusyInterval for each request still being served. If the
//     timer itself was held up (the process was stopped), the peer gets a
//     fresh DeadAfter rather than being blamed.
//
// A dead connection is closed; Done is closed; Err and every pending call
// return a *ConnError, which matches proto.ErrTimeout.
//
// # Calls
//
// Call multiplexes: each call has its own request id (odd from the client,
// even from the server) and many run at once. The request carries the
// deadline min(ctx deadline, now+StartBy); the callee refuses it with
// proto.CodeExpired if it reads it later (a SIGSTOPped server resumed
// later does not apply stale updates). The caller does not time a call
// out while the connection lives; ctx cancellation sends Cancel and
// returns ctx.Err(). Handlers run on their own goroutine, at most
// MaxInflight per connection; more wait in a queue bounded by its memory
// (beyond it they are refused with proto.CodeBusy). A handler's error becomes an error reply
// (proto.CodeOf and the first line of its message); a panic becomes
// proto.CodeIO.
//
// # Data
//
// Source data (Store uploads, Fetch replies) is sent as Data frames of at
// most proto.DataChunk bytes per extent (holes of an *os.File are found
// with FileExtents and not sent), then End with the size and xxhash64 of
// the bytes. The receiver writes each frame with WriteAt, checks the sum
// and calls Finish(size); a mismatch fails the call (ErrChecksum) without
// Finish. Credit-based flow control (see package proto) bounds what a
// receiver buffers and keeps the reader from ever blocking.
//
// # Locking and errors
//
// Conn, Server and Mux (after set-up) are safe for concurrent use. Nothing
// is persisted. Errors from the peer are *proto.Error; connection loss is
// *ConnError; user-facing messages are one line and carry no secrets.
// Logging goes to Config.Logger (nil discards), at debug level only except
// for handler panics.
package rpc
