package e2e

import (
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coda-fs/coda/server/bintest"
	"github.com/coda-fs/coda/server/proto"
	"github.com/coda-fs/coda/server/servertest"
)

const realm = "e2e.realm"

// cell is a server process started from the binary.
type cell struct {
	dir, data, addr string
	proc            *bintest.Proc
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// initCell initialises a server's data directory, not started.
func initCell(t *testing.T) *cell {
	c := &cell{dir: t.TempDir()}
	c.data = filepath.Join(c.dir, "vice")
	c.addr = freeAddr(t)
	res := bintest.Run(t, bintest.AdminPassword+"\n", "server", "init", "--data", c.data, "--realm", realm, "--id", "1", "--listen", c.addr)
	if res.Code != 0 {
		t.Fatalf("server init: exit %d: %s", res.Code, res.Stderr)
	}
	return c
}

func newCell(t *testing.T) *cell {
	c := initCell(t)
	c.start(t)
	res := bintest.Run(t, "", "createvol_rep", "coda.root", c.addr, "--key", c.keyFile(), "--ca", c.caFile())
	if res.Code != 0 {
		t.Fatalf("createvol_rep: exit %d: %s", res.Code, res.Stderr)
	}
	return c
}

func (c *cell) keyFile() string { return filepath.Join(c.data, "db", "volutil.key") }
func (c *cell) caFile() string  { return filepath.Join(c.data, "db", "ca.pem") }

func (c *cell) start(t *testing.T) {
	ready := filepath.Join(c.dir, "ready")
	c.proc = bintest.Start(t, filepath.Join(c.dir, "server.log"), ready,
		"server", "--data", c.data, "--ready-file", ready)
}

func (c *cell) client(t *testing.T) *servertest.Client {
	ca, err := os.ReadFile(c.caFile())
	if err != nil {
		t.Fatal(err)
	}
	cl := servertest.MustDial(t, c.addr, realm, ca)
	if err := cl.LoginAs("admin", bintest.AdminPassword); err != nil {
		t.Fatal(err)
	}
	return cl
}

func TestInitRefusesExistingDataDir(t *testing.T) {
	c := newCell(t)
	before, _ := os.ReadFile(filepath.Join(c.data, "db", "identity"))
	res := bintest.Run(t, bintest.AdminPassword+"\n", "server", "init", "--data", c.data, "--realm", "other", "--id", "2", "--listen", "127.0.0.1:1")
	if res.Code != 1 || !strings.Contains(res.Stderr, "exists") || strings.Count(strings.TrimSpace(res.Stderr), "\n") != 0 {
		t.Fatalf("init over existing dir: exit %d, stderr %q", res.Code, res.Stderr)
	}
	after, _ := os.ReadFile(filepath.Join(c.data, "db", "identity"))
	if !bytes.Equal(before, after) {
		t.Fatalf("identity changed by a refused init")
	}
	for _, name := range []string{"volutil.key", "realm.secret", "server.key", "ca.key"} {
		st, err := os.Stat(filepath.Join(c.data, "db", name))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v mode %v, want 0600", name, err, st.Mode().Perm())
		}
	}
	res = bintest.Run(t, "", "volutil", "-h", c.addr, "--key", c.keyFile(), "--ca", c.caFile(), "getvolumelist")
	if res.Code != 0 || !strings.Contains(res.Stdout, "coda.root") {
		t.Fatalf("getvolumelist: exit %d: %s %s", res.Code, res.Stdout, res.Stderr)
	}
}

// TestKill9KeepsAcknowledgedStores stores in a loop from several clients,
// kills the server with SIGKILL mid-loop, restarts it, and checks that every
// store that returned success is intact and no file shows partial content.
func TestKill9KeepsAcknowledgedStores(t *testing.T) {
	c := newCell(t)
	cl := c.client(t)
	root, err := cl.Root("coda.root")
	if err != nil {
		t.Fatal(err)
	}
	type version struct {
		fid   proto.FID
		datas [][]byte // every content tried, in order
		acked int      // how many of them returned success
	}
	files := make([]*version, 4*5)
	var mu sync.Mutex
	var wg sync.WaitGroup
	var stores int
	killed := make(chan struct{})
	for w := 0; w < 4; w++ {
		wc := c.client(t)
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ; i++ {
				k := w*5 + i%5
				mu.Lock()
				f := files[k]
				mu.Unlock()
				if f == nil {
					r, err := wc.Create(proto.OpCreate, root, fmt.Sprintf("f%d", k), 0644)
					if err != nil {
						return // the server died
					}
					f = &version{fid: r.Attr.FID}
					mu.Lock()
					files[k] = f
					mu.Unlock()
				}
				data := bytes.Repeat([]byte(fmt.Sprintf("<%d:%d>", k, i)), 1000+i*37%50000)
				mu.Lock()
				f.datas = append(f.datas, data)
				mu.Unlock()
				if _, err := wc.Store(f.fid, data); err != nil {
					return
				}
				mu.Lock()
				f.acked = len(f.datas)
				stores++
				if stores == 200 {
					close(killed)
				}
				mu.Unlock()
			}
		}(w)
	}
	stopped := make(chan struct{})
	go func() { wg.Wait(); close(stopped) }()
	select {
	case <-killed:
	case <-stopped:
		t.Fatalf("every writer failed before %d stores", 200)
	}
	c.proc.Kill()
	<-stopped
	c.start(t)
	check := c.client(t)
	for k, f := range files {
		if f == nil {
			continue
		}
		_, got, err := check.Fetch(f.fid)
		if err != nil {
			t.Fatalf("file %d after restart: %v", k, err)
		}
		ok := f.acked == 0 && len(got) == 0
		for _, d := range f.datas[max(f.acked-1, 0):] {
			if bytes.Equal(got, d) {
				ok = true
			}
		}
		if !ok {
			t.Fatalf("file %d: %d bytes after restart match neither the acknowledged store %d nor a later one", k, len(got), f.acked)
		}
	}
	t.Logf("%d stores acknowledged before kill -9; all intact", stores)
}

