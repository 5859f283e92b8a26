package proto

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
)

// FrameType says what a frame carries. See doc.go for the layout of each.
type FrameType uint8

const (
	FrameRequest FrameType = 1 + iota // deadline, ident, request message
	FrameReply                        // reply message
	FrameError                        // error reply: code and message
	FrameData                         // offset and file bytes
	FrameEnd                          // end of a data stream: EndOfData
	FrameBusy                         // keepalive for a request still being served
	FramePing                         // liveness probe; ID is the probe sequence
	FramePong                         // answer to a ping, same ID
	FrameCancel                       // the caller abandons request ID
	FrameCredit                       // receiver grants the sender more data bytes
	frameTypeEnd
)

var frameNames = [frameTypeEnd]string{
	FrameRequest: "request", FrameReply: "reply", FrameError: "error",
	FrameData: "data", FrameEnd: "end", FrameBusy: "busy", FramePing: "ping",
	FramePong: "pong", FrameCancel: "cancel", FrameCredit: "credit",
}

func (t FrameType) String() string {
	if t < frameTypeEnd && frameNames[t] != "" {
		return frameNames[t]
	}
	return fmt.Sprintf("frame(%d)", uint8(t))
}

// Frame flags.
const (
	// FlagHasData on a request or reply: a data stream (Data frames, then
	// one End frame, all with the same request id) follows it.
	FlagHasData uint8 = 1 << 0
	// FlagHardDeadline on a request: the deadline is the caller's own, so
	// the handler's context ends there. Without it the deadline only says
	// by when the request must have been read ("start by").
	FlagHardDeadline uint8 = 1 << 1
	// FlagAbort on an End frame: the sender gave up (it could not read its
	// source); the data is incomplete and the receiver fails the stream.
	FlagAbort uint8 = 1 << 2
	// FlagNoSum on an End frame: the sender computed no checksum (its Sum
	// is 0) because the data carries its own (a dump's records each have
	// a CRC-32C that every reader checks); the receiver checks the size.
	FlagNoSum uint8 = 1 << 3
)

// Frame sizes. The length word counts everything after itself.
const (
	FrameHeaderSize = 16 // u32 length, u8 type, u8 flags, u16 op, u64 id
	frameFixed      = FrameHeaderSize - 4
	// MaxFrameLength is the largest value of the length word.
	MaxFrameLength = MaxFrame + frameFixed
	// RequestHeadSize is the fixed part of a request body: u64 deadline
	// (unix ns, server clock) and u32 ident.
	RequestHeadSize = 12
	// DataHeadSize is the fixed part of a data body: i64 offset.
	DataHeadSize = 8
	endBodySize  = 16
)

// Flow control of data streams. Every data frame costs its payload length
// plus DataFrameCost bytes of credit. A caller may have DownloadWindow bytes
// of reply data in flight from the start; an uploader may send
// InitialUploadCredit bytes before the receiver grants more (it grants up to
// StreamWindow once its handler starts consuming).
const (
	StreamWindow        = 4 << 20
	DownloadWindow      = StreamWindow
	InitialUploadCredit = 256 << 10
	DataFrameCost       = 64
)

// Header is a frame's fixed part. Len is the length of the body.
type Header struct {
	Type  FrameType
	Flags uint8
	Op    Op
	ID    uint64
	Len   int
}

// Frame is a whole frame. Body aliases the buffer it was read into.
type Frame struct {
	Type  FrameType
	Flags uint8
	Op    Op
	ID    uint64
	Body  []byte
}

func protoErr(format string, args ...any) error {
	return Errorf(CodeProtocol, fmt.Sprintf(format, args...))
}

// bodyLimits gives the smallest and largest body of each frame type.
func bodyLimits(t FrameType) (min, max int) {
	switch t {
	case FrameRequest:
		return RequestHeadSize, MaxFrame
	case FrameReply:
		return 0, MaxFrame
	case FrameError:
		return 2 + 4, 2 + 4 + MaxString
	case FrameData:
		return DataHeadSize + 1, DataHeadSize + DataChunk
	case FrameEnd:
		return endBodySize, endBodySize
	case FrameCredit:
		return 4, 4
	case FrameBusy, FramePing, FramePong, FrameCancel:
		return 0, 0
	}
	return -1, -1
}

