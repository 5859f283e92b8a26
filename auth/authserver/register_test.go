package authserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/coda-fs/coda/server/pki"
	"github.com/coda-fs/coda/server/proto"
	"github.com/coda-fs/coda/server/rpc"
)

// adminSlot is the identity slot the test's isAdmin treats as an
// administrator.
const adminSlot = 7

// serve runs the service's handlers on a real TLS rpc server on
// 127.0.0.1 and returns a connected client.
func serve(t *testing.T, s *Service) *rpc.Conn {
	t.Helper()
	caCert, caKey, err := pki.NewCA(testRealm)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cert, key, err := pki.IssueServer(caCert, caKey, testRealm, 1, l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	serverTLS, err := pki.ServerTLS(cert, key, caCert)
	if err != nil {
		t.Fatal(err)
	}
	var mux rpc.Mux
	s.Register(&mux, func(r *rpc.Request) bool { return r.Ident == adminSlot })
	srv := rpc.NewServer(rpc.Config{TLS: serverTLS}, &mux, nil)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	t.Cleanup(func() {
		_ = srv.Close()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	clientTLS, err := pki.ClientTLS(caCert, testRealm)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := rpc.Dial(ctx, l.Addr().String(), proto.Hello{Version: proto.Version, Realm: testRealm, Name: "authserver-test"},
		rpc.Config{TLS: clientTLS}, &rpc.Mux{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestRegisteredHandlers(t *testing.T) {
	e := newEnv(t)
	c := serve(t, e.svc)
	ctx := t.Context()
	call := func(op proto.Op, slot uint32, req, resp proto.Message) error {
		return c.Call(ctx, op, req, resp, &rpc.CallOpts{Ident: slot})
	}

	var info proto.TokenInfo
	if err := call(proto.OpLogin, 0, &proto.Login{User: "admin", Password: []byte(adminPW)}, &info); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.OpenToken(info.Token); err != nil || info.UserID != proto.AdminUserID {
		t.Fatalf("token from OpLogin: %+v, %v", info, err)
	}
	err := call(proto.OpLogin, 0, &proto.Login{User: "admin", Password: []byte("nope")}, &info)
	if proto.CodeOf(err) != proto.CodeAuth {
		t.Fatalf("wrong password over the wire: %v", err)
	}

	for _, op := range []proto.Op{proto.OpSetPassword, proto.OpPDBCommand} {
		var req proto.Message = &proto.SetPassword{User: "admin", Password: []byte("x")}
		var resp proto.Message = &proto.Empty{}
		if op == proto.OpPDBCommand {
			req, resp = &proto.PDBCommand{Args: []string{"list"}}, &proto.Text{}
		}
		err := call(op, 0, req, resp)
		if proto.CodeOf(err) != proto.CodeAccess || err == nil || !strings.Contains(err.Error(), "needs System:Administrators") {
			t.Fatalf("%v by a non-admin: %v", op, err)
		}
	}

	var out proto.Text
	if err := call(proto.OpPDBCommand, adminSlot, &proto.PDBCommand{Args: []string{"nu", "alice"}}, &out); err != nil {
		t.Fatal(err)
	}
	if out.Text != "created user alice (id 2)\n" {
		t.Fatalf("pdbcommand replied %q", out.Text)
	}
	if err := call(proto.OpSetPassword, adminSlot, &proto.SetPassword{User: "alice", Password: []byte("a1")}, &proto.Empty{}); err != nil {
		t.Fatal(err)
	}
	if err := call(proto.OpChangePassword, 0, &proto.ChangePassword{User: "alice", Old: []byte("a1"), New: []byte("a2")}, &proto.Empty{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.login("alice", "a2"); err != nil {
		t.Fatalf("login with the password set over the wire: %v", err)
	}
}

// TestLoginThrottlesByConnectionHost fails logins for five different
// users over one connection: only the address can be what throttles the
// sixth.
func TestLoginThrottlesByConnectionHost(t *testing.T) {
	e := newEnv(t)
	c := serve(t, e.svc)
	for i := range 6 {
		req := &proto.Login{User: fmt.Sprintf("user%d", i), Password: []byte("x")}
		err := c.Call(t.Context(), proto.OpLogin, req, &proto.TokenInfo{}, nil)
		var pe *proto.Error
		if !errors.As(err, &pe) || pe.Code != proto.CodeAuth {
			t.Fatalf("login %d: %v", i, err)
		}
	}
	if w := e.takeWaits(); len(w) != 1 || w[0] < time.Second {
		t.Fatalf("waits %v, want one of >= 1s on the sixth attempt", w)
	}
}
