package rpc

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/coda-fs/coda/server/proto"
)

// testPKI makes a CA and a server certificate for 127.0.0.1.
func testPKI(t testing.TB) (server, client *tls.Config) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test realm CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "server"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	server = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	client = &tls.Config{RootCAs: pool}
	return server, client
}

// env is a running server and what a client needs to reach it.
type env struct {
	t         testing.TB
	srv       *Server
	addr      string
	serverTLS *tls.Config
	clientTLS *tls.Config
}

// newEnv starts a server on 127.0.0.1 serving mux; the server is closed
// (and Serve's return checked) when the test ends.
func newEnv(t testing.TB, cfg Config, mux *Mux, accept func(*Conn, *proto.Hello) (proto.HelloReply, error)) *env {
	t.Helper()
	e := &env{t: t}
	e.serverTLS, e.clientTLS = testPKI(t)
	cfg.TLS = e.serverTLS
	e.srv = NewServer(cfg, mux, accept)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.addr = l.Addr().String()
	served := make(chan error, 1)
	go func() { served <- e.srv.Serve(l) }()
	t.Cleanup(func() {
		if err := e.srv.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if err := <-served; err != nil {
			t.Errorf("Serve returned %v after Close", err)
		}
	})
	return e
}

// dial connects a client; it is closed when the test ends.
func (e *env) dial(cfg Config, mux *Mux) *Conn {
	e.t.Helper()
	cfg.TLS = e.clientTLS
	c, err := Dial(context.Background(), e.addr, proto.Hello{Realm: "test", Name: "client"}, cfg, mux)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { c.Close() })
	return c
}

// echoMux answers OpLookup with a RootVolume named after the looked-up
// name.
func echoMux() *Mux {
	m := &Mux{}
	m.Handle(proto.OpLookup, func(ctx context.Context, req *Request) (proto.Message, *Source, error) {
		var l proto.Lookup
		if err := req.Decode(&l); err != nil {
			return nil, nil, err
		}
		return &proto.RootVolume{Name: l.Name}, nil, nil
	})
	return m
}

func lookup(ctx context.Context, c *Conn, name string) (string, error) {
	var r proto.RootVolume
	err := c.Call(ctx, proto.OpLookup, &proto.Lookup{Dir: proto.FID{Volume: 1, Vnode: 1, Unique: 1}, Name: name}, &r, nil)
	return r.Name, err
}

// fileSink writes into a file and sets its size at Finish.
type fileSink struct {
	f        *os.File
	finished bool
}

func (s *fileSink) WriteAt(b []byte, off int64) (int, error) { return s.f.WriteAt(b, off) }
func (s *fileSink) Finish(size int64) error {
	s.finished = true
	return s.f.Truncate(size)
}

// memSink collects data in memory.
type memSink struct {
	mu       sync.Mutex
	b        []byte
	finished bool
}

func (s *memSink) WriteAt(p []byte, off int64) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if end := off + int64(len(p)); end > int64(len(s.b)) {
		s.b = append(s.b, make([]byte, end-int64(len(s.b)))...)
	}
	copy(s.b[off:], p)
	return len(p), nil
}

func (s *memSink) Finish(size int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if size > int64(len(s.b)) {
		s.b = append(s.b, make([]byte, size-int64(len(s.b)))...)
	}
	s.b = s.b[:size]
	s.finished = true
	return nil
}

// rawPeer speaks frames directly, to play a broken or hostile peer.
type rawPeer struct {
	t  testing.TB
	c  *tls.Conn
	br *bufio.Reader
}

func newRawPeer(t testing.TB, c *tls.Conn) *rawPeer {
	return &rawPeer{t: t, c: c, br: bufio.NewReader(c)}
}

// rawDial connects with TLS but speaks no protocol yet.
func (e *env) rawDial() *rawPeer {
	e.t.Helper()
	c, err := tls.Dial("tcp", e.addr, e.clientTLS)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { c.Close() })
	return newRawPeer(e.t, c)
}

func (p *rawPeer) send(b []byte) error {
	_, err := p.c.Write(b)
	return err
}

// read reads one frame, failing the test after 5 s.
func (p *rawPeer) read() (proto.Frame, error) {
	_ = p.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	return proto.ReadFrame(p.br, nil)
}

// hello does the client side of the handshake and returns the reply.
func (p *rawPeer) hello() proto.HelloReply {
	p.t.Helper()
	if err := p.send(proto.AppendRequest(nil, 1, proto.OpHello, 0, 0, 0, &proto.Hello{Version: proto.Version})); err != nil {
		p.t.Fatal(err)
	}
	f, err := p.read()
	if err != nil || f.Type != proto.FrameReply {
		p.t.Fatalf("hello: %v %v", f.Type, err)
	}
	var r proto.HelloReply
	if err := proto.Unmarshal(f.Body, &r); err != nil {
		p.t.Fatal(err)
	}
	return r
}

// rawServer listens on 127.0.0.1 and runs fn for each TLS connection; it
// returns the address. Connections and the listener close at test end.
func rawServer(t testing.TB, serverTLS *tls.Config, fn func(p *rawPeer)) string {
	l, err := tls.Listen("tcp", "127.0.0.1:0", serverTLS)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { l.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				fn(newRawPeer(t, c.(*tls.Conn)))
			}()
		}
	}()
	return l.Addr().String()
}

// serveHello answers a client's Hello.
func (p *rawPeer) serveHello(version uint32) error {
	f, err := p.read()
	if err != nil {
		return err
	}
	if f.Type != proto.FrameRequest || f.Op != proto.OpHello {
		return os.ErrInvalid
	}
	r := proto.HelloReply{Version: version, ServerTime: time.Now().UnixNano()}
	return p.send(proto.AppendReply(nil, f.ID, proto.OpHello, 0, &r))
}

// waitFor polls cond until it holds or 10 s pass.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
