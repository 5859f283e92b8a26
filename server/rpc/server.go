package rpc

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/coda-fs/coda/server/proto"
)

// Server accepts connections and serves requests with its Mux. Both ends
// of an accepted connection may call: the server calls the client to
// deliver callback breaks.
type Server struct {
	cfg    Config
	tls    *tls.Config
	mux    *Mux
	accept func(c *Conn, hello *proto.Hello) (proto.HelloReply, error)

	mu          sync.Mutex
	closed      bool
	listeners   map[net.Listener]struct{}
	handshaking map[net.Conn]struct{}
	conns       map[*Conn]struct{}
	onClose     func(*Conn)
	wg          sync.WaitGroup
}

// NewServer returns a server. cfg.TLS is a server config. accept is called
// with each new connection's Hello (the Conn's Hello field is set; Peer may
// be set by accept, which must not call on the connection yet): it returns
// the reply (Version and ServerTime are filled in) or an error, which is
// sent to the client as a refusal before the connection is closed. nil
// accepts everyone.
func NewServer(cfg Config, mux *Mux, accept func(c *Conn, hello *proto.Hello) (proto.HelloReply, error)) *Server {
	cfg = cfg.withDefaults()
	s := &Server{cfg: cfg, mux: mux, accept: accept,
		listeners: map[net.Listener]struct{}{}, handshaking: map[net.Conn]struct{}{}, conns: map[*Conn]struct{}{}}
	if cfg.TLS != nil {
		s.tls = cfg.tlsConfig()
	}
	return s
}

// OnClose sets a hook called once for every accepted connection after it
// died and its handlers returned.
func (s *Server) OnClose(f func(*Conn)) {
	s.mu.Lock()
	s.onClose = f
	s.mu.Unlock()
}

// Serve accepts connections on l, wrapping each in TLS, until Close; then
// it returns nil. Any other accept failure is returned.
func (s *Server) Serve(l net.Listener) error {
	if err := s.cfg.Validate(); err != nil {
		return err
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return l.Close()
	}
	s.listeners[l] = struct{}{}
	s.mu.Unlock()
	var backoff time.Duration
	for {
		raw, err := l.Accept()
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			var ne net.Error
			switch {
			case closed:
				return nil
			case errors.As(err, &ne) && ne.Timeout(), isTemporary(err):
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.cfg.Logger.Warn("rpc accept failed; retrying", "err", err)
				time.Sleep(backoff)
				continue
			}
			return fmt.Errorf("rpc: accepting connections: %w", err)
		}
		backoff = 0
		if !s.track(raw) {
			_ = raw.Close()
			return nil
		}
		s.wg.Add(1)
		go s.handle(raw)
	}
}

// isTemporary reports accept errors worth retrying (out of descriptors).
func isTemporary(err error) bool {
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary()
}

func (s *Server) track(raw net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.handshaking[raw] = struct{}{}
	return true
}

// handle runs one connection from handshake to death.
func (s *Server) handle(raw net.Conn) {
	defer s.wg.Done()
	c, err := s.handshake(raw)
	s.mu.Lock()
	delete(s.handshaking, raw)
	if err == nil && s.closed {
		err = errors.New("server closing")
	}
	if err == nil {
		s.conns[c.conn] = struct{}{}
	}
	s.mu.Unlock()
	if err != nil {
		_ = raw.Close()
		s.cfg.Logger.Debug("rpc handshake failed", "peer", raw.RemoteAddr().String(), "err", err)
		return
	}
	c.start()
	<-c.done
	c.ioWG.Wait()
	c.wg.Wait()
	s.mu.Lock()
	delete(s.conns, c.conn)
	hook := s.onClose
	s.mu.Unlock()
	if hook != nil {
		hook(c.conn)
	}
}

// handshake does TLS and the Hello exchange within HandshakeTimeout.
func (s *Server) handshake(raw net.Conn) (*connImpl, error) {
	_ = raw.SetDeadline(time.Now().Add(s.cfg.HandshakeTimeout))
	raw = newLiveConn(raw)
	tc := tls.Server(raw, s.tls)
	if err := tc.Handshake(); err != nil {
		return nil, fmt.Errorf("TLS handshake: %w", err)
	}
	br := bufio.NewReaderSize(tc, ioBufSize)
	f, err := proto.ReadFrame(br, nil)
	if err != nil {
		return nil, fmt.Errorf("reading hello: %w", err)
	}
	if f.Type != proto.FrameRequest || f.Op != proto.OpHello || f.ID != 1 {
		return nil, fmt.Errorf("first frame is a %v %v, not a hello", f.Op, f.Type)
	}
	var hello proto.Hello
	_, msg, err := proto.ParseRequest(f.Body)
	if err == nil {
		err = proto.Unmarshal(msg, &hello)
	}
	if err != nil {
		return nil, refuse(tc, proto.Errorf(proto.CodeProtocol, fmt.Sprintf("malformed hello: %v", err)))
	}
	if hello.Version != proto.Version {
		// Answer with our version so the client can say what is wrong.
		reply := proto.HelloReply{Version: proto.Version, ServerTime: time.Now().UnixNano()}
		_, _ = tc.Write(proto.AppendReply(nil, 1, proto.OpHello, 0, &reply))
		_ = tc.CloseWrite()
		return nil, fmt.Errorf("client speaks protocol version %d", hello.Version)
	}
	c := newConn(raw, tc, br, s.cfg, s.mux, false, 0)
	c.conn.Hello = hello
	var reply proto.HelloReply
	if s.accept != nil {
		if reply, err = s.accept(c.conn, &hello); err != nil {
			return nil, refuse(tc, err)
		}
	}
	reply.Version = proto.Version
	reply.ServerTime = time.Now().UnixNano()
	if _, err := tc.Write(proto.AppendReply(nil, 1, proto.OpHello, 0, &reply)); err != nil {
		return nil, fmt.Errorf("sending hello reply: %w", err)
	}
	c.conn.HelloReply = reply
	_ = raw.SetDeadline(time.Time{})
	return c, nil
}

// refuse sends err as the answer to the Hello and returns it.
func refuse(tc *tls.Conn, err error) error {
	code, msg := wireError(err)
	_, _ = tc.Write(proto.AppendError(nil, 1, proto.OpHello, code, msg))
	_ = tc.CloseWrite()
	return fmt.Errorf("refused: %w", err)
}

// Close stops accepting, closes every connection and waits until every
// handler has returned and every OnClose hook has run. Serve returns nil.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	var ls []net.Listener
	for l := range s.listeners {
		ls = append(ls, l)
	}
	var raws []net.Conn
	for r := range s.handshaking {
		raws = append(raws, r)
	}
	var conns []*Conn
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, l := range ls {
		_ = l.Close()
	}
	for _, r := range raws {
		_ = r.Close()
	}
	for _, c := range conns {
		c.impl.die("server closing", nil)
	}
	s.wg.Wait()
	return nil
}

// Conns returns the live connections.
func (s *Server) Conns() []*Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*Conn, 0, len(s.conns))
	for c := range s.conns {
		out = append(out, c)
	}
	return out
}
