package rpc

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coda-fs/coda/server/proto"
)

// TestSlowHandlerOutlivesDeadAfter: a handler taking 3 s on connections
// that die after 1 s of silence completes; slow is not dead.
func TestSlowHandlerOutlivesDeadAfter(t *testing.T) {
	t.Parallel()
	cfg := Config{DeadAfter: time.Second, ProbeInterval: 300 * time.Millisecond, BusyInterval: 300 * time.Millisecond}
	m := echoMux()
	m.Handle(proto.OpGetAttr, func(ctx context.Context, req *Request) (proto.Message, *Source, error) {
		select {
		case <-time.After(3 * time.Second):
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		}
		return &proto.AttrReply{Attr: proto.Attr{Size: 42}}, nil, nil
	})
	e := newEnv(t, cfg, m, nil)
	c := e.dial(cfg, nil)
	var r proto.AttrReply
	if err := c.Call(context.Background(), proto.OpGetAttr, &proto.FIDReq{}, &r, nil); err != nil || r.Attr.Size != 42 {
		t.Fatalf("got %v, %+v", err, r)
	}
}

// TestBusyKeepalivesWhileHandlerRuns counts BUSY frames for a slow request
// on a raw connection that itself sends nothing (so only keepalives and
// pings arrive).
func TestBusyKeepalivesWhileHandlerRuns(t *testing.T) {
	t.Parallel()
	cfg := Config{BusyInterval: 100 * time.Millisecond, ProbeInterval: 400 * time.Millisecond, DeadAfter: 5 * time.Second}
	m := echoMux()
	m.Handle(proto.OpGetAttr, func(ctx context.Context, req *Request) (proto.Message, *Source, error) {
		time.Sleep(700 * time.Millisecond)
		return nil, nil, nil
	})
	e := newEnv(t, cfg, m, nil)
	p := e.rawDial()
	r := p.hello()
	_ = p.send(proto.AppendRequest(nil, 3, proto.OpGetAttr, 0, r.ServerTime+int64(time.Minute), 0, &proto.FIDReq{}))
	busy := 0
	for {
		f, err := p.read()
		if err != nil {
			t.Fatal(err)
		}
		switch f.Type {
		case proto.FrameBusy:
			if f.ID != 3 {
				t.Fatalf("busy for request %d", f.ID)
			}
			busy++
		case proto.FramePing:
			_ = p.send(proto.AppendFrame(nil, proto.Frame{Type: proto.FramePong, ID: f.ID}))
		case proto.FrameReply:
			if busy < 4 {
				t.Fatalf("%d busy frames during a 700ms request at 100ms intervals", busy)
			}
			return
		default:
			t.Fatalf("unexpected %v frame", f.Type)
		}
	}
}

