package adminclient

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/coda-fs/coda/server/pki"
	"github.com/coda-fs/coda/server/proto"
	"github.com/coda-fs/coda/server/rpc"
)

// CallTimeout bounds Dial and each call whose ctx has no deadline.
const CallTimeout = 30 * time.Second

// ToolName is the name admin tools give in their hello.
const ToolName = "volutil"

// Client is an authenticated admin connection to one server.
type Client struct {
	conn  *rpc.Conn
	addr  string
	realm string
	ident uint32 // identity slot of the admin's token; 0 with the admin key
}

// Dial connects to the server at addr (HOST:PORT), pins the realm CA
// (caFile; else ca.pem beside keyFile; else fetched from the server on
// first use) and proves the admin key read from keyFile.
func Dial(ctx context.Context, addr, keyFile, caFile string) (*Client, error) {
	key, err := readKey(keyFile)
	if err != nil {
		return nil, err
	}
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	caPEM, caPath, err := loadCA(ctx, addr, keyFile, caFile)
	if err != nil {
		return nil, err
	}
	conn, realm, err := dialRealm(ctx, addr, caPEM, caPath)
	if err != nil {
		return nil, err
	}
	c := &Client{conn: conn, addr: addr, realm: realm}
	if err := c.auth(ctx, key); err != nil {
		_ = conn.Close()
		return nil, err
	}
	return c, nil
}

// DialToken connects to the server at addr pinning the realm CA caPEM and
// acts as the user a token vouches for (an administrator's, for the
// commands that need one): the token is bound to identity slot 1.
func DialToken(ctx context.Context, addr string, caPEM, token []byte) (*Client, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	conn, realm, err := dialRealm(ctx, addr, caPEM, "")
	if err != nil {
		return nil, err
	}
	var id proto.Identity
	if err := conn.Call(ctx, proto.OpBindToken, &proto.BindToken{Slot: 1, Token: token}, &id, nil); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("server %s refused the token: %w", addr, err)
	}
	return &Client{conn: conn, addr: addr, realm: realm, ident: 1}, nil
}

// Conn is the client's connection, for callers that speak other requests
// on it (a server copying the SCM's realm databases).
func (c *Client) Conn() *rpc.Conn { return c.conn }

// dialRealm opens a TLS connection to addr pinning the realm CA caPEM
// (read from caPath, if from a file) and says hello as the admin tool.
func dialRealm(ctx context.Context, addr string, caPEM []byte, caPath string) (*rpc.Conn, string, error) {
	realm, err := pki.RealmOfCA(caPEM)
	if err != nil {
		return nil, "", fmt.Errorf("realm CA: %w", err)
	}
	tlsCfg, err := pki.ClientTLS(caPEM, realm)
	if err != nil {
		return nil, "", err
	}
	hello := proto.Hello{Version: proto.Version, Realm: realm, ClientID: 0, Name: ToolName}
	conn, err := rpc.Dial(ctx, addr, hello, rpc.Config{TLS: tlsCfg}, &rpc.Mux{})
	if err != nil {
		return nil, "", dialError(addr, caPath, err)
	}
	return conn, realm, nil
}

// dialError words a failed dial for the user: the cause of a connection
// failure (refused, TLS) is the useful part, and a CA mismatch names the
// pinned CA file.
func dialError(addr, caPath string, err error) error {
	var mismatch *pki.CAMismatchError
	if errors.As(err, &mismatch) && caPath != "" {
		return fmt.Errorf("connect to %s: %w (pinned CA file %s)", addr, mismatch, caPath)
	}
	var ce *rpc.ConnError
	if errors.As(err, &ce) && ce.Err != nil && !strings.Contains(err.Error(), ce.Err.Error()) {
		return fmt.Errorf("connect to %s: %s: %w", addr, ce.Reason, ce.Err)
	}
	return fmt.Errorf("connect to %s: %w", addr, err)
}

// auth proves the admin key: HMAC-SHA256(key, the server's hello nonce).
func (c *Client) auth(ctx context.Context, key []byte) error {
	nonce := c.conn.HelloReply.Nonce
	if len(nonce) == 0 {
		return fmt.Errorf("server %s sent no admin nonce in its hello", c.addr)
	}
	req := &proto.AdminAuth{MAC: pki.AdminMAC(key, nonce)}
	if err := c.conn.Call(ctx, proto.OpAdminAuth, req, &proto.Empty{}, nil); err != nil {
		return fmt.Errorf("server %s refused the admin key: %w", c.addr, err)
	}
	return nil
}

func readKey(keyFile string) ([]byte, error) {
	data, err := pki.ReadSecretFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("admin key: %w", err)
	}
	key, err := pki.ParseAdminKey(data)
	if err != nil {
		return nil, fmt.Errorf("admin key %s: %w", keyFile, err)
	}
	return key, nil
}

// loadCA returns the realm CA and the file it came from: caFile, else
// ca.pem beside keyFile, else (path "") the CA the server presents (trust
// on first use).
func loadCA(ctx context.Context, addr, keyFile, caFile string) (caPEM []byte, path string, err error) {
	if caFile != "" {
		b, err := os.ReadFile(caFile)
		if err != nil {
			return nil, "", fmt.Errorf("realm CA: %w", err)
		}
		return b, caFile, nil
	}
	beside := filepath.Join(filepath.Dir(keyFile), "ca.pem")
	b, err := os.ReadFile(beside)
	if err == nil {
		return b, beside, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, "", fmt.Errorf("realm CA: %w", err)
	}
	b, err = pki.FetchCA(ctx, addr, "")
	return b, "", err
}

// Addr returns s with the default port added when it has none:
// "fs1" → "fs1:2432", "[::1]" → "[::1]:2432".
func Addr(s string) string {
	if _, _, err := net.SplitHostPort(s); err == nil {
		return s
	}
	host := s
	if len(host) > 1 && host[0] == '[' && host[len(host)-1] == ']' {
		host = host[1 : len(host)-1]
	}
	return net.JoinHostPort(host, strconv.Itoa(proto.DefaultPort))
}

// Realm returns the realm of the server (as named by its CA).
func (c *Client) Realm() string { return c.realm }

// ServerAddr returns the address Dial connected to.
func (c *Client) ServerAddr() string { return c.addr }

// ServerID returns the id the server gave in its hello reply.
func (c *Client) ServerID() uint32 { return c.conn.HelloReply.ServerID }

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }

func withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, CallTimeout)
}

func (c *Client) call(ctx context.Context, op proto.Op, req, resp proto.Message) error {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	return c.conn.Call(ctx, op, req, resp, &rpc.CallOpts{Ident: c.ident})
}
