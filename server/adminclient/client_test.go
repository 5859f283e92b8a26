package adminclient

import (
	"context"
	"crypto/rand"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coda-fs/coda/server/pki"
	"github.com/coda-fs/coda/server/proto"
	"github.com/coda-fs/coda/server/rpc"
)

const realm = "test.realm"

// peer is the fake server's per-connection state.
type peer struct {
	nonce  []byte
	authed atomic.Bool
}

// fakeServer is a real rpc server over TLS 1.3 on 127.0.0.1 that serves
// the admin ops from a fixed volume list, checking the admin key as the
// real server does.
type fakeServer struct {
	addr   string
	caPEM  []byte
	key    []byte // the admin key
	keyDir string // holds ca.pem and volutil.key

	mu     sync.Mutex
	hellos []proto.Hello
}

var vols = []proto.VolumeInfo{
	{ID: 0x1000001, Name: "coda.root", Root: proto.FID{Volume: 0x1000001, Vnode: 1, Unique: 1},
		Replicas: []proto.Replica{{ServerID: 7, Addr: "127.0.0.1:2432", ReplicaID: 0x7000001}}, Files: 3, Bytes: 4096},
	{ID: 0x1000002, Name: "www", Type: proto.VolRW, Files: 1},
}

func startFakeServer(t *testing.T) *fakeServer {
	t.Helper()
	caPEM, caKey, err := pki.NewCA(realm)
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := pki.IssueServer(caPEM, caKey, realm, 7, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tlsCfg, err := pki.ServerTLS(certPEM, keyPEM, caPEM)
	if err != nil {
		t.Fatal(err)
	}
	fs := &fakeServer{caPEM: caPEM, keyDir: t.TempDir()}
	keyFile := writeKey(t, fs.keyDir)
	raw, _ := os.ReadFile(keyFile)
	fs.key, _ = pki.ParseAdminKey(raw)
	if err := os.WriteFile(filepath.Join(fs.keyDir, "ca.pem"), caPEM, 0o644); err != nil {
		t.Fatal(err)
	}

	srv := rpc.NewServer(rpc.Config{TLS: tlsCfg}, fs.mux(), fs.accept)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fs.addr = ln.Addr().String()
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return fs
}

// writeKey writes a new admin key file (0600) into dir.
func writeKey(t *testing.T, dir string) string {
	t.Helper()
	k, err := pki.NewAdminKey()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "volutil.key")
	if err := pki.WriteSecretFile(path, k); err != nil {
		t.Fatal(err)
	}
	return path
}

func (fs *fakeServer) accept(c *rpc.Conn, hello *proto.Hello) (proto.HelloReply, error) {
	fs.mu.Lock()
	fs.hellos = append(fs.hellos, *hello)
	fs.mu.Unlock()
	if hello.Realm != realm {
		return proto.HelloReply{}, proto.Errorf(proto.CodeInvalid, "wrong realm")
	}
	p := &peer{nonce: make([]byte, 32)}
	rand.Read(p.nonce)
	c.Peer = p
	return proto.HelloReply{ServerID: 7, Incarnation: 1, Nonce: p.nonce}, nil
}