// TestGarbageOnTheWire sends garbage, a huge length field and a truncated
// frame; the server drops those connections and keeps serving, data intact.
func TestGarbageOnTheWire(t *testing.T) {
	c := newCell(t)
	cl := c.client(t)
	root, _ := cl.Root("coda.root")
	r, err := cl.Create(proto.OpCreate, root, "keep", 0644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Store(r.Attr.FID, []byte("intact")); err != nil {
		t.Fatal(err)
	}
	// Plain garbage before TLS.
	raw, err := net.Dial("tcp", c.addr)
	if err != nil {
		t.Fatal(err)
	}
	raw.Write(bytes.Repeat([]byte{0xde, 0xad}, 4096))
	raw.Close()
	// Inside TLS: a whole frame header announcing 4 GiB (refused at once,
	// nothing allocated), then a truncated frame (dropped at the handshake
	// deadline).
	header := func(length uint32) []byte {
		b := binary.LittleEndian.AppendUint32(nil, length)
		b = append(b, 1, 0)                           // type request, no flags
		b = binary.LittleEndian.AppendUint16(b, 1)    // op hello
		return binary.LittleEndian.AppendUint64(b, 1) // request id
	}
	for _, payload := range [][]byte{
		header(0xffffffff),
		append(header(100), 1, 2, 3),
	} {
		tc, err := tls.Dial("tcp", c.addr, &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13})
		if err != nil {
			t.Fatal(err)
		}
		tc.Write(payload)
		start := time.Now()
		tc.SetReadDeadline(start.Add(20 * time.Second))
		buf := make([]byte, 1)
		var rerr error
		for rerr == nil {
			_, rerr = tc.Read(buf)
		}
		tc.Close()
		if ne, ok := rerr.(net.Error); ok && ne.Timeout() {
			t.Fatalf("server kept a connection open for 20s after a bad frame % x", payload)
		}
		t.Logf("bad frame % x: connection closed after %v", payload, time.Since(start).Round(time.Millisecond))
	}
	fresh := c.client(t)
	_, got, err := fresh.Fetch(r.Attr.FID)
	if err != nil || string(got) != "intact" {
		t.Fatalf("after garbage: %q %v", got, err)
	}
	if _, err := cl.GetAttr(root); err != nil {
		t.Fatalf("existing client after garbage: %v", err)
	}
}

// TestRefusesReadableKeyFiles: a server whose key files can be read by
// group or others does not start, and says which file and how to fix it.
func TestRefusesReadableKeyFiles(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "vice")
	if r := bintest.Run(t, bintest.AdminPassword+"\n", "server", "init", "--data", data, "--realm", realm, "--id", "1", "--listen", freeAddr(t)); r.Code != 0 {
		t.Fatalf("server init: %s", r.Stderr)
	}
	for _, name := range []string{"realm.secret", "volutil.key", "server.key"} {
		path := filepath.Join(data, "db", name)
		if err := os.Chmod(path, 0o640); err != nil {
			t.Fatal(err)
		}
		r := bintest.Run(t, "", "server", "--data", data)
		if r.Code != 1 || !strings.Contains(r.Stderr, path) || !strings.Contains(r.Stderr, "chmod 600") || strings.Count(r.Stderr, "\n") != 1 {
			t.Errorf("%s mode 0640: exit %d, stderr %q", name, r.Code, r.Stderr)
		}
		os.Chmod(path, 0o600)
	}
}

// TestInitNeedsAdminPassword: with no password file, no terminal and
// nothing on stdin, init fails at once with a clear line and leaves no
// data directory behind; a password file works.
func TestInitNeedsAdminPassword(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "vice")
	r := bintest.Run(t, "", "server", "init", "--data", data, "--realm", realm, "--id", "1", "--listen", freeAddr(t))
	if r.Code == 0 || !strings.Contains(r.Stderr, "no admin password") || strings.Count(r.Stderr, "\n") != 1 {
		t.Fatalf("init without a password: exit %d, stderr %q", r.Code, r.Stderr)
	}
	if _, err := os.Stat(data); !os.IsNotExist(err) {
		t.Fatalf("a failed init left %s: %v", data, err)
	}
	pw := filepath.Join(dir, "admin.pw")
	os.WriteFile(pw, []byte("from-a-file\n"), 0o600)
	if r := bintest.Run(t, "", "server", "init", "--data", data, "--realm", realm, "--id", "1", "--listen", freeAddr(t), "--admin-password-file", pw); r.Code != 0 {
		t.Fatalf("init with a password file: %s", r.Stderr)
	}
}
