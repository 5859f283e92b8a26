package servertest

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coda-fs/coda/server/pki"
	"github.com/coda-fs/coda/server/proto"
	"github.com/coda-fs/coda/server/rpc"
)

// Client is a raw protocol client, as venus would speak it, for tests that
// check the server itself (no cache, no FUSE). It records the callback
// breaks it receives.
type Client struct {
	Conn *rpc.Conn
	// Ident is the identity slot requests carry: 0 (anonymous) until
	// LoginAs binds a token to slot 1.
	Ident uint32
	// UserID is the Coda user LoginAs logged in as.
	UserID int32
	id     uint64
	seq    atomic.Uint64

	mu     sync.Mutex
	breaks []proto.FID
	// OnBreak, when set, runs for each break before it is acknowledged.
	OnBreak func([]proto.FID)
}

var clientIDs atomic.Uint64

// Dial connects a raw client to addr with the realm CA caPEM.
func Dial(ctx context.Context, addr, realm string, caPEM []byte) (*Client, error) {
	tlsCfg, err := pki.ClientTLS(caPEM, realm)
	if err != nil {
		return nil, err
	}
	c := &Client{id: clientIDs.Add(1) + uint64(time.Now().UnixNano())<<8}
	var mux rpc.Mux
	mux.Handle(proto.OpCallbackBreak, func(ctx context.Context, r *rpc.Request) (proto.Message, *rpc.Source, error) {
		var m proto.CallbackBreak
		if err := proto.Unmarshal(r.Body, &m); err != nil {
			return nil, nil, err
		}
		c.mu.Lock()
		c.breaks = append(c.breaks, m.FIDs...)
		fn := c.OnBreak
		c.mu.Unlock()
		if fn != nil {
			fn(m.FIDs)
		}
		return &proto.Empty{}, nil, nil
	})
	conn, err := rpc.Dial(ctx, addr, proto.Hello{Realm: realm, ClientID: c.id, Name: "servertest"},
		rpc.Config{TLS: tlsCfg}, &mux)
	if err != nil {
		return nil, err
	}
	c.Conn = conn
	return c, nil
}

// MustDial connects a raw client for a test, failing the test on error;
// the client is closed when the test ends.
func MustDial(tb testing.TB, addr, realm string, caPEM []byte) *Client {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Dial(ctx, addr, realm, caPEM)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

// Client connects a raw client to s for the rest of the test, logged in
// as the realm's admin user.
func (s *Server) Client() *Client {
	s.t.Helper()
	c := s.AnonClient()
	if err := c.LoginAs("admin", AdminPassword); err != nil {
		s.t.Fatal(err)
	}
	return c
}

// AnonClient connects a raw client that holds no token.
func (s *Server) AnonClient() *Client {
	s.t.Helper()
	return MustDial(s.t, s.Addr, s.Realm, s.CA())
}

// Login gets a token for user from the auth service.
func (c *Client) Login(user, password string) (proto.TokenInfo, error) {
	var tok proto.TokenInfo
	err := c.call(proto.OpLogin, &proto.Login{User: user, Password: []byte(password)}, &tok, nil)
	return tok, err
}

// Bind binds token to identity slot 1 and makes every later request act
// with it.
func (c *Client) Bind(token []byte) (proto.Identity, error) {
	var id proto.Identity
	err := c.call(proto.OpBindToken, &proto.BindToken{Slot: 1, Token: token}, &id, nil)
	if err == nil {
		c.Ident, c.UserID = 1, id.UserID
	}
	return id, err
}

// LoginAs logs in as user and binds the token (see Bind).
func (c *Client) LoginAs(user, password string) error {
	tok, err := c.Login(user, password)
	if err != nil {
		return fmt.Errorf("login as %s: %w", user, err)
	}
	if _, err := c.Bind(tok.Token); err != nil {
		return fmt.Errorf("bind the token of %s: %w", user, err)
	}
	return nil
}

// Call sends one request with the client's identity.
func (c *Client) Call(op proto.Op, req, resp proto.Message, opts *rpc.CallOpts) error {
	return c.call(op, req, resp, opts)
}

// Breaks returns the FIDs broken so far.
func (c *Client) Breaks() []proto.FID {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]proto.FID(nil), c.breaks...)
}

// Close closes the connection.
func (c *Client) Close() error { return c.Conn.Close() }

func (c *Client) sid() proto.StoreID { return proto.StoreID{Client: c.id, Seq: c.seq.Add(1)} }

// NextStoreID returns a new store id of this client, for requests built
// by hand.
func (c *Client) NextStoreID() proto.StoreID { return c.sid() }

func (c *Client) call(op proto.Op, req, resp proto.Message, opts *rpc.CallOpts) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if opts == nil {
		opts = &rpc.CallOpts{}
	}
	opts.Ident = c.Ident
	return c.Conn.Call(ctx, op, req, resp, opts)
}

// Root returns the root FID of volume name.
func (c *Client) Root(name string) (proto.FID, error) {
	var info proto.VolumeInfo
	if err := c.call(proto.OpGetVolumeInfo, &proto.VolumeRef{Name: name}, &info, nil); err != nil {
		return proto.FID{}, err
	}
	return info.Root, nil
}

