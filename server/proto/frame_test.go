package proto

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"runtime"
	"testing"
)

func reader(b []byte) *bufio.Reader { return bufio.NewReaderSize(bytes.NewReader(b), 256<<10) }

func TestFramesRoundTrip(t *testing.T) {
	hello := &Hello{Version: Version, Realm: "r", Name: "n"}
	var b []byte
	b = AppendRequest(b, 1, OpHello, FlagHasData|FlagHardDeadline, 1234567, 1000, hello)
	b = AppendReply(b, 1, OpHello, FlagHasData, &HelloReply{Version: Version, Nonce: []byte{}})
	b = AppendError(b, 3, OpLookup, CodeNotFound, "no such file")
	b = AppendDataHeader(b, 3, 1<<30, 5)
	b = append(b, "hello"...)
	b = AppendEnd(b, 3, FlagAbort, EndOfData{Size: 99, Sum: 7})
	b = AppendCredit(b, 5, 1<<20)
	for _, ty := range []FrameType{FrameBusy, FramePing, FramePong, FrameCancel} {
		b = AppendFrame(b, Frame{Type: ty, ID: 77})
	}
	r := reader(b)
	buf := make([]byte, 0, 64)

	f := mustRead(t, r, buf, FrameRequest)
	head, msg, err := ParseRequest(f.Body)
	var h2 Hello
	if err != nil || head.Deadline != 1234567 || head.Ident != 1000 || Unmarshal(msg, &h2) != nil || h2 != *hello {
		t.Fatalf("request: %+v %+v %v", head, h2, err)
	}
	if f.Flags != FlagHasData|FlagHardDeadline || f.Op != OpHello || f.ID != 1 {
		t.Fatalf("request header %+v", f)
	}
	mustRead(t, r, buf, FrameReply)
	f = mustRead(t, r, buf, FrameError)
	if e, err := ParseError(f.Body); err != nil || e.Code != CodeNotFound || e.Msg != "no such file" {
		t.Fatalf("error reply %+v %v", e, err)
	}
	f = mustRead(t, r, buf, FrameData)
	if off, data, err := ParseData(f.Body); err != nil || off != 1<<30 || string(data) != "hello" {
		t.Fatalf("data %d %q %v", off, data, err)
	}
	f = mustRead(t, r, buf, FrameEnd)
	if end, err := ParseEnd(f.Body); err != nil || end != (EndOfData{99, 7}) || f.Flags != FlagAbort {
		t.Fatalf("end %+v %v", end, err)
	}
	f = mustRead(t, r, buf, FrameCredit)
	if n, err := ParseCredit(f.Body); err != nil || n != 1<<20 || f.ID != 5 {
		t.Fatalf("credit %d %v", n, err)
	}
	for _, ty := range []FrameType{FrameBusy, FramePing, FramePong, FrameCancel} {
		if f := mustRead(t, r, buf, ty); f.ID != 77 || len(f.Body) != 0 {
			t.Fatalf("%v: %+v", ty, f)
		}
	}
	if _, err := ReadFrame(r, buf); err != io.EOF {
		t.Fatalf("at end: %v, want io.EOF", err)
	}
}

func mustRead(t *testing.T, r *bufio.Reader, buf []byte, want FrameType) Frame {
	t.Helper()
	f, err := ReadFrame(r, buf)
	if err != nil {
		t.Fatalf("reading %v: %v", want, err)
	}
	if f.Type != want {
		t.Fatalf("got %v frame, want %v", f.Type, want)
	}
	return f
}

func header(length uint32, ty FrameType) []byte {
	b := binary.LittleEndian.AppendUint32(nil, length)
	b = append(b, byte(ty), 0, 0, 0)
	return binary.LittleEndian.AppendUint64(b, 1)
}

func TestReadFrameRejectsBadHeaders(t *testing.T) {
	cases := map[string][]byte{
		"huge length":       header(0xffffffff, FrameReply),
		"just over limit":   header(MaxFrameLength+1, FrameReply),
		"length too short":  header(3, FrameReply),
		"unknown type":      header(frameFixed, 0xee),
		"type zero":         header(frameFixed, 0),
		"ping with body":    append(header(frameFixed+1, FramePing), 0),
		"oversize data":     header(frameFixed+DataHeadSize+DataChunk+1, FrameData),
		"empty data":        header(frameFixed+DataHeadSize, FrameData),
		"short request":     header(frameFixed+4, FrameRequest),
		"end of wrong size": header(frameFixed+8, FrameEnd),
	}
	for name, b := range cases {
		_, err := ReadFrame(reader(b), nil)
		if !errors.Is(err, ErrProtocol) {
			t.Errorf("%s: got %v, want a protocol error", name, err)
		}
	}
	// A frame cut short is an unexpected EOF, not a clean one.
	full := AppendReply(nil, 1, OpPing, 0, &RootVolume{Name: "abc"})
	for i := 1; i < len(full); i++ {
		if _, err := ReadFrame(reader(full[:i]), nil); err != io.ErrUnexpectedEOF {
			t.Fatalf("cut at %d: %v, want unexpected EOF", i, err)
		}
	}
}

// TestReadFrameHugeLengthAllocatesNothing: a length word of 4 GiB is refused
// before any buffer is sized by it.
func TestReadFrameHugeLengthAllocatesNothing(t *testing.T) {
	b := append(header(0xfffffff0, FrameReply), make([]byte, 64)...)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := 0; i < 100; i++ {
		if _, err := ReadFrame(reader(b), nil); err == nil {
			t.Fatal("accepted")
		}
	}
	runtime.ReadMemStats(&after)
	if d := after.TotalAlloc - before.TotalAlloc; d > 100*(256<<10)+1<<20 {
		t.Fatalf("allocated %d bytes for 100 rejected frames", d)
	}
}

func TestReadFrameReusesBuffer(t *testing.T) {
	b := AppendReply(nil, 9, OpGetAttr, 0, &AttrReply{Attr: sampleAttr(1)})
	buf := make([]byte, 0, 4096)
	f, err := ReadFrame(reader(b), buf)
	if err != nil {
		t.Fatal(err)
	}
	if &f.Body[:1][0] != &buf[:1][0] {
		t.Fatal("body not read into the caller's buffer")
	}
	allocs := testing.AllocsPerRun(100, func() {
		r := bufio.NewReaderSize(bytes.NewReader(b), 256)
		_, _ = ReadFrame(r, buf)
	})
	if allocs > 3 { // the reader and its buffer
		t.Fatalf("%.0f allocations per frame", allocs)
	}
}

func TestParseRejectsBadBodies(t *testing.T) {
	if _, _, err := ParseData(binary.LittleEndian.AppendUint64(nil, 1<<63)); err == nil {
		t.Error("data without payload accepted")
	}
	neg := append(binary.LittleEndian.AppendUint64(nil, uint64(1)<<63), 1)
	if _, _, err := ParseData(neg); err == nil {
		t.Error("negative offset accepted")
	}
	if _, err := ParseEnd(Marshal(&EndOfData{Size: -1})); err == nil {
		t.Error("negative size accepted")
	}
	if _, err := ParseError([]byte{1, 0, 9, 0, 0, 0}); err == nil {
		t.Error("error reply with a cut message accepted")
	}
}
