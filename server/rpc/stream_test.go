package rpc

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/coda-fs/coda/server/proto"
)

// dataMux serves OpStore (receive the upload into a file under dir named
// by the FID's vnode) and OpFetch (send that file).
func dataMux(t testing.TB, dir string) *Mux {
	m := echoMux()
	path := func(f proto.FID) string { return filepath.Join(dir, "v"+proto.FID{Vnode: f.Vnode}.String()) }
	m.Handle(proto.OpStore, func(ctx context.Context, req *Request) (proto.Message, *Source, error) {
		var s proto.Store
		if err := req.Decode(&s); err != nil {
			return nil, nil, err
		}
		f, err := os.Create(path(s.FID))
		if err != nil {
			return nil, nil, err
		}
		defer f.Close()
		n, err := req.Data.Receive(&fileSink{f: f})
		if err != nil {
			return nil, nil, err
		}
		return &proto.AttrReply{Attr: proto.Attr{FID: s.FID, Size: n}}, nil, nil
	})
	m.Handle(proto.OpFetch, func(ctx context.Context, req *Request) (proto.Message, *Source, error) {
		var r proto.FIDReq
		if err := req.Decode(&r); err != nil {
			return nil, nil, err
		}
		f, err := os.Open(path(r.FID))
		if err != nil {
			return nil, nil, err
		}
		st, _ := f.Stat()
		src := &Source{R: f, Size: st.Size(), Release: func() { f.Close() }}
		return &proto.AttrReply{Attr: proto.Attr{FID: r.FID, Size: st.Size()}}, src, nil
	})
	return m
}

func blocks(t testing.TB, path string) int64 {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return st.Blocks
}

