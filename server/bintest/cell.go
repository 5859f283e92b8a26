package bintest

import (
	"net"
	"path/filepath"
	"testing"
)

// Cell is a realm run from the binary: one server process with the root
// volume, and venus processes mounting it.
type Cell struct {
	T      testing.TB
	Realm  string
	Dir    string // everything lives under it
	Addr   string // the server's HOST:PORT
	Data   string // the server's data directory
	Server *Proc
}

// CellOptions tune NewCell.
type CellOptions struct {
	Realm      string   // default "test.realm"
	ServerArgs []string // extra flags for `coda server`
}

// NewCell initialises and starts a server (admin password AdminPassword)
// and creates the root volume coda.root. Everything stops when the test
// ends.
func NewCell(t testing.TB, o CellOptions) *Cell {
	t.Helper()
	if o.Realm == "" {
		o.Realm = "test.realm"
	}
	c := &Cell{T: t, Realm: o.Realm, Dir: t.TempDir()}
	c.Data = filepath.Join(c.Dir, "vice")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c.Addr = l.Addr().String()
	l.Close()
	if r := Run(t, AdminPassword+"\n", "server", "init", "--data", c.Data, "--realm", c.Realm, "--id", "1", "--listen", c.Addr); r.Code != 0 {
		t.Fatalf("server init: %s", r.Stderr)
	}
	ready := filepath.Join(c.Dir, "server.ready")
	args := append([]string{"server", "--data", c.Data, "--ready-file", ready}, o.ServerArgs...)
	c.Server = Start(t, filepath.Join(c.Dir, "server.log"), ready, args...)
	t.Cleanup(c.Server.Stop)
	c.Admin("createvol_rep", "coda.root", c.Addr)
	return c
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

// Venus mounts the realm with a venus process named name and logs root in
// as the admin on it (as the local-cell script does).
func (c *Cell) Venus(name string) *Venus {
	c.T.Helper()
	mnt := filepath.Join(c.Dir, name+".mnt")
	ready := filepath.Join(c.Dir, name+".ready")
	v := &Venus{Mount: mnt, Root: filepath.Join(mnt, c.Realm), Log: filepath.Join(c.Dir, name+".log")}
	v.Proc = Start(c.T, v.Log, ready, "venus", "--config", "/dev/null",
		"--realm", c.Realm, "--servers", c.Addr, "--mount", mnt, "--cache", filepath.Join(c.Dir, name+".cache"),
		"--ca", filepath.Join(c.Data, "db", "ca.pem"), "--ready-file", ready)
	c.T.Cleanup(v.Proc.Stop)
	if r := Run(c.T, AdminPassword+"\n", "clog", "-pipe", "--mount", mnt, "admin"); r.Code != 0 {
		c.T.Fatalf("clog admin: %s", r.Stderr)
	}
	return v
}
