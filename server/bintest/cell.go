package bintest

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Cell is a realm run from the binary: server processes (the first is the
// SCM) holding the root volume, replicated on all of them, and venus
// processes mounting it.
type Cell struct {
	T       testing.TB
	Realm   string
	Dir     string // everything lives under it
	Addr    string // the SCM's HOST:PORT
	Data    string // the SCM's data directory
	Server  *Proc  // the SCM's process
	Servers []*CellServer
	args    []string
}

// CellServer is one server of a cell.
type CellServer struct {
	ID   int
	Addr string
	Data string
	Log  string
	Proc *Proc
}

// CellOptions tune NewCell.
type CellOptions struct {
	Realm      string   // default "test.realm"
	ServerArgs []string // extra flags for `coda server`
	Servers    int      // how many servers (default 1); coda.root has a replica on each
}

// NewCell initialises and starts the servers (admin password
// AdminPassword; the others join the first) and creates the root volume
// coda.root with a replica on each. Everything stops when the test ends.
func NewCell(t testing.TB, o CellOptions) *Cell {
	t.Helper()
	if o.Realm == "" {
		o.Realm = "test.realm"
	}
	c := &Cell{T: t, Realm: o.Realm, Dir: t.TempDir(), args: o.ServerArgs}
	var addrs []string
	for i := 1; i <= max(o.Servers, 1); i++ {
		s := &CellServer{ID: i, Addr: freeAddr(t), Data: filepath.Join(c.Dir, "vice"),
			Log: filepath.Join(c.Dir, "server.log")}
		if i > 1 {
			s.Data = filepath.Join(c.Dir, fmt.Sprintf("vice%d", i))
			s.Log = filepath.Join(c.Dir, fmt.Sprintf("server%d.log", i))
		}
		c.Servers = append(c.Servers, s)
		addrs = append(addrs, s.Addr)
		c.InitServer(i)
		c.StartServer(i)
		if i == 1 {
			c.Addr, c.Data, c.Server = s.Addr, s.Data, s.Proc
		}
	}
	c.Admin(append([]string{"createvol_rep", "coda.root"}, addrs...)...)
	return c
}

// freeAddr returns a loopback address nothing listens on.
func freeAddr(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// InitServer runs `coda server init` for server i (1-based): the SCM on
// its own, the others joining it with a copy of the realm secret. A
// server whose disk was lost is initialised again this way.
func (c *Cell) InitServer(i int) {
	c.T.Helper()
	s := c.Servers[i-1]
	args := []string{"server", "init", "--data", s.Data, "--realm", c.Realm, "--id", fmt.Sprint(i), "--listen", s.Addr}
	if i > 1 {
		secret, err := os.ReadFile(filepath.Join(c.Servers[0].Data, "db", "realm.secret"))
		if err != nil {
			c.T.Fatal(err)
		}
		f := filepath.Join(c.Dir, "realm.secret")
		if err := os.WriteFile(f, secret, 0o600); err != nil {
			c.T.Fatal(err)
		}
		args = append(args, "--join", c.Servers[0].Addr, "--secret", f)
	}
	if r := Run(c.T, AdminPassword+"\n", args...); r.Code != 0 {
		c.T.Fatalf("server init %d: %s", i, r.Stderr)
	}
}

// StartServer starts server i (1-based) and waits until it serves.
func (c *Cell) StartServer(i int) {
	c.T.Helper()
	s := c.Servers[i-1]
	ready := filepath.Join(c.Dir, fmt.Sprintf("server%d.ready", i))
	args := append([]string{"server", "--data", s.Data, "--ready-file", ready}, c.args...)
	s.Proc = Start(c.T, s.Log, ready, args...)
	c.T.Cleanup(s.Proc.Stop)
	if i == 1 {
		c.Server = s.Proc
	}
}

// Addrs lists the servers' addresses, comma-separated (venus --servers).
func (c *Cell) Addrs() string {
	var a []string
	for _, s := range c.Servers {
		a = append(a, s.Addr)
	}
	return strings.Join(a, ",")
}

// KeyFile is the server's admin key.
func (c *Cell) KeyFile() string { return filepath.Join(c.Data, "db", "volutil.key") }

// Admin runs an admin command (createvol_rep, pdbtool, au, volutil…) with
// the server's admin key, and with -h pointing at the server where the
// command takes it; it fails the test when the command fails and returns
// its standard output.
func (c *Cell) Admin(args ...string) string {
	c.T.Helper()
	return c.AdminIn("", args...)
}

// AdminIn is Admin with stdin.
func (c *Cell) AdminIn(stdin string, args ...string) string {
	c.T.Helper()
	full := []string{args[0], "--key", c.KeyFile()}
	switch args[0] {
	case "pdbtool", "au", "volutil":
		full = append(full, "-h", c.Addr)
	}
	full = append(full, args[1:]...)
	r := Run(c.T, stdin, full...)
	if r.Code != 0 {
		c.T.Fatalf("coda %v: exit %d: %s", args, r.Code, r.Stderr)
	}
	return r.Stdout
}

// Venus is a venus process of a cell.
type Venus struct {
	Mount string // the mount point
	Root  string // Mount/REALM
	Log   string // its log file
	Proc  *Proc
}

// Venus mounts the realm with a venus process named name (extra: more
// flags) and logs root in as the admin on it (as the local-cell script
// does).
func (c *Cell) Venus(name string, extra ...string) *Venus {
	c.T.Helper()
	mnt := filepath.Join(c.Dir, name+".mnt")
	ready := filepath.Join(c.Dir, name+".ready")
	v := &Venus{Mount: mnt, Root: filepath.Join(mnt, c.Realm), Log: filepath.Join(c.Dir, name+".log")}
	v.Proc = Start(c.T, v.Log, ready, append(c.VenusArgs(name), append(extra, "--ready-file", ready)...)...)
	c.T.Cleanup(v.Proc.Stop)
	if r := Run(c.T, AdminPassword+"\n", "clog", "-pipe", "--mount", mnt, "admin"); r.Code != 0 {
		c.T.Fatalf("clog admin: %s", r.Stderr)
	}
	return v
}

// VenusArgs is the command line (after the binary) of venus name.
func (c *Cell) VenusArgs(name string) []string {
	return []string{"venus", "--config", "/dev/null", "--realm", c.Realm, "--servers", c.Addrs(),
		"--mount", filepath.Join(c.Dir, name+".mnt"), "--cache", c.VenusCache(name),
		"--ca", filepath.Join(c.Data, "db", "ca.pem")}
}

// VenusCache is the cache directory of venus name.
func (c *Cell) VenusCache(name string) string { return filepath.Join(c.Dir, name+".cache") }