func sameContent(t testing.TB, a, b string) {
	t.Helper()
	x, err := os.ReadFile(a)
	if err != nil {
		t.Fatal(err)
	}
	y, err := os.ReadFile(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(x, y) {
		t.Fatalf("%s and %s differ (%d and %d bytes)", a, b, len(x), len(y))
	}
}

// store uploads path as vnode v, then fetches it back into out.
func storeAndFetch(t *testing.T, c *Conn, path string, v uint32, out string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	var ar proto.AttrReply
	fid := proto.FID{Volume: 1, Vnode: v, Unique: 1}
	err = c.Call(context.Background(), proto.OpStore, &proto.Store{FID: fid, Size: st.Size()}, &ar,
		&CallOpts{Upload: &Source{R: f, Size: st.Size()}})
	if err != nil || ar.Attr.Size != st.Size() {
		t.Fatalf("store: %v (size %d)", err, ar.Attr.Size)
	}
	g, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	sink := &fileSink{f: g}
	if err := c.Call(context.Background(), proto.OpFetch, &proto.FIDReq{FID: fid}, &ar, &CallOpts{Download: sink}); err != nil {
		t.Fatalf("fetch: %v", err)
	}
	if !sink.finished {
		t.Fatal("Finish not called")
	}
}

func TestSparseFileRoundTripKeepsHoles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	e := newEnv(t, Config{}, dataMux(t, dir), nil)
	c := e.dial(Config{}, nil)
	src := filepath.Join(t.TempDir(), "sparse")
	f, err := os.Create(src)
	if err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 1<<20+77)
	rand.Read(data)
	for _, off := range []int64{0, 10 << 20, 40<<20 + 4096*3} {
		if _, err := f.WriteAt(data, off); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Truncate(64 << 20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	ext := mustExtents(t, src, 64<<20)
	if len(ext) != 3 {
		t.Fatalf("source extents %v; want 3 (does this file system report holes?)", ext)
	}
	out := filepath.Join(t.TempDir(), "back")
	storeAndFetch(t, c, src, 5, out)
	stored := filepath.Join(dir, "v"+proto.FID{Vnode: 5}.String())
	sameContent(t, src, stored)
	sameContent(t, src, out)
	want := blocks(t, src)
	for _, p := range []string{stored, out} {
		if got := blocks(t, p); got > want+64 || got*512 > 8<<20 {
			t.Errorf("%s: %d blocks, source has %d: holes were filled", p, got, want)
		}
	}
}

func mustExtents(t testing.TB, path string, size int64) []Extent {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ext, err := FileExtents(f, size)
	if err != nil {
		t.Fatal(err)
	}
	return ext
}

func TestRandomFileRoundTrip(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	e := newEnv(t, Config{}, dataMux(t, dir), nil)
	c := e.dial(Config{}, nil)
	for i, size := range []int{0, 1, 4096, 9<<20 + 12345} {
		src := filepath.Join(t.TempDir(), "random")
		b := make([]byte, size)
		rand.Read(b)
		if err := os.WriteFile(src, b, 0o600); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(t.TempDir(), "back")
		storeAndFetch(t, c, src, uint32(10+i), out)
		sameContent(t, src, out)
		sameContent(t, src, filepath.Join(dir, "v"+proto.FID{Vnode: uint32(10 + i)}.String()))
	}
}

func TestFileExtentsFindsDataAndHoles(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	f, _ := os.Create(p)
	f.WriteAt([]byte("x"), 1<<20)
	f.Truncate(8 << 20)
	f.Close()
	ext := mustExtents(t, p, 8<<20)
	if len(ext) != 1 || ext[0].Off > 1<<20 || ext[0].Off+ext[0].Len <= 1<<20 || ext[0].Len > 1<<20 {
		t.Fatalf("extents %v", ext)
	}
	if ext := mustExtents(t, p, 4096); len(ext) != 0 {
		t.Fatalf("leading hole: extents %v", ext)
	}
}

// TestDownloadChecksumMismatchFailsCall: a server whose End frame does not
// match the data it sent makes the call fail, and Finish is not called.
func TestDownloadChecksumMismatchFailsCall(t *testing.T) {
	sink := &memSink{}
	err := fetchHello(t, 0, proto.EndOfData{Size: 5, Sum: xxhash.Sum64String("hellO")}, sink)
	if !errors.Is(err, ErrChecksum) || sink.finished {
		t.Fatalf("got %v, finished %v", err, sink.finished)
	}
	if !bytes.Contains([]byte(err.Error()), []byte("checksum")) {
		t.Fatalf("unclear error %q", err)
	}
}

// fetchHello fetches from a raw server that answers with the data "hello"
// and an End frame with flags and end, into sink.
func fetchHello(t *testing.T, flags uint8, end proto.EndOfData, sink Sink) error {
	srvTLS, cliTLS := testPKI(t)
	addr := rawServer(t, srvTLS, func(p *rawPeer) {
		if p.serveHello(proto.Version) != nil {
			return
		}
		f, err := p.read()
		if err != nil {
			return
		}
		b := proto.AppendReply(nil, f.ID, f.Op, proto.FlagHasData, &proto.AttrReply{})
		b = proto.AppendDataHeader(b, f.ID, 0, 5)
		b = append(b, "hello"...)
		b = proto.AppendEnd(b, f.ID, flags, end)
		_ = p.send(b)
		_, _ = p.read() // wait for the client to go
	})
	c, err := Dial(context.Background(), addr, proto.Hello{}, Config{TLS: cliTLS}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.Call(context.Background(), proto.OpFetch, &proto.FIDReq{}, &proto.AttrReply{}, &CallOpts{Download: sink})
}

// TestUploadChecksumMismatchRefused: a client whose End frame lies gets an
// error reply from the handler's Receive.
func TestUploadChecksumMismatchRefused(t *testing.T) {
	dir := t.TempDir()
	e := newEnv(t, Config{}, dataMux(t, dir), nil)
	p := e.rawDial()
	r := p.hello()
	b := proto.AppendRequest(nil, 3, proto.OpStore, proto.FlagHasData, r.ServerTime+int64(time.Minute), 0, &proto.Store{Size: 5})
	b = proto.AppendDataHeader(b, 3, 0, 5)
	b = append(b, "hello"...)
	b = proto.AppendEnd(b, 3, 0, proto.EndOfData{Size: 5, Sum: 1})
	_ = p.send(b)
	for {
		f, err := p.read()
		if err != nil {
			t.Fatal(err)
		}
		if f.Type == proto.FrameError {
			pe, _ := proto.ParseError(f.Body)
			if pe.Code != proto.CodeIO || !bytes.Contains([]byte(pe.Msg), []byte("checksum")) {
				t.Fatalf("got %+v", pe)
			}
			return
		}
		if f.Type == proto.FrameReply {
			t.Fatal("corrupt upload accepted")
		}
	}
}

// TestUploadNotConsumedIsDiscarded: a handler that ignores its upload still
// answers, and the connection stays usable.
func TestUploadNotConsumedIsDiscarded(t *testing.T) {
	m := echoMux()
	m.Handle(proto.OpStore, func(ctx context.Context, req *Request) (proto.Message, *Source, error) {
		return nil, nil, proto.ErrQuota
	})
	e := newEnv(t, Config{}, m, nil)
	c := e.dial(Config{}, nil)
	big := bytes.NewReader(make([]byte, 32<<20))
	for i := 0; i < 3; i++ {
		err := c.Call(context.Background(), proto.OpStore, &proto.Store{}, nil, &CallOpts{Upload: &Source{R: big, Size: big.Size()}})
		if !errors.Is(err, proto.ErrQuota) {
			t.Fatalf("got %v", err)
		}
	}
	if _, err := lookup(context.Background(), c, "x"); err != nil {
		t.Fatal(err)
	}
}

type failingReader struct{ after int64 }

func (r failingReader) ReadAt(p []byte, off int64) (int, error) {
	if off >= r.after {
		return 0, errors.New("disk on fire")
	}
	return len(p), nil
}

// TestSourceReadErrorAbortsDownload: a source that fails mid-stream makes
// the caller's download fail (not hang) with ErrAborted.
func TestSourceReadErrorAbortsDownload(t *testing.T) {
	m := echoMux()
	m.Handle(proto.OpFetch, func(ctx context.Context, req *Request) (proto.Message, *Source, error) {
		return &proto.AttrReply{}, &Source{R: failingReader{after: 3 << 20}, Size: 10 << 20}, nil
	})
	e := newEnv(t, Config{}, m, nil)
	c := e.dial(Config{}, nil)
	sink := &memSink{}
	err := c.Call(context.Background(), proto.OpFetch, &proto.FIDReq{}, &proto.AttrReply{}, &CallOpts{Download: sink})
	if !errors.Is(err, ErrAborted) || sink.finished {
		t.Fatalf("got %v", err)
	}
}

// slowSink takes a while per frame and keeps nothing.
type slowSink struct{}

func (slowSink) WriteAt(p []byte, off int64) (int, error) {
	time.Sleep(5 * time.Millisecond)
	return len(p), nil
}

func (slowSink) Finish(int64) error { return nil }

// TestSmallCallsNotStarvedByBulkData: while a 256 MiB download streams,
// small calls on the same connection still answer quickly.
func TestSmallCallsNotStarvedByBulkData(t *testing.T) {
	// Not parallel: it measures latency, which the package's other bulk
	// transfers running beside it would measure instead (560 ms once).
	m := echoMux()
	m.Handle(proto.OpFetch, func(ctx context.Context, req *Request) (proto.Message, *Source, error) {
		return &proto.AttrReply{}, &Source{R: zeroReader{}, Size: 256 << 20}, nil
	})
	e := newEnv(t, Config{}, m, nil)
	c := e.dial(Config{}, nil)
	done := make(chan error, 1)
	go func() {
		done <- c.Call(context.Background(), proto.OpFetch, &proto.FIDReq{}, nil, &CallOpts{Download: slowSink{}})
	}()
	var worst time.Duration
	for i := 0; i < 50; i++ {
		start := time.Now()
		if _, err := lookup(context.Background(), c, "small"); err != nil {
			t.Fatal(err)
		}
		worst = max(worst, time.Since(start))
	}
	select {
	case err := <-done:
		t.Fatalf("the download (at least 1.3 s) ended before 50 small calls did: %v", err)
	default:
	}
	if worst > 500*time.Millisecond {
		t.Errorf("a small call took %v during a bulk download", worst)
	}
	c.Close() // abandon the download
	<-done
	t.Logf("worst small call latency during bulk download: %v", worst)
}

type zeroReader struct{}

func (zeroReader) ReadAt(p []byte, off int64) (int, error) {
	clear(p)
	return len(p), nil
}

var _ io.ReaderAt = zeroReader{}

// TestSourceReleasedOnce: a reply's Source is released after it was sent,
// and also when the reply is dropped.
func TestSourceReleasedOnce(t *testing.T) {
	released := make(chan string, 4)
	m := echoMux()
	m.Handle(proto.OpFetch, func(ctx context.Context, req *Request) (proto.Message, *Source, error) {
		var r proto.FIDReq
		_ = req.Decode(&r)
		name := proto.FID{Vnode: r.FID.Vnode}.String()
		return &proto.AttrReply{}, &Source{R: zeroReader{}, Size: 3 << 20, Release: func() { released <- name }}, nil
	})
	var dropNext atomic.Bool
	e := newEnv(t, Config{FaultHook: func(op proto.Op) bool { return dropNext.Load() }}, m, nil)
	c := e.dial(Config{}, nil)
	fetch := func(v uint32, ctx context.Context) error {
		return c.Call(ctx, proto.OpFetch, &proto.FIDReq{FID: proto.FID{Vnode: v}}, &proto.AttrReply{}, &CallOpts{Download: &memSink{}})
	}
	if err := fetch(1, context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := <-released; got != "0.1.0" {
		t.Fatalf("released %s", got)
	}
	dropNext.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_ = fetch(2, ctx)
	if got := <-released; got != "0.2.0" {
		t.Fatalf("released %s", got)
	}
	select {
	case got := <-released:
		t.Fatalf("released %s again", got)
	default:
	}
}

// TestConcurrentUploadsBeyondMaxInflight: more concurrent uploads than
// handler slots on one connection all complete; queued uploads wait for
// credit instead of blocking the reader (which would deadlock the running
// ones behind their data).
func TestConcurrentUploadsBeyondMaxInflight(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	e := newEnv(t, Config{MaxInflight: 2}, dataMux(t, dir), nil)
	c := e.dial(Config{}, nil)
	data := make([]byte, 6<<20+1)
	rand.Read(data)
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		go func() {
			var ar proto.AttrReply
			errs <- c.Call(context.Background(), proto.OpStore, &proto.Store{FID: proto.FID{Vnode: uint32(100 + i)}}, &ar,
				&CallOpts{Upload: &Source{R: bytes.NewReader(data), Size: int64(len(data))}})
		}()
	}
	for i := 0; i < 8; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 8; i++ {
		got, err := os.ReadFile(filepath.Join(dir, "v"+proto.FID{Vnode: uint32(100 + i)}.String()))
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("upload %d: %v, %d bytes", i, err, len(got))
		}
	}
}

// TestDataBeyondCreditClosesConn: a peer that sends more upload data than
// it was granted loses its connection (we never buffer past the credit).
func TestDataBeyondCreditClosesConn(t *testing.T) {
	t.Parallel()
	m := echoMux()
	m.Handle(proto.OpStore, func(ctx context.Context, req *Request) (proto.Message, *Source, error) {
		<-ctx.Done() // never consumes: no credit beyond the initial grant
		return nil, nil, ctx.Err()
	})
	e := newEnv(t, Config{}, m, nil)
	p := e.rawDial()
	r := p.hello()
	b := proto.AppendRequest(nil, 3, proto.OpStore, proto.FlagHasData, r.ServerTime+int64(time.Minute), 0, &proto.Store{})
	_ = p.send(b)
	chunk := make([]byte, 64<<10)
	closed := false
	for off := int64(0); off < 2*proto.InitialUploadCredit && !closed; off += int64(len(chunk)) {
		closed = p.send(append(proto.AppendDataHeader(nil, 3, off, len(chunk)), chunk...)) != nil
	}
	for !closed {
		f, err := p.read()
		if err != nil {
			var ne interface{ Timeout() bool }
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatal("connection left open")
			}
			break
		}
		if f.Type != proto.FramePing && f.Type != proto.FrameBusy {
			t.Fatalf("got a %v frame", f.Type)
		}
	}
}