func (fs *fakeServer) mux() *rpc.Mux {
	var m rpc.Mux
	m.Handle(proto.OpAdminAuth, func(_ context.Context, r *rpc.Request) (proto.Message, *rpc.Source, error) {
		var a proto.AdminAuth
		if err := proto.Unmarshal(r.Body, &a); err != nil {
			return nil, nil, err
		}
		p := r.Conn.Peer.(*peer)
		if !pki.CheckAdminMAC(fs.key, p.nonce, a.MAC) {
			return nil, nil, proto.Errorf(proto.CodeAccess, "admin key refused")
		}
		p.authed.Store(true)
		return &proto.Empty{}, nil, nil
	})
	admin := func(h func(r *rpc.Request) (proto.Message, error)) rpc.Handler {
		return func(_ context.Context, r *rpc.Request) (proto.Message, *rpc.Source, error) {
			if !r.Conn.Peer.(*peer).authed.Load() {
				return nil, nil, proto.Errorf(proto.CodePerm, "admin only")
			}
			m, err := h(r)
			return m, nil, err
		}
	}
	m.Handle(proto.OpListVolumes, admin(func(*rpc.Request) (proto.Message, error) {
		return &proto.VolumeList{Volumes: vols}, nil
	}))
	m.Handle(proto.OpGetVolumeInfo, admin(func(r *rpc.Request) (proto.Message, error) {
		var ref proto.VolumeRef
		if err := proto.Unmarshal(r.Body, &ref); err != nil {
			return nil, err
		}
		for i := range vols {
			if (ref.Name != "" && vols[i].Name == ref.Name) || (ref.Name == "" && vols[i].ID == ref.ID) {
				return &vols[i], nil
			}
		}
		return nil, proto.ErrNoVolume
	}))
	m.Handle(proto.OpCreateVolume, admin(func(r *rpc.Request) (proto.Message, error) {
		var cv proto.CreateVolume
		if err := proto.Unmarshal(r.Body, &cv); err != nil {
			return nil, err
		}
		return &proto.VolumeInfo{ID: 0x1000003, Name: cv.Name, Replicas: cv.Replicas}, nil
	}))
	return &m
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestDialProvesTheKeyAndCallsTheAdminOps(t *testing.T) {
	fs := startFakeServer(t)
	c, err := Dial(ctx(t), fs.addr, filepath.Join(fs.keyDir, "volutil.key"), "")
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer c.Close()
	if c.ServerID() != 7 || c.Realm() != realm || c.ServerAddr() != fs.addr {
		t.Errorf("ServerID %d Realm %q Addr %q", c.ServerID(), c.Realm(), c.ServerAddr())
	}
	fs.mu.Lock()
	h := fs.hellos[len(fs.hellos)-1]
	fs.mu.Unlock()
	if h.ClientID != 0 || h.Name != "volutil" || h.Version != proto.Version {
		t.Errorf("hello %+v, want client 0 named volutil", h)
	}

	list, err := c.ListVolumes(ctx(t))
	if err != nil || len(list) != 2 || list[0].Name != "coda.root" || list[0].Replicas[0].ReplicaID != 0x7000001 {
		t.Fatalf("ListVolumes = %+v, %v", list, err)
	}
	info, err := c.VolumeInfo(ctx(t), "www")
	if err != nil || info.ID != 0x1000002 {
		t.Fatalf("VolumeInfo(www) = %+v, %v", info, err)
	}
	info, err = c.VolumeInfoByID(ctx(t), 0x1000001)
	if err != nil || info.Name != "coda.root" {
		t.Fatalf("VolumeInfoByID = %+v, %v", info, err)
	}
	if _, err := c.VolumeInfo(ctx(t), "nosuch"); !errors.Is(err, proto.ErrNoVolume) {
		t.Fatalf("VolumeInfo(nosuch): err = %v, want ErrNoVolume", err)
	}
	req := &proto.CreateVolume{Name: "new", Replicas: []proto.Replica{{ServerID: c.ServerID(), Addr: fs.addr}}}
	info, err = c.CreateVolume(ctx(t), req)
	if err != nil || info.ID != 0x1000003 || info.Name != "new" || len(info.Replicas) != 1 {
		t.Fatalf("CreateVolume = %+v, %v", info, err)
	}
}

func TestDialWithAnotherKeyIsRefused(t *testing.T) {
	fs := startFakeServer(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "ca.pem"), fs.caPEM, 0o644)
	_, err := Dial(ctx(t), fs.addr, writeKey(t, dir), "")
	t.Log(err)
	if !errors.Is(err, proto.ErrAccess) || !strings.Contains(err.Error(), "refused the admin key") {
		t.Fatalf("err = %v, want the server's refusal", err)
	}
}

func TestDialPinnedToAnotherCAIsRefused(t *testing.T) {
	fs := startFakeServer(t)
	otherCA, _, _ := pki.NewCA(realm)
	caFile := filepath.Join(t.TempDir(), "other-ca.pem")
	os.WriteFile(caFile, otherCA, 0o644)
	_, err := Dial(ctx(t), fs.addr, filepath.Join(fs.keyDir, "volutil.key"), caFile)
	t.Log(err)
	var mismatch *pki.CAMismatchError
	if !errors.As(err, &mismatch) {
		t.Fatalf("err = %v, want a CA mismatch", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "not signed by the pinned realm CA") || !strings.Contains(msg, caFile) {
		t.Fatalf("unclear error: %v", msg)
	}
}

func TestDialTrustsTheCAOnFirstUseWithoutACAFile(t *testing.T) {
	fs := startFakeServer(t)
	dir := t.TempDir() // no ca.pem here
	key, _ := os.ReadFile(filepath.Join(fs.keyDir, "volutil.key"))
	keyFile := filepath.Join(dir, "volutil.key")
	pki.WriteSecretFile(keyFile, key)
	c, err := Dial(ctx(t), fs.addr, keyFile, "")
	if err != nil {
		t.Fatalf("Dial without a CA file: %v", err)
	}
	c.Close()
}

func TestDialRefusesAKeyFileOthersMayRead(t *testing.T) {
	fs := startFakeServer(t)
	keyFile := filepath.Join(fs.keyDir, "volutil.key")
	os.Chmod(keyFile, 0o644)
	_, err := Dial(ctx(t), fs.addr, keyFile, "")
	if err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("err = %v, want a refusal of the key file", err)
	}
}

func TestDialToAClosedPortSaysWhy(t *testing.T) {
	fs := startFakeServer(t)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	_, err := Dial(ctx(t), addr, filepath.Join(fs.keyDir, "volutil.key"), "")
	t.Log(err)
	if err == nil || !strings.Contains(err.Error(), "refused") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("err = %v, want one line naming the refused connection", err)
	}
}

func TestAddrAddsTheDefaultPort(t *testing.T) {
	for in, want := range map[string]string{
		"fs1":            "fs1:2432",
		"fs1:9":          "fs1:9",
		"10.0.0.1":       "10.0.0.1:2432",
		"[::1]":          "[::1]:2432",
		"[::1]:7":        "[::1]:7",
		"localhost:2432": "localhost:2432",
	} {
		if got := Addr(in); got != want {
			t.Errorf("Addr(%q) = %q, want %q", in, got, want)
		}
	}
}