// ParseHeader checks and decodes a frame header (FrameHeaderSize bytes).
// It rejects unknown types and bodies too large or too small for their
// type, so the caller can size a buffer by Len.
func ParseHeader(b []byte) (Header, error) {
	if len(b) < FrameHeaderSize {
		return Header{}, protoErr("frame header of %d bytes", len(b))
	}
	n := binary.LittleEndian.Uint32(b)
	if n > MaxFrameLength || n < frameFixed {
		return Header{}, protoErr("frame length %d outside [%d, %d]", n, frameFixed, MaxFrameLength)
	}
	h := Header{
		Type:  FrameType(b[4]),
		Flags: b[5],
		Op:    Op(binary.LittleEndian.Uint16(b[6:])),
		ID:    binary.LittleEndian.Uint64(b[8:]),
		Len:   int(n) - frameFixed,
	}
	min, max := bodyLimits(h.Type)
	if min < 0 {
		return Header{}, protoErr("unknown frame type %d", b[4])
	}
	if h.Len < min || h.Len > max {
		return Header{}, protoErr("%v frame body of %d bytes outside [%d, %d]", h.Type, h.Len, min, max)
	}
	return h, nil
}

// ReadHeader reads and checks one frame header; the body is left unread.
// It returns io.EOF only when r ends exactly at a frame boundary.
func ReadHeader(r *bufio.Reader) (Header, error) {
	b, err := r.Peek(FrameHeaderSize)
	if err != nil {
		if err == io.EOF && len(b) > 0 {
			err = io.ErrUnexpectedEOF
		}
		return Header{}, err
	}
	h, err := ParseHeader(b)
	if err != nil {
		return Header{}, err
	}
	_, _ = r.Discard(FrameHeaderSize)
	return h, nil
}

// ReadFrame reads one frame. The body is read into buf when it fits (so a
// caller can reuse buf), otherwise into a new slice of exactly the body's
// size; the length is checked before anything is allocated.
func ReadFrame(r *bufio.Reader, buf []byte) (Frame, error) {
	h, err := ReadHeader(r)
	if err != nil {
		return Frame{}, err
	}
	if cap(buf) < h.Len {
		buf = make([]byte, h.Len)
	}
	buf = buf[:h.Len]
	if _, err := io.ReadFull(r, buf); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return Frame{}, err
	}
	return Frame{Type: h.Type, Flags: h.Flags, Op: h.Op, ID: h.ID, Body: buf}, nil
}

// AppendHeader appends a frame header for a body of bodyLen bytes.
func AppendHeader(b []byte, t FrameType, flags uint8, op Op, id uint64, bodyLen int) []byte {
	b = binary.LittleEndian.AppendUint32(b, uint32(frameFixed+bodyLen))
	b = append(b, byte(t), flags)
	b = binary.LittleEndian.AppendUint16(b, uint16(op))
	return binary.LittleEndian.AppendUint64(b, id)
}

// AppendFrame appends f, header and body.
func AppendFrame(b []byte, f Frame) []byte {
	b = AppendHeader(b, f.Type, f.Flags, f.Op, f.ID, len(f.Body))
	return append(b, f.Body...)
}

// finish patches the length word of the frame that starts at start.
func finish(b []byte, start int) []byte {
	binary.LittleEndian.PutUint32(b[start:], uint32(len(b)-start-4))
	return b
}

// AppendRequest appends a request frame carrying m. deadline is unix ns on
// the server's clock.
func AppendRequest(b []byte, id uint64, op Op, flags uint8, deadline int64, ident uint32, m Message) []byte {
	start := len(b)
	e := Encoder{B: AppendHeader(b, FrameRequest, flags, op, id, 0)}
	e.I64(deadline)
	e.U32(ident)
	if m != nil {
		m.Encode(&e)
	}
	return finish(e.B, start)
}