// TestLentDataReleasedAfterWritten: a Data source's bytes go out without a
// copy, so its Release must wait until the last frame is written: a
// Release that scribbles over them must not change what arrives, and it
// runs once. The same holds for an upload.
func TestLentDataReleasedAfterWritten(t *testing.T) {
	pattern := make([]byte, 9<<20+123) // beyond the window, not frame-aligned
	for i := range pattern {
		pattern[i] = byte(i * 31)
	}
	lend := func(released chan<- struct{}) *Source {
		b := bytes.Clone(pattern)
		return &Source{Data: b, Size: int64(len(b)), Release: func() {
			for i := range b {
				b[i] = 0xff
			}
			released <- struct{}{}
		}}
	}
	released := make(chan struct{}, 8)
	m := echoMux()
	m.Handle(proto.OpFetch, func(ctx context.Context, req *Request) (proto.Message, *Source, error) {
		return &proto.AttrReply{}, lend(released), nil
	})
	got := make(chan []byte, 1)
	m.Handle(proto.OpStore, func(ctx context.Context, req *Request) (proto.Message, *Source, error) {
		sink := &memSink{}
		if _, err := req.Data.Receive(sink); err != nil {
			return nil, nil, err
		}
		got <- sink.b
		return &proto.AttrReply{}, nil, nil
	})
	e := newEnv(t, Config{}, m, nil)
	c := e.dial(Config{}, nil)
	for i := 0; i < 3; i++ {
		sink := &memSink{}
		if err := c.Call(context.Background(), proto.OpFetch, &proto.FIDReq{}, &proto.AttrReply{}, &CallOpts{Download: sink}); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(sink.b, pattern) {
			t.Fatalf("download %d: lent bytes changed before they were sent", i)
		}
		<-released
		if err := c.Call(context.Background(), proto.OpStore, &proto.Store{}, &proto.AttrReply{}, &CallOpts{Upload: lend(released)}); err != nil {
			t.Fatal(err)
		}
		if b := <-got; !bytes.Equal(b, pattern) {
			t.Fatalf("upload %d: lent bytes changed before they were sent", i)
		}
		<-released
	}
	select {
	case <-released:
		t.Fatal("a source was released twice")
	default:
	}
}

