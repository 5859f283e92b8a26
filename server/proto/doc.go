// Package proto is coda's wire protocol: the message types and their
// hand-written codec, the framing, the version handshake's messages, and
// the one table of error codes. It imports nothing else of ours and does
// no I/O beyond reading frames from a bufio.Reader it is given.
//
// # Messages
//
// Every request and reply body is a Message (messages.go): Encode appends
// little-endian fields to an Encoder, Decode reads them from a Decoder that
// records the first error. Decoders check every length and count against a
// limit and against the bytes left before allocating (Decoder.Count), so a
// hostile length never sizes an allocation. Unmarshal requires the whole
// body to be consumed. Decoded []byte fields alias the decoded buffer.
//
// # Frames
//
// Over TLS, each frame is
//
//	u32 length   bytes that follow the length word (12 + body)
//	u8  type     FrameRequest … FrameCredit
//	u8  flags    FlagHasData, FlagHardDeadline, FlagAbort, FlagNoSum
//	u16 op       the Op of the request (replies repeat it)
//	u64 id       request id; probe sequence for Ping/Pong
//	body
//
// all little-endian. Bodies by type:
//
//	Request  u64 deadline (unix ns on the server's clock), u32 ident, message
//	Reply    message
//	Error    u16 code, u32 length, message text (at most MaxString)
//	Data     i64 offset, 1..DataChunk bytes of file data
//	End      EndOfData: i64 size, u64 xxhash64 of the data bytes in order
//	Credit   u32 bytes the receiver of a data stream grants its sender
//	Busy, Ping, Pong, Cancel: empty
//
// ReadHeader and ReadFrame reject a length word above MaxFrameLength, an
// unknown type, and a body too small or too large for its type before
// reading or allocating anything; they never panic (FuzzReadFrame).
//
// Request ids are odd when the client calls and even when the server calls
// (callback breaks), so the two directions never collide. A reply, its
// data stream and any Busy, Cancel or Credit frame carry the id of the
// request they belong to.
//
// # Data streams
//
// FlagHasData on a request (upload, e.g. Store) or reply (download, e.g.
// Fetch) says Data frames follow, in offset order and never overlapping,
// closed by one End frame; offsets outside the Data frames are holes. The
// receiver hashes what it receives and compares with the End frame before
// it accepts the data. An End with FlagAbort means the sender could not
// finish; one with FlagNoSum carries no checksum (data that checks itself,
// a dump), and only its size is compared. Flow control is by credit: each Data frame costs its payload plus
// DataFrameCost; a downloader grants DownloadWindow up front, an uploader
// may send InitialUploadCredit before the handler starts consuming, and
// receivers return credit (Credit frames) as they consume. A sender that
// exceeds its credit is a protocol violation.
//
// # Handshake, deadlines, keepalives
//
// The first frame of a connection is a Request with op OpHello, id 1 and
// deadline 0, carrying Hello; the server answers HelloReply (with its
// Version, Incarnation and clock, from which the client computes the skew)
// or an Error refusing the client, or, when the versions differ, a
// HelloReply with its own Version before closing. Every later request
// carries a deadline on the server's clock; a receiver refuses with
// CodeExpired a request it reads after its deadline. FlagHardDeadline marks
// the deadline as the caller's own (the handler stops there); otherwise it
// only says by when the request must have been read. Busy frames are sent
// for requests still being served, Ping/Pong probe an idle connection, and
// Cancel abandons a request (and stops its data streams).
//
// # Errors
//
// errors.go is the only mapping between wire codes, Go errors and errnos:
// *Error carries a Code and a one-line message; errors.Is matches it
// against the sentinel of its code; CodeOf and ToErrno map any error.
// Framing errors are *Error values with CodeProtocol.
//
// No locking: every function is safe for concurrent use on distinct
// values. Nothing is persisted.
package proto
