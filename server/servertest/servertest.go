package servertest

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/coda-fs/coda/server"
	"github.com/coda-fs/coda/server/adminclient"
	"github.com/coda-fs/coda/server/proto"
)

// Server is one running in-process server.
type Server struct {
	Realm   string
	Dir     string // data directory
	Addr    string // HOST:PORT it listens on
	CAFile  string // the realm CA certificate
	KeyFile string // the admin key (volutil.key)

	t      testing.TB
	cancel context.CancelFunc
	done   chan error
	fault  func(op proto.Op) bool
}

// AdminPassword is the password of the admin user of every test realm.
const AdminPassword = "test-admin-password"

// Options tune Start. Zero values are fine.
type Options struct {
	Realm  string       // default "test.realm"
	ID     uint32       // default 1
	Logger *slog.Logger // default: discard
	Dir    string       // default: a new temp dir
	Addr   string       // listen address; default: a free 127.0.0.1 port
	// FaultHook may drop replies (rpc.Config.FaultHook).
	FaultHook func(op proto.Op) (dropReply bool)
}

// Start initialises a data directory and runs a server on it until the
// test ends.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	if o.ID == 0 {
		o.ID = 1
	}
	return launch(t, o, server.InitOptions{AdminPassword: []byte(AdminPassword)})
}

// StartFollower starts a further server of scm's realm, joined with a
// copy of the realm secret as `coda server init --join` does: it holds
// read-only copies of the SCM's realm databases, pulled from scm.
func StartFollower(t testing.TB, scm *Server, o Options) *Server {
	t.Helper()
	o.Realm = scm.Realm
	if o.ID == 0 {
		o.ID = 2
	}
	secret, err := os.ReadFile(filepath.Join(scm.Dir, "db", "realm.secret"))
	if err != nil {
		t.Fatal(err)
	}
	return launch(t, o, server.InitOptions{Join: scm.Addr, RealmSecret: secret})
}

// launch fills o's defaults, initialises the data directory with init
// (and o's realm, id, directory, address and logger) and runs the server
// until the test ends.
func launch(t testing.TB, o Options, init server.InitOptions) *Server {
	t.Helper()
	if o.Realm == "" {
		o.Realm = "test.realm"
	}
	if o.Dir == "" {
		o.Dir = filepath.Join(t.TempDir(), "vice")
	}
	if o.Addr == "" {
		o.Addr = freeAddr(t) // goes into the certificate and the servers database
	}
	init.DataDir, init.Realm, init.ID, init.Listen, init.Logger = o.Dir, o.Realm, o.ID, o.Addr, o.Logger
	if err := server.Init(context.Background(), init); err != nil {
		t.Fatalf("server init: %v", err)
	}
	s := &Server{Realm: o.Realm, Dir: o.Dir, t: t,
		CAFile: filepath.Join(o.Dir, "db", "ca.pem"), KeyFile: filepath.Join(o.Dir, "db", "volutil.key")}
	s.fault = o.FaultHook
	s.run(o.Logger, o.Addr)
	t.Cleanup(s.Stop)
	return s
}

// freeAddr returns a 127.0.0.1 address with a port free now.
func freeAddr(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// run starts server.Run and waits for its Ready callback.
func (s *Server) run(log *slog.Logger, listen string) {
	s.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	s.cancel, s.done = cancel, make(chan error, 1)
	go func() {
		s.done <- server.Run(ctx, server.Options{DataDir: s.Dir, Listen: listen, Logger: log,
			Ready: func(addr string) { ready <- addr }, FaultHook: s.fault})
	}()
	select {
	case s.Addr = <-ready:
	case err := <-s.done:
		s.done <- err
		s.t.Fatalf("server did not start: %v", err)
	case <-time.After(30 * time.Second):
		s.t.Fatalf("server not ready after 30s")
	}
}

// Stop shuts the server down and waits for it. Stopping twice is fine.
func (s *Server) Stop() {
	if s.cancel == nil {
		return
	}
	s.cancel()
	s.cancel = nil
	if err := <-s.done; err != nil {
		s.t.Errorf("server exit: %v", err)
	}
}

// Restart stops the server and starts it again on the same address.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	s.run(nil, s.Addr)
}

// Admin dials the server with the admin key.
func (s *Server) Admin() *adminclient.Client {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := adminclient.Dial(ctx, s.Addr, s.KeyFile, s.CAFile)
	if err != nil {
		s.t.Fatalf("admin dial: %v", err)
	}
	return c
}

// CreateVolume creates a one-replica volume on the server.
func (s *Server) CreateVolume(name string) *proto.VolumeInfo {
	s.t.Helper()
	c := s.Admin()
	defer c.Close()
	info, err := c.CreateVolume(context.Background(), &proto.CreateVolume{Name: name})
	if err != nil {
		s.t.Fatalf("create volume %s: %v", name, err)
	}
	return info
}

// CA returns the realm CA certificate.
func (s *Server) CA() []byte {
	b, err := os.ReadFile(s.CAFile)
	if err != nil {
		s.t.Fatal(err)
	}
	return b
}

// String names the server in test logs.
func (s *Server) String() string { return fmt.Sprintf("server %s (%s)", s.Addr, s.Dir) }