// Create makes a file (typ TypeFile), directory or symlink.
func (c *Client) Create(op proto.Op, dir proto.FID, name string, mode uint32) (proto.DirOpReply, error) {
	var out proto.DirOpReply
	err := c.call(op, &proto.Create{Dir: dir, Name: name, Mode: mode, StoreID: c.sid()}, &out, nil)
	return out, err
}

// Lookup finds name in dir.
func (c *Client) Lookup(dir proto.FID, name string) (proto.Attr, error) {
	var out proto.AttrReply
	err := c.call(proto.OpLookup, &proto.Lookup{Dir: dir, Name: name}, &out, nil)
	return out.Attr, err
}

// GetAttr returns fid's status.
func (c *Client) GetAttr(fid proto.FID) (proto.Attr, error) {
	var out proto.AttrReply
	err := c.call(proto.OpGetAttr, &proto.FIDReq{FID: fid}, &out, nil)
	return out.Attr, err
}

// Store replaces fid's content with data.
func (c *Client) Store(fid proto.FID, data []byte) (proto.Attr, error) {
	var out proto.AttrReply
	err := c.call(proto.OpStore, &proto.Store{FID: fid, Size: int64(len(data)), StoreID: c.sid()}, &out,
		&rpc.CallOpts{Upload: &rpc.Source{R: bytes.NewReader(data), Size: int64(len(data))}})
	return out.Attr, err
}

// Fetch returns fid's status and content.
func (c *Client) Fetch(fid proto.FID) (proto.Attr, []byte, error) {
	var out proto.AttrReply
	sink := &memSink{}
	err := c.call(proto.OpFetch, &proto.FIDReq{FID: fid}, &out, &rpc.CallOpts{Download: sink})
	if err == nil && int64(len(sink.b)) != out.Attr.Size {
		err = fmt.Errorf("fetched %d bytes of %d", len(sink.b), out.Attr.Size)
	}
	return out.Attr, sink.b, err
}

// Remove removes a file.
func (c *Client) Remove(dir proto.FID, name string) error {
	var out proto.DirOpReply
	return c.call(proto.OpRemove, &proto.Remove{Dir: dir, Name: name, StoreID: c.sid()}, &out, nil)
}

// Rename moves a name.
func (c *Client) Rename(fromDir proto.FID, from string, toDir proto.FID, to string) error {
	var out proto.RenameReply
	return c.call(proto.OpRename, &proto.Rename{FromDir: fromDir, FromName: from, ToDir: toDir, ToName: to, StoreID: c.sid()}, &out, nil)
}

// ReadDir reads all of a directory.
func (c *Client) ReadDir(dir proto.FID) ([]proto.DirEntry, error) {
	var all []proto.DirEntry
	after := ""
	for {
		var out proto.ReadDirReply
		if err := c.call(proto.OpReadDir, &proto.ReadDir{Dir: dir, After: after, Max: 4096}, &out, nil); err != nil {
			return nil, err
		}
		all = append(all, out.Entries...)
		if !out.More || len(out.Entries) == 0 {
			return all, nil
		}
		after = out.Entries[len(out.Entries)-1].Name
	}
}

// memSink collects a download in memory.
type memSink struct{ b []byte }

func (s *memSink) WriteAt(p []byte, off int64) (int, error) {
	if end := off + int64(len(p)); end > int64(len(s.b)) {
		s.b = append(s.b, make([]byte, end-int64(len(s.b)))...)
	}
	copy(s.b[off:], p)
	return len(p), nil
}

func (s *memSink) Finish(size int64) error {
	if size < int64(len(s.b)) {
		return fmt.Errorf("finish %d below received %d bytes", size, len(s.b))
	}
	s.b = append(s.b, make([]byte, size-int64(len(s.b)))...)
	return nil
}

// AddUser creates user in the protection database and sets its password,
// as an administrator (pdbtool nu, au nu).
func (s *Server) AddUser(user, password string) int32 {
	s.t.Helper()
	c := s.Admin()
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := c.PDB(ctx, []string{"nu", user})
	if err != nil {
		s.t.Fatalf("pdbtool nu %s: %v", user, err)
	}
	if err := c.SetPassword(ctx, user, []byte(password)); err != nil {
		s.t.Fatalf("au nu %s: %v", user, err)
	}
	// "created user NAME (id N)"
	var id int32
	if i := strings.LastIndex(out, "(id "); i >= 0 {
		n, err := strconv.ParseInt(strings.TrimRight(out[i+4:], ")\n"), 10, 32)
		if err != nil {
			s.t.Fatalf("pdbtool nu %s said %q", user, out)
		}
		id = int32(n)
	}
	if id <= 0 {
		s.t.Fatalf("pdbtool nu %s said %q", user, out)
	}
	return id
}

// PDB runs one pdbtool command as an administrator.
func (s *Server) PDB(args ...string) string {
	s.t.Helper()
	c := s.Admin()
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := c.PDB(ctx, args)
	if err != nil {
		s.t.Fatalf("pdbtool %v: %v", args, err)
	}
	return out
}

// UserClient makes a user (see AddUser) and returns a raw client logged
// in as it.
func (s *Server) UserClient(user string) *Client {
	s.t.Helper()
	s.AddUser(user, user+"-password")
	c := s.AnonClient()
	if err := c.LoginAs(user, user+"-password"); err != nil {
		s.t.Fatal(err)
	}
	return c
}
