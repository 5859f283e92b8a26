package rpc

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coda-fs/coda/server/proto"
)

func TestManyConcurrentCallsOnOneConn(t *testing.T) {
	e := newEnv(t, Config{}, echoMux(), nil)
	c := e.dial(Config{}, nil)
	const workers, calls = 32, 200
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < calls; i++ {
				want := fmt.Sprintf("w%d-%d", w, i)
				got, err := lookup(context.Background(), c, want)
				if err != nil || got != want {
					errs <- fmt.Errorf("call %s: got %q, %v", want, got, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestHelloReplyAndClockOffset(t *testing.T) {
	accept := func(c *Conn, h *proto.Hello) (proto.HelloReply, error) {
		c.Peer = h.Name
		return proto.HelloReply{ServerID: 7, Incarnation: 99}, nil
	}
	e := newEnv(t, Config{}, echoMux(), accept)
	c := e.dial(Config{}, nil)
	r := c.HelloReply
	if r.Version != proto.Version || r.ServerID != 7 || r.Incarnation != 99 || r.ServerTime == 0 {
		t.Fatalf("hello reply %+v", r)
	}
	if off := c.ClockOffset(); off > time.Second || off < -time.Second {
		t.Fatalf("clock offset %v on one machine", off)
	}
	waitFor(t, "server side conn", func() bool { return len(e.srv.Conns()) == 1 })
	if sc := e.srv.Conns()[0]; sc.Peer != "client" || sc.Hello.Realm != "test" {
		t.Fatalf("server side: peer %v hello %+v", sc.Peer, sc.Hello)
	}
}

func TestRealmRefusalIsClear(t *testing.T) {
	accept := func(c *Conn, h *proto.Hello) (proto.HelloReply, error) {
		return proto.HelloReply{}, proto.Errorf(proto.CodeAccess, "realm \"test\" is not served here")
	}
	e := newEnv(t, Config{}, echoMux(), accept)
	_, err := Dial(context.Background(), e.addr, proto.Hello{Realm: "test"}, Config{TLS: e.clientTLS}, nil)
	if err == nil || err.Error() != `server refused: realm "test" is not served here` || !errors.Is(err, proto.ErrAccess) {
		t.Fatalf("got %v", err)
	}
}

func TestVersionMismatchIsClear(t *testing.T) {
	srvTLS, cliTLS := testPKI(t)
	addr := rawServer(t, srvTLS, func(p *rawPeer) { _ = p.serveHello(proto.Version + 1) })
	_, err := Dial(context.Background(), addr, proto.Hello{}, Config{TLS: cliTLS}, nil)
	want := fmt.Sprintf("server speaks protocol version %d, we speak %d", proto.Version+1, proto.Version)
	if err == nil || err.Error() != want {
		t.Fatalf("got %v, want %q", err, want)
	}
}

func TestServerAnswersOldClientWithItsVersion(t *testing.T) {
	e := newEnv(t, Config{}, echoMux(), nil)
	p := e.rawDial()
	_ = p.send(proto.AppendRequest(nil, 1, proto.OpHello, 0, 0, 0, &proto.Hello{Version: 99}))
	f, err := p.read()
	var r proto.HelloReply
	if err != nil || f.Type != proto.FrameReply || proto.Unmarshal(f.Body, &r) != nil || r.Version != proto.Version {
		t.Fatalf("got %v %v %+v", f.Type, err, r)
	}
	if _, err := p.read(); err == nil {
		t.Fatal("connection still open after a version mismatch")
	}
}

func TestErrorRepliesKeepCodeAndMessage(t *testing.T) {
	m := echoMux()
	m.Handle(proto.OpGetAttr, func(ctx context.Context, req *Request) (proto.Message, *Source, error) {
		return nil, nil, fmt.Errorf("looking up 1.2.3: %w", proto.Errorf(proto.CodeStale, "object 1.2.3 changed"))
	})
	m.Handle(proto.OpReadlink, func(ctx context.Context, req *Request) (proto.Message, *Source, error) {
		panic("handler bug")
	})
	e := newEnv(t, Config{}, m, nil)
	c := e.dial(Config{}, nil)
	err := c.Call(context.Background(), proto.OpGetAttr, &proto.FIDReq{}, &proto.AttrReply{}, nil)
	var pe *proto.Error
	if !errors.As(err, &pe) || pe.Code != proto.CodeStale || pe.Msg != "looking up 1.2.3: object 1.2.3 changed" {
		t.Fatalf("got %#v", err)
	}
	err = c.Call(context.Background(), proto.OpMkdir, &proto.Create{}, nil, nil)
	if !errors.Is(err, proto.ErrNotSupported) {
		t.Fatalf("unknown op: got %v", err)
	}
	err = c.Call(context.Background(), proto.OpReadlink, &proto.FIDReq{}, nil, nil)
	if !errors.Is(err, proto.ErrIO) {
		t.Fatalf("panicking handler: got %v", err)
	}
	if _, err := lookup(context.Background(), c, "still fine"); err != nil {
		t.Fatalf("connection unusable after error replies: %v", err)
	}
}

func TestMalformedRequestBodyIsProtocolError(t *testing.T) {
	e := newEnv(t, Config{}, echoMux(), nil)
	c := e.dial(Config{}, nil)
	// A FIDReq is too short to be a Lookup.
	err := c.Call(context.Background(), proto.OpLookup, &proto.FIDReq{}, nil, nil)
	if !errors.Is(err, proto.ErrProtocol) {
		t.Fatalf("got %v", err)
	}
}

func TestCallbackBreakFromServerToClient(t *testing.T) {
	conns := make(chan *Conn, 1)
	accept := func(c *Conn, h *proto.Hello) (proto.HelloReply, error) {
		conns <- c
		return proto.HelloReply{}, nil
	}
	e := newEnv(t, Config{}, echoMux(), accept)
	got := make(chan []proto.FID, 1)
	cm := &Mux{}
	cm.Handle(proto.OpCallbackBreak, func(ctx context.Context, req *Request) (proto.Message, *Source, error) {
		var cb proto.CallbackBreak
		if err := req.Decode(&cb); err != nil {
			return nil, nil, err
		}
		got <- cb.FIDs
		return nil, nil, nil
	})
	e.dial(Config{}, cm)
	sc := <-conns
	fids := []proto.FID{{Volume: 1, Vnode: 2, Unique: 3}}
	if err := sc.Call(context.Background(), proto.OpCallbackBreak, &proto.CallbackBreak{FIDs: fids}, nil, nil); err != nil {
		t.Fatal(err)
	}
	if g := <-got; len(g) != 1 || g[0] != fids[0] {
		t.Fatalf("client got %v", g)
	}
	// A client without a mux refuses calls.
	e.dial(Config{}, nil)
	sc = <-conns
	err := sc.Call(context.Background(), proto.OpCallbackBreak, &proto.CallbackBreak{FIDs: fids}, nil, nil)
	if !errors.Is(err, proto.ErrNotSupported) {
		t.Fatalf("client without mux: %v", err)
	}
}

func TestCancelledCallReturnsAndCancelsHandler(t *testing.T) {
	handlerDone := make(chan error, 1)
	started := make(chan struct{})
	m := echoMux()
	m.Handle(proto.OpGetAttr, func(ctx context.Context, req *Request) (proto.Message, *Source, error) {
		close(started)
		<-ctx.Done()
		handlerDone <- ctx.Err()
		return nil, nil, ctx.Err()
	})
	e := newEnv(t, Config{}, m, nil)
	c := e.dial(Config{}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-started; cancel() }()
	err := c.Call(ctx, proto.OpGetAttr, &proto.FIDReq{}, nil, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("call: %v", err)
	}
	select {
	case err := <-handlerDone:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("handler ctx: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the handler was not cancelled")
	}
	if _, err := lookup(context.Background(), c, "x"); err != nil {
		t.Fatal(err)
	}
}

func TestCallerDeadlineBoundsHandlerButStartByDoesNot(t *testing.T) {
	m := echoMux()
	type seen struct {
		hasDeadline bool
		err         error
	}
	got := make(chan seen, 2)
	m.Handle(proto.OpGetAttr, func(ctx context.Context, req *Request) (proto.Message, *Source, error) {
		_, has := ctx.Deadline()
		select {
		case <-ctx.Done():
		case <-time.After(300 * time.Millisecond):
		}
		got <- seen{has, ctx.Err()}
		return nil, nil, nil
	})
	e := newEnv(t, Config{}, m, nil)
	c := e.dial(Config{StartBy: 50 * time.Millisecond}, nil)
	// StartBy (50ms) is shorter than the handler: its ctx is not cut.
	if err := c.Call(context.Background(), proto.OpGetAttr, &proto.FIDReq{}, nil, nil); err != nil {
		t.Fatal(err)
	}
	if s := <-got; s.hasDeadline || s.err != nil {
		t.Fatalf("start-by deadline leaked into the handler: %+v", s)
	}
	// The caller's own deadline ends the handler's ctx too. On a loaded
	// machine the request may reach the server after that deadline; the
	// server then refuses it (CodeExpired) and no handler runs: try again.
	c2 := e.dial(Config{}, nil)
	for attempt := 0; ; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		err := c2.Call(ctx, proto.OpGetAttr, &proto.FIDReq{}, nil, nil)
		cancel()
		select {
		case s := <-got:
			if !s.hasDeadline || s.err == nil {
				t.Fatalf("caller deadline not applied: %+v", s)
			}
			return
		case <-time.After(5 * time.Second):
			if attempt == 5 {
				t.Fatalf("handler never ran in 6 attempts (last call error: %v)", err)
			}
		}
	}
}

func TestQueuedBeyondMaxInflightStillServed(t *testing.T) {
	var running, peak atomic.Int32
	release := make(chan struct{})
	m := echoMux()
	m.Handle(proto.OpGetAttr, func(ctx context.Context, req *Request) (proto.Message, *Source, error) {
		n := running.Add(1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		<-release
		running.Add(-1)
		return nil, nil, nil
	})
	e := newEnv(t, Config{MaxInflight: 3}, m, nil)
	c := e.dial(Config{}, nil)
	var wg sync.WaitGroup
	errs := make(chan error, 6)
	for i := 0; i < 6; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- c.Call(context.Background(), proto.OpGetAttr, &proto.FIDReq{}, nil, nil)
		}()
	}
	waitFor(t, "three handlers running", func() bool { return running.Load() == 3 })
	// Pings are answered while every handler slot is taken.
	if _, err := c.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if peak.Load() != 3 {
		t.Fatalf("peak concurrency %d, want 3", peak.Load())
	}
}

func TestFaultHookDropsReply(t *testing.T) {
	var served atomic.Int32
	m := echoMux()
	m.Handle(proto.OpSetAttr, func(ctx context.Context, req *Request) (proto.Message, *Source, error) {
		served.Add(1)
		return &proto.AttrReply{}, nil, nil
	})
	hook := func(op proto.Op) bool { return op == proto.OpSetAttr }
	e := newEnv(t, Config{FaultHook: hook}, m, nil)
	c := e.dial(Config{}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err := c.Call(ctx, proto.OpSetAttr, &proto.SetAttr{}, &proto.AttrReply{}, nil)
	if !errors.Is(err, context.DeadlineExceeded) || served.Load() != 1 {
		t.Fatalf("got %v, served %d", err, served.Load())
	}
	if _, err := lookup(context.Background(), c, "ok"); err != nil {
		t.Fatal(err)
	}
}

func TestPingMeasuresRoundTrip(t *testing.T) {
	e := newEnv(t, Config{}, echoMux(), nil)
	c := e.dial(Config{}, nil)
	rtt, err := c.Ping(context.Background())
	if err != nil || rtt <= 0 || rtt > time.Second {
		t.Fatalf("rtt %v err %v", rtt, err)
	}
	if c.RemoteAddr() != e.addr {
		t.Fatalf("remote addr %s, want %s", c.RemoteAddr(), e.addr)
	}
}

func TestCallOnClosedConnFails(t *testing.T) {
	e := newEnv(t, Config{}, echoMux(), nil)
	c := e.dial(Config{}, nil)
	c.Close()
	<-c.Done()
	_, err := lookup(context.Background(), c, "x")
	if !errors.Is(err, proto.ErrTimeout) || proto.CodeOf(err) != proto.CodeTimeout {
		t.Fatalf("got %v", err)
	}
	if !strings.Contains(c.Err().Error(), "closed") {
		t.Fatalf("Err() = %v", c.Err())
	}
}