// unsummedSink is a memSink that asks for no checksum.
type unsummedSink struct{ memSink }

func (*unsummedSink) Unsummed() {}

// TestUnsummedStreams: a stream sent without a checksum (Unsummed, End
// FlagNoSum) is accepted by any sink, an UnsummedSink accepts a summed
// one, and in both cases the size is still checked.
func TestUnsummedStreams(t *testing.T) {
	data := bytes.Repeat([]byte("coda"), 3<<18)
	m := echoMux()
	m.Handle(proto.OpFetch, func(ctx context.Context, req *Request) (proto.Message, *Source, error) {
		var r proto.FIDReq
		_ = req.Decode(&r)
		return &proto.AttrReply{}, &Source{R: bytes.NewReader(data), Size: int64(len(data)), Unsummed: r.FID.Vnode == 1}, nil
	})
	e := newEnv(t, Config{}, m, nil)
	c := e.dial(Config{}, nil)
	for _, unsummed := range []uint32{0, 1} {
		for _, sink := range []interface {
			Sink
			bytes() []byte
		}{&plainSink{}, &unsummedSink{}} {
			err := c.Call(context.Background(), proto.OpFetch, &proto.FIDReq{FID: proto.FID{Vnode: unsummed}}, &proto.AttrReply{}, &CallOpts{Download: sink})
			if err != nil || !bytes.Equal(sink.bytes(), data) {
				t.Fatalf("source unsummed %d, sink %T: %v", unsummed, sink, err)
			}
		}
	}

	// A stream longer than its End says, without a checksum, is refused.
	sink := &unsummedSink{}
	if err := fetchHello(t, proto.FlagNoSum, proto.EndOfData{Size: 3}, sink); !errors.Is(err, ErrChecksum) || sink.finished {
		t.Fatalf("a stream longer than its End's size: got %v", err)
	}
}

type plainSink struct{ memSink }

func (s *plainSink) bytes() []byte { return s.b }

func (s *unsummedSink) bytes() []byte { return s.b }
