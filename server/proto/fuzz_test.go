package proto

import (
	"bufio"
	"bytes"
	"reflect"
	"testing"
)

// FuzzReadFrame reads frames from arbitrary bytes. It must never panic;
// every frame it accepts must survive AppendFrame and a second read, and
// the body parsers must not panic on it either.
func FuzzReadFrame(f *testing.F) {
	for _, seed := range frameSeeds() {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r := bufio.NewReaderSize(bytes.NewReader(b), 4096)
		for i := 0; i < 64; i++ {
			fr, err := ReadFrame(r, nil)
			if err != nil {
				return
			}
			parseBody(fr)
			again, err := ReadFrame(bufio.NewReader(bytes.NewReader(AppendFrame(nil, fr))), nil)
			if err != nil {
				t.Fatalf("re-reading an accepted frame: %v", err)
			}
			if !reflect.DeepEqual(again, fr) {
				t.Fatalf("frame changed: %+v vs %+v", again, fr)
			}
		}
	})
}

func parseBody(f Frame) {
	switch f.Type {
	case FrameRequest:
		_, _, _ = ParseRequest(f.Body)
	case FrameError:
		_, _ = ParseError(f.Body)
	case FrameData:
		_, _, _ = ParseData(f.Body)
	case FrameEnd:
		_, _ = ParseEnd(f.Body)
	case FrameCredit:
		_, _ = ParseCredit(f.Body)
	}
}

// FuzzDecodeMessages decodes arbitrary bytes into every message type (the
// first byte picks the type). Decoding must never panic, and a value that
// decodes must encode to the same bytes and decode to the same value.
func FuzzDecodeMessages(f *testing.F) {
	for i, m := range messageSamples() {
		f.Add(append([]byte{byte(i)}, Marshal(m)...))
	}
	f.Add([]byte{7, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) == 0 {
			return
		}
		samples := messageSamples()
		proto := samples[int(b[0])%len(samples)]
		m := newLike(proto)
		if err := Unmarshal(b[1:], m); err != nil {
			return
		}
		enc := Marshal(m)
		if !bytes.Equal(enc, b[1:]) {
			t.Fatalf("%T: re-encoding differs:\n%x\n%x", m, enc, b[1:])
		}
		m2 := newLike(proto)
		if err := Unmarshal(enc, m2); err != nil {
			t.Fatalf("%T: re-decoding failed: %v", m, err)
		}
		if !reflect.DeepEqual(m, m2) {
			t.Fatalf("%T: value changed: %+v vs %+v", m, m, m2)
		}
	})
}

// frameSeeds is a small stream of every frame type plus some damaged ones.
func frameSeeds() [][]byte {
	var all []byte
	all = AppendRequest(all, 1, OpHello, 0, 0, 0, &Hello{Version: Version, Realm: "example.org"})
	all = AppendReply(all, 1, OpHello, 0, &HelloReply{Version: Version, Nonce: []byte("n")})
	all = AppendRequest(all, 3, OpStore, FlagHasData, 1<<60, 1000, &Store{Size: 3})
	all = AppendDataHeader(all, 3, 0, 3)
	all = append(all, "abc"...)
	all = AppendEnd(all, 3, 0, EndOfData{Size: 3, Sum: 1})
	all = AppendCredit(all, 3, 4096)
	all = AppendError(all, 3, OpStore, CodeExpired, "late")
	for _, ty := range []FrameType{FrameBusy, FramePing, FramePong, FrameCancel} {
		all = AppendFrame(all, Frame{Type: ty, ID: 9})
	}
	return [][]byte{
		all,
		all[:len(all)-3],
		header(0xffffffff, FrameData),
		append(header(frameFixed+4, FrameCredit), 1, 2, 3, 4),
		[]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
	}
}