// TestSilentPeerDeclaredDead: a server that completes the handshake and
// then neither reads nor writes is declared dead within DeadAfter plus a
// little, and pending calls fail with ErrTimeout.
func TestSilentPeerDeclaredDead(t *testing.T) {
	t.Parallel()
	srvTLS, cliTLS := testPKI(t)
	hang := make(chan struct{})
	defer close(hang)
	addr := rawServer(t, srvTLS, func(p *rawPeer) {
		if p.serveHello(proto.Version) == nil {
			<-hang
		}
	})
	cfg := Config{TLS: cliTLS, DeadAfter: 600 * time.Millisecond, ProbeInterval: 100 * time.Millisecond}
	c, err := Dial(context.Background(), addr, proto.Hello{}, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	errs := make(chan error, 3)
	for i := 0; i < 3; i++ {
		go func() { _, err := lookup(context.Background(), c, "x"); errs <- err }()
	}
	for i := 0; i < 3; i++ {
		if err := <-errs; !errors.Is(err, proto.ErrTimeout) {
			t.Fatalf("pending call: %v", err)
		}
	}
	if took := time.Since(start); took > 600*time.Millisecond+400*time.Millisecond {
		t.Fatalf("declared dead after %v", took)
	}
	<-c.Done()
	if !errors.Is(c.Err(), proto.ErrTimeout) {
		t.Fatalf("Err() = %v", c.Err())
	}
}

// TestDialSilentListenerTimesOut: a listener that accepts TCP but never
// speaks TLS fails Dial within HandshakeTimeout.
func TestDialSilentListenerTimesOut(t *testing.T) {
	t.Parallel()
	_, cliTLS := testPKI(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	start := time.Now()
	_, err = Dial(context.Background(), l.Addr().String(), proto.Hello{}, Config{TLS: cliTLS, HandshakeTimeout: 300 * time.Millisecond}, nil)
	if !errors.Is(err, proto.ErrTimeout) || time.Since(start) > 2*time.Second {
		t.Fatalf("got %v after %v", err, time.Since(start))
	}
}

// TestExpiredRequestRefused: a request whose deadline passed before the
// server read it is refused with CodeExpired and never served.
func TestExpiredRequestRefused(t *testing.T) {
	t.Parallel()
	var served atomic.Int32
	m := echoMux()
	m.Handle(proto.OpStore, func(ctx context.Context, req *Request) (proto.Message, *Source, error) {
		served.Add(1)
		return nil, nil, nil
	})
	e := newEnv(t, Config{}, m, nil)
	p := e.rawDial()
	r := p.hello()
	_ = p.send(proto.AppendRequest(nil, 3, proto.OpStore, 0, r.ServerTime-int64(time.Second), 0, &proto.Store{}))
	_ = p.send(proto.AppendRequest(nil, 5, proto.OpStore, 0, 0, 0, &proto.Store{}))
	for _, want := range []proto.Code{proto.CodeExpired, proto.CodeProtocol} {
		f, err := p.read()
		for err == nil && f.Type == proto.FramePing {
			f, err = p.read()
		}
		if err != nil || f.Type != proto.FrameError {
			t.Fatalf("got %v %v", f.Type, err)
		}
		pe, _ := proto.ParseError(f.Body)
		if pe.Code != want {
			t.Fatalf("got %v, want code %d", pe, want)
		}
	}
	if served.Load() != 0 {
		t.Fatal("expired request was served")
	}
}

// TestDeadlineIsOnServerClock: a client whose idea of the server's clock
// is an hour behind sends deadlines that have long passed there.
func TestDeadlineIsOnServerClock(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{}, echoMux(), nil)
	c := e.dial(Config{}, nil)
	c.impl.offset = -int64(time.Hour)
	if _, err := lookup(context.Background(), c, "x"); !errors.Is(err, proto.ErrExpired) {
		t.Fatalf("skewed an hour back: %v", err)
	}
	c.impl.offset = int64(time.Hour)
	if _, err := lookup(context.Background(), c, "x"); err != nil {
		t.Fatalf("skewed an hour ahead: %v", err)
	}
}

// TestGarbageClosesOnlyThatConn: garbage, a huge length word, an unknown
// frame type or a non-hello first frame close that connection; the server
// keeps serving others.
func TestGarbageClosesOnlyThatConn(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{}, echoMux(), nil)
	good := e.dial(Config{}, nil)
	huge := proto.AppendHeader(nil, proto.FrameRequest, 0, proto.OpLookup, 3, 0)
	huge[0], huge[1], huge[2], huge[3] = 0xff, 0xff, 0xff, 0x7f
	cases := map[string]struct {
		hello bool
		bytes []byte
	}{
		"garbage before hello":  {false, []byte("GET / HTTP/1.1\r\n\r\nxxxxxxxxxxxxxxxxxxxxxxxxxxxxx")},
		"request before hello":  {false, proto.AppendRequest(nil, 1, proto.OpLookup, 0, 1, 0, &proto.Lookup{})},
		"garbage after hello":   {true, []byte("\x00\x01\x02\x03garbage garbage garbage!")},
		"huge length":           {true, huge},
		"unknown frame type":    {true, proto.AppendFrame(nil, proto.Frame{Type: 200, ID: 3})},
		"request of wrong id":   {true, proto.AppendRequest(nil, 4, proto.OpLookup, 0, 1<<62, 0, &proto.Lookup{})},
		"reply never asked for": {true, proto.AppendReply(nil, 3, proto.OpLookup, 0, nil)},
	}
	for name, tc := range cases {
		p := e.rawDial()
		if tc.hello {
			p.hello()
		}
		_ = p.send(tc.bytes)
		for {
			f, err := p.read()
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					t.Fatalf("%s: connection left open", name)
				}
				break
			}
			if f.Type != proto.FramePing && f.Type != proto.FrameError {
				t.Fatalf("%s: got a %v frame", name, f.Type)
			}
		}
		if n, err := lookup(context.Background(), good, name); err != nil || n != name {
			t.Fatalf("after %s: other client got %q, %v", name, n, err)
		}
	}
}

// TestServerCloseWaitsForHandlersAndFiresOnClose.
func TestServerCloseWaitsForHandlersAndFiresOnClose(t *testing.T) {
	t.Parallel()
	var finished atomic.Bool
	started := make(chan struct{})
	m := echoMux()
	m.Handle(proto.OpGetAttr, func(ctx context.Context, req *Request) (proto.Message, *Source, error) {
		close(started)
		<-ctx.Done()
		time.Sleep(100 * time.Millisecond) // cleanup that Close must wait for
		finished.Store(true)
		return nil, nil, ctx.Err()
	})
	e := newEnv(t, Config{}, m, func(c *Conn, h *proto.Hello) (proto.HelloReply, error) {
		c.Peer = h.Name
		return proto.HelloReply{}, nil
	})
	closed := make(chan any, 2)
	e.srv.OnClose(func(c *Conn) {
		if !finished.Load() && c.Peer == "slow" {
			t.Error("OnClose ran before the connection's handlers returned")
		}
		closed <- c.Peer
	})
	cfg := Config{TLS: e.clientTLS}
	quick, err := Dial(context.Background(), e.addr, proto.Hello{Name: "quick"}, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	quick.Close()
	if p := <-closed; p != "quick" {
		t.Fatalf("OnClose for %v", p)
	}
	slow, err := Dial(context.Background(), e.addr, proto.Hello{Name: "slow"}, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	callErr := make(chan error, 1)
	go func() { callErr <- slow.Call(context.Background(), proto.OpGetAttr, &proto.FIDReq{}, nil, nil) }()
	<-started
	e.srv.Close()
	if !finished.Load() {
		t.Fatal("Server.Close returned before the handler did")
	}
	if p := <-closed; p != "slow" {
		t.Fatalf("OnClose for %v", p)
	}
	if err := <-callErr; !errors.Is(err, proto.ErrTimeout) {
		t.Fatalf("call on a closed server: %v", err)
	}
}

var _ = tls.VersionTLS13