// AppendReply appends a reply frame carrying m (nil: empty body).
func AppendReply(b []byte, id uint64, op Op, flags uint8, m Message) []byte {
	start := len(b)
	e := Encoder{B: AppendHeader(b, FrameReply, flags, op, id, 0)}
	if m != nil {
		m.Encode(&e)
	}
	return finish(e.B, start)
}

// AppendError appends an error reply. A message longer than MaxString is
// cut.
func AppendError(b []byte, id uint64, op Op, code Code, msg string) []byte {
	if len(msg) > MaxString {
		msg = msg[:MaxString]
	}
	start := len(b)
	e := Encoder{B: AppendHeader(b, FrameError, 0, op, id, 0)}
	e.U16(uint16(code))
	e.String(msg)
	return finish(e.B, start)
}

// AppendDataHeader appends the header and offset of a data frame whose n
// payload bytes the caller writes next.
func AppendDataHeader(b []byte, id uint64, off int64, n int) []byte {
	b = AppendHeader(b, FrameData, 0, OpNone, id, DataHeadSize+n)
	return binary.LittleEndian.AppendUint64(b, uint64(off))
}

// AppendEnd appends an End frame.
func AppendEnd(b []byte, id uint64, flags uint8, end EndOfData) []byte {
	b = AppendHeader(b, FrameEnd, flags, OpNone, id, endBodySize)
	e := Encoder{B: b}
	end.Encode(&e)
	return e.B
}

// AppendCredit appends a Credit frame granting n more bytes on stream id.
func AppendCredit(b []byte, id uint64, n uint32) []byte {
	b = AppendHeader(b, FrameCredit, 0, OpNone, id, 4)
	return binary.LittleEndian.AppendUint32(b, n)
}

// RequestHead is the fixed part of a request body.
type RequestHead struct {
	Deadline int64 // unix ns on the server's clock; 0 only in a Hello
	Ident    uint32
}

// ParseRequest splits a request body into its head and the message bytes.
func ParseRequest(body []byte) (RequestHead, []byte, error) {
	if len(body) < RequestHeadSize {
		return RequestHead{}, nil, protoErr("request body of %d bytes", len(body))
	}
	h := RequestHead{
		Deadline: int64(binary.LittleEndian.Uint64(body)),
		Ident:    binary.LittleEndian.Uint32(body[8:]),
	}
	return h, body[RequestHeadSize:], nil
}

// ParseError decodes an error reply body.
func ParseError(body []byte) (*Error, error) {
	d := NewDecoder(body)
	e := &Error{Code: Code(d.U16()), Msg: d.String(MaxString)}
	if err := d.Done(); err != nil {
		return nil, protoErr("bad error reply: %v", err)
	}
	return e, nil
}

// ParseData splits a data body into its offset and payload.
func ParseData(body []byte) (int64, []byte, error) {
	if len(body) <= DataHeadSize {
		return 0, nil, protoErr("data body of %d bytes", len(body))
	}
	off, err := ParseOffset(body, len(body)-DataHeadSize)
	return off, body[DataHeadSize:], err
}

// maxOffset bounds file offsets so off+len never overflows.
const maxOffset = 1 << 62

// ParseOffset checks a data frame's offset for a payload of n bytes.
func ParseOffset(b []byte, n int) (int64, error) {
	off := int64(binary.LittleEndian.Uint64(b))
	if off < 0 || off > maxOffset-int64(n) {
		return 0, protoErr("data offset %d out of range", off)
	}
	return off, nil
}

// ParseEnd decodes an End body.
func ParseEnd(body []byte) (EndOfData, error) {
	var end EndOfData
	if err := Unmarshal(body, &end); err != nil {
		return end, protoErr("bad end of data: %v", err)
	}
	if end.Size > maxOffset {
		return end, protoErr("data size %d out of range", end.Size)
	}
	return end, nil
}

// ParseCredit decodes a Credit body.
func ParseCredit(body []byte) (uint32, error) {
	if len(body) != 4 {
		return 0, protoErr("credit body of %d bytes", len(body))
	}
	return binary.LittleEndian.Uint32(body), nil
}
