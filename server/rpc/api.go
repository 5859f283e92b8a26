package rpc

// This file is the package's contract: the types and signatures other
// packages (server/fileserver, client/venus, the admin tools) build on.

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"time"

	"github.com/coda-fs/coda/server/proto"
)

// Config tunes a connection. Zero fields take the defaults below.
type Config struct {
	TLS    *tls.Config  // required: TLS 1.3 client or server config
	Logger *slog.Logger // nil: discard

	// ProbeInterval is how often an idle connection sends a ping.
	ProbeInterval time.Duration // default 500ms
	// DeadAfter: a connection that received no frame (reply, ping, pong,
	// busy, data) for this long is declared dead and closed; every pending
	// call fails with proto.ErrTimeout.
	DeadAfter time.Duration // default 2s
	// BusyInterval is how often a server sends a keepalive (BUSY) for a
	// request still being served, so slow is never mistaken for dead.
	BusyInterval time.Duration // default 500ms
	// HandshakeTimeout bounds the TLS handshake and the Hello exchange.
	HandshakeTimeout time.Duration // default 5s
	// MaxInflight bounds concurrently served requests per connection.
	// Requests beyond it wait in a queue (the reader never waits for a
	// slot); when the queue holds 16×MaxInflight requests or 64 MiB, more
	// are refused with proto.CodeBusy.
	MaxInflight int // default 64
	// StartBy bounds how long a request may wait before the server reads
	// it: the deadline sent is min(ctx deadline, now+StartBy), and a server
	// refuses (proto.CodeExpired) a request read after its deadline.
	StartBy time.Duration // default DeadAfter

	// FaultHook, for tests only: called before a reply is sent; returning
	// true drops the reply (the request was served but the caller never
	// hears of it).
	FaultHook func(op proto.Op) (dropReply bool)

	// Stats, when set, counts requests served, data bytes and connections.
	Stats *Stats
}

// Handler serves one request. It decodes req.Body into its request type
// (proto.Unmarshal), does the work and returns the reply message, and for
// fetch-like calls a Source of file data to stream after the reply. A
// returned error is sent as an error reply with proto.CodeOf(err) and its
// message (one line, no secrets). Handlers run on their own goroutine and
// may block; the connection sends BUSY keepalives meanwhile. ctx is
// cancelled when the connection dies, when the caller abandons the call
// (a Cancel frame), and when the caller's own deadline passes (a request
// whose deadline is only the StartBy bound is not cut off by it).
type Handler func(ctx context.Context, req *Request) (reply proto.Message, data *Source, err error)

// Request is one incoming request.
type Request struct {
	Conn     *Conn
	Op       proto.Op
	Ident    uint32    // caller identity slot (the uid until the auth issue)
	Deadline time.Time // absolute, already corrected for clock skew
	Body     []byte    // encoded request message (the handler may keep it)
	// Data is the uploaded file data (store-like calls), nil when the caller
	// sent none. The handler must consume it to the end (Data.Receive) before
	// returning, or the connection discards the rest.
	Data *Stream
}

// Mux maps ops to handlers. Unknown ops get a CodeNotSupported reply.
type Mux struct {
	handlers [proto.OpMax]Handler
}

// Handle registers h for op.
func (m *Mux) Handle(op proto.Op, h Handler) { m.handlers[op] = h }

// Lookup returns the handler of op, or nil.
func (m *Mux) Lookup(op proto.Op) Handler {
	if op >= proto.OpMax {
		return nil
	}
	return m.handlers[op]
}

// Extent is a run of data bytes in a file; everything outside the extents
// is a hole (reads as zeros).
type Extent struct {
	Off, Len int64
}

// Source is file data to send: the bytes of R (or Data) at the given
// extents, and the total size. Extents nil means the data extents of R
// when it is an *os.File (FileExtents: holes are not sent), else one
// extent [0, Size). Extents must be sorted, not overlapping, and within
// [0, Size).
type Source struct {
	R io.ReaderAt
	// Data, set instead of R, is sent as it is, without copying: it must
	// not change until Release is called, which then happens only once the
	// connection has written its last byte (or died).
	Data    []byte
	Size    int64
	Extents []Extent
	// Unsummed: the data checks itself (a dump: every record carries a
	// CRC-32C its readers verify), so the stream goes without the xxhash64
	// that otherwise covers it end to end (End frame FlagNoSum): hashing
	// costs both ends about a fifth of their CPU on a fast link.
	Unsummed bool
	// Release, if set, is called once when the connection no longer needs
	// R: after the stream was sent, failed or was abandoned, or when a reply
	// carrying it was not sent. A handler can close a file there.
	Release func()
}

// Sink receives a data stream. WriteAt is called for each data frame in
// offset order; Finish(size) once at the end after the checksum matched
// (the receiver sets the file's size there; holes beyond the last extent
// are the receiver's job, e.g. ftruncate).
type Sink interface {
	io.WriterAt
	Finish(size int64) error
}

// UnsummedSink is a Sink for data that checks itself (see
// Source.Unsummed): the receiver computes no checksum for it, and checks
// only the size.
type UnsummedSink interface {
	Sink
	Unsummed()
}

// Stream is an incoming data stream inside a handler.
type Stream struct {
	in *inStream
}

// Conn is one multiplexed TLS connection. Both ends may call and serve:
// the client calls the server, the server calls the client to deliver
// callback breaks. All methods are safe for concurrent use.
type Conn struct {
	impl *connImpl

	// Peer is free for the owner's per-connection state (the server keeps
	// its client record here). Set it before serving requests.
	Peer any

	// Hello is the peer's hello (server side) or the server's reply
	// (client side), filled in during the handshake.
	Hello      proto.Hello
	HelloReply proto.HelloReply
}

// CallOpts are optional parts of a call.
type CallOpts struct {
	Ident    uint32  // identity slot sent with the request
	Upload   *Source // file data sent after the request
	Download Sink    // receives file data sent after the reply
}
