package rpc

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"time"

	"github.com/coda-fs/coda/server/proto"
)

// Dial connects to a server: TCP, TLS 1.3 with cfg.TLS (a client config),
// then the Hello exchange (hello.Version is set to proto.Version). The
// server's HelloReply is in the returned Conn's HelloReply, and the skew
// between its clock and ours is measured so that deadlines are sent on the
// server's clock. mux serves the server's calls to us (callback breaks);
// nil refuses them with proto.CodeNotSupported. ctx bounds the dial and
// handshake only (so does cfg.HandshakeTimeout); the connection lives
// until Close or until it dies.
//
// An unreachable server gives a *ConnError (matching proto.ErrTimeout); a
// refusal gives "server refused: MSG" wrapping the server's *proto.Error;
// another protocol version gives a proto.CodeNotSupported error.
func Dial(ctx context.Context, addr string, hello proto.Hello, cfg Config, mux *Mux) (*Conn, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	hctx, cancel := context.WithTimeout(ctx, cfg.HandshakeTimeout)
	defer cancel()
	var d net.Dialer
	raw, err := d.DialContext(hctx, "tcp", addr)
	if err != nil {
		return nil, &ConnError{Addr: addr, Reason: "cannot connect", Err: err}
	}
	tcfg := cfg.tlsConfig()
	if tcfg.ServerName == "" {
		if host, _, err := net.SplitHostPort(addr); err == nil {
			tcfg.ServerName = host
		}
	}
	raw = newLiveConn(raw)
	tc := tls.Client(raw, tcfg)
	if err := tc.HandshakeContext(hctx); err != nil {
		_ = raw.Close()
		return nil, &ConnError{Addr: addr, Reason: "TLS handshake failed", Err: err}
	}
	c, err := clientHello(hctx, raw, tc, hello, cfg, mux)
	if err != nil {
		_ = raw.Close()
		return nil, err
	}
	c.start()
	return c.conn, nil
}

// clientHello sends the Hello and reads the server's answer.
func clientHello(ctx context.Context, raw net.Conn, tc *tls.Conn, hello proto.Hello, cfg Config, mux *Mux) (*connImpl, error) {
	addr := raw.RemoteAddr().String()
	if dl, ok := ctx.Deadline(); ok {
		_ = raw.SetDeadline(dl)
	}
	hello.Version = proto.Version
	t0 := time.Now()
	if _, err := tc.Write(proto.AppendRequest(nil, 1, proto.OpHello, 0, 0, 0, &hello)); err != nil {
		return nil, &ConnError{Addr: addr, Reason: "sending hello", Err: err}
	}
	br := bufio.NewReaderSize(tc, ioBufSize)
	f, err := proto.ReadFrame(br, nil)
	if err != nil {
		return nil, &ConnError{Addr: addr, Reason: "no answer to hello", Err: err}
	}
	t1 := time.Now()
	var reply proto.HelloReply
	switch {
	case f.ID != 1 || (f.Type != proto.FrameReply && f.Type != proto.FrameError):
		return nil, proto.Errorf(proto.CodeProtocol, fmt.Sprintf("server %s answered hello with a %v frame", addr, f.Type))
	case f.Type == proto.FrameError:
		perr, err := proto.ParseError(f.Body)
		if err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("server refused: %w", perr)
	}
	if err := proto.Unmarshal(f.Body, &reply); err != nil {
		return nil, proto.Errorf(proto.CodeProtocol, fmt.Sprintf("bad hello reply from %s: %v", addr, err))
	}
	if reply.Version != proto.Version {
		return nil, proto.Errorf(proto.CodeNotSupported,
			fmt.Sprintf("server speaks protocol version %d, we speak %d", reply.Version, proto.Version))
	}
	_ = raw.SetDeadline(time.Time{})
	mid := t0.UnixNano() + t1.Sub(t0).Nanoseconds()/2
	c := newConn(raw, tc, br, cfg, mux, true, reply.ServerTime-mid)
	c.conn.Hello = hello
	c.conn.HelloReply = reply
	return c, nil
}
