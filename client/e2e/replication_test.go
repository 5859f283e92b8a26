package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/coda-fs/coda/server/bintest"
)

// replicatedCell is three servers with coda.root replicated on each.
func replicatedCell(t *testing.T) cell {
	return cell{bintest.NewCell(t, bintest.CellOptions{Realm: realm, Servers: 3})}
}

// writerLoop creates, writes, renames and deletes files in dir until stop
// is closed; it reports the first error and the longest operation.
type writerLoop struct {
	dir     string
	stop    chan struct{}
	done    chan struct{}
	ops     atomic.Int64
	err     error
	longest time.Duration
	what    string
}

func startWriter(t *testing.T, dir string) *writerLoop {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	w := &writerLoop{dir: dir, stop: make(chan struct{}), done: make(chan struct{})}
	go w.run()
	return w
}

func (w *writerLoop) timed(what string, fn func() error) bool {
	start := time.Now()
	err := fn()
	if d := time.Since(start); d > w.longest {
		w.longest, w.what = d, what
	}
	if err != nil {
		w.err = fmt.Errorf("%s: %w", what, err)
		return false
	}
	w.ops.Add(1)
	return true
}

func (w *writerLoop) run() {
	defer close(w.done)
	for i := 0; ; i++ {
		select {
		case <-w.stop:
			return
		default:
		}
		tmp := filepath.Join(w.dir, fmt.Sprintf("tmp.%d", i))
		final := filepath.Join(w.dir, fmt.Sprintf("f.%d", i))
		ok := w.timed("create "+tmp, func() error { return os.WriteFile(tmp, []byte(strings.Repeat("x", i%5000)), 0o644) }) &&
			w.timed("rename "+tmp, func() error { return os.Rename(tmp, final) })
		if ok && i >= 5 {
			ok = w.timed("remove", func() error { return os.Remove(filepath.Join(w.dir, fmt.Sprintf("f.%d", i-5))) })
		}
		if !ok {
			return
		}
	}
}

// finish stops the loop and fails the test on an error.
func (w *writerLoop) finish(t *testing.T, phase string) {
	t.Helper()
	close(w.stop)
	<-w.done
	if w.err != nil {
		t.Fatalf("%s: the writer loop saw an error: %v", phase, w.err)
	}
	t.Logf("%s: %d operations, longest %v (%s)", phase, w.ops.Load(), w.longest, w.what)
	if w.longest > 2*time.Second {
		t.Errorf("%s: an operation stalled %v (%s), bar is 2 s", phase, w.longest, w.what)
	}
}

// waitOps waits until the loop has done n more operations.
func (w *writerLoop) waitOps(t *testing.T, n int64) {
	t.Helper()
	target := w.ops.Load() + n
	deadline := time.Now().Add(30 * time.Second)
	for w.ops.Load() < target {
		select {
		case <-w.done:
			t.Fatalf("the writer loop ended: %v", w.err)
		case <-time.After(10 * time.Millisecond): // poll the counter
		}
		if time.Now().After(deadline) {
			t.Fatalf("the writer loop made no progress (%d ops)", w.ops.Load())
		}
	}
}

// vnodeLines is `volutil info -all coda.root` at server i, vnode lines only.
func (c cell) vnodeLines(t testing.TB, i int) string {
	t.Helper()
	s := c.Servers[i-1]
	r := bintest.Run(t, "", "volutil", "-h", s.Addr, "--key", c.KeyFile(), "--ca", filepath.Join(c.Data, "db", "ca.pem"), "info", "-all", "coda.root")
	if r.Code != 0 {
		t.Fatalf("volutil -h %s info -all: %s", s.Addr, r.Stderr)
	}
	var out []string
	for _, l := range strings.Split(r.Stdout, "\n") {
		if f := strings.Fields(l); len(f) == 11 && f[0] == "vnode" {
			// Without the StoreID (f[9]): identical counters are equal
			// whatever their StoreIDs (resolve/doc.go) — two clients'
			// updates of one directory, applied by the replicas in different
			// orders, leave each replica the StoreID of the last it applied.
			out = append(out, strings.Join(append(f[:9:9], f[10]), " "))
		} else if strings.HasPrefix(l, "vnode ") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// lsLR stats and reads everything under dir, as ls -lR and a reader would.
func lsLR(t *testing.T, dir string) {
	t.Helper()
	if out, err := exec.Command("ls", "-lR", dir).CombinedOutput(); err != nil {
		t.Fatalf("ls -lR: %v\n%s", err, out)
	}
}

// waitLevel runs ls -lR on the client until every server's replica lists
// the same vnodes with the same version vectors and contents.
func (c cell) waitLevel(t *testing.T, root string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		lsLR(t, root)
		first := c.vnodeLines(t, 1)
		same := true
		var diff string
		for i := 2; i <= len(c.Servers); i++ {
			if l := c.vnodeLines(t, i); l != first {
				same, diff = false, fmt.Sprintf("server 1:\n%s\nserver %d:\n%s", first, i, l)
			}
		}
		if same {
			t.Logf("replicas level: %d vnodes each", strings.Count(first, "\n")+1)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("replicas still differ after ls -lR for 30 s:\n%s", diff)
		}
		time.Sleep(200 * time.Millisecond) // poll: venus reconnects to the returned server by itself
	}
}

// TestServerKilledMidLoop: with three replicas, kill -9 of one server while
// a client writes costs no error and no stall over 2 s; after the server
// returns, ls -lR on another client makes every replica identical
// (volutil info -all).
func TestServerKilledMidLoop(t *testing.T) {
	c := replicatedCell(t)
	a, b := c.Venus("a"), c.Venus("b")
	w := startWriter(t, a.Root+"/loop")
	w.waitOps(t, 50)
	c.Servers[1].Proc.Kill()
	w.waitOps(t, 200)
	w.finish(t, "kill -9 server 2")

	c.StartServer(2)
	if c.vnodeLines(t, 2) == c.vnodeLines(t, 1) {
		t.Fatal("server 2 missed no update while it was down")
	}
	c.waitLevel(t, b.Root)
}

// TestServerStoppedMidLoop: the same with SIGSTOP (a hung server whose
// connections stay open): detected by the liveness probes, the loop goes
// on; after SIGCONT ls -lR levels the replicas.
func TestServerStoppedMidLoop(t *testing.T) {
	c := replicatedCell(t)
	a, b := c.Venus("a"), c.Venus("b")
	w := startWriter(t, a.Root+"/loop")
	w.waitOps(t, 50)
	p := c.Servers[2].Proc
	p.Signal(syscall.SIGSTOP)
	defer p.Signal(syscall.SIGCONT)
	w.waitOps(t, 200)
	w.finish(t, "SIGSTOP server 3")

	p.Signal(syscall.SIGCONT)
	if c.vnodeLines(t, 3) == c.vnodeLines(t, 1) {
		t.Fatal("server 3 missed no update while it was stopped")
	}
	c.waitLevel(t, b.Root)
}

// onlyBusy reports whether every object a resync left unlevel was one that
// kept changing under it (a client writing there throughout).
func onlyBusy(out string) bool {
	n := 0
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "not level: ") {
			if !strings.Contains(l, "the replica changed since it was read") {
				return false
			}
			n++
		}
	}
	return n > 0
}

// TestReplaceDeadServer: server 3 loses its disk; it is initialised again
// with its old id and address, create_rep recreates its replica of
// coda.root empty, and volutil resync copies everything to it. A client
// writing throughout never sees an error; afterwards every replica is
// identical, vnode for vnode.
func TestReplaceDeadServer(t *testing.T) {
	c := replicatedCell(t)
	a := c.Venus("a")
	sh(t, "mkdir -p "+a.Root+"/tree/d1/d2 "+a.Root+"/tree/e && "+
		"for i in $(seq 1 60); do echo file $i > "+a.Root+"/tree/d1/f$i; done && "+
		"ln -s d1/f1 "+a.Root+"/tree/link && "+
		"head -c 3000000 /dev/urandom > "+a.Root+"/tree/d1/d2/big && "+
		"truncate -s 200000 "+a.Root+"/tree/e/sparse")
	w := startWriter(t, a.Root+"/loop")
	w.waitOps(t, 30)

	s3 := c.Servers[2]
	s3.Proc.Kill()
	if err := os.RemoveAll(s3.Data); err != nil {
		t.Fatal(err)
	}
	w.waitOps(t, 30)
	c.InitServer(3)
	c.StartServer(3)
	ca := filepath.Join(c.Data, "db", "ca.pem")
	volutil := func(host string, args ...string) bintest.Result {
		return bintest.Run(t, "", append([]string{"volutil", "-h", host, "--key", c.KeyFile(), "--ca", ca}, args...)...)
	}
	if r := volutil(s3.Addr, "create_rep", "coda.root", "7f000001", "3000001"); r.Code != 0 {
		t.Fatalf("create_rep: %s", r.Stderr)
	}
	w.waitOps(t, 30)
	r := volutil(s3.Addr, "resync", "coda.root")
	if r.Code != 0 && !onlyBusy(r.Stdout) {
		t.Fatalf("resync: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	// While the loop writes, the directory it writes in may change under
	// every pass (reported, exit 1); the quiet resync below levels it.
	t.Logf("resync while the client writes (exit %d):\n%s", r.Code, r.Stdout)
	w.waitOps(t, 30)
	w.finish(t, "replacing server 3")

	// Quiet now: one more resync, and the replicas are identical.
	if r := volutil(c.Addr, "resync", "coda.root"); r.Code != 0 {
		t.Fatalf("resync: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	first := c.vnodeLines(t, 1)
	for i := 2; i <= 3; i++ {
		if l := c.vnodeLines(t, i); l != first {
			t.Fatalf("after resync server %d differs from server 1:\n%s\n---\n%s", i, l, first)
		}
	}
	if n := strings.Count(first, "\n") + 1; n < 70 {
		t.Fatalf("only %d vnodes", n)
	}
	got := sh(t, "md5sum < "+a.Root+"/tree/d1/d2/big")
	c.Servers[0].Proc.Kill() // the data must be on the others, 3 included
	c.Servers[1].Proc.Kill()
	b := c.Venus("b") // reaches server 3 only
	if again := sh(t, "md5sum < "+b.Root+"/tree/d1/d2/big"); again != got {
		t.Fatalf("big file read from server 3 alone: %s, want %s", again, got)
	}
	if out := sh(t, "cat "+b.Root+"/tree/d1/f60 "+b.Root+"/tree/link"); out != "file 60\nfile 1\n" {
		t.Fatalf("read from server 3 alone: %q", out)
	}
}

// TestSCMDown: with the SCM stopped, file service, volume lookups and
// logins at the other servers go on; what must change the realm's
// databases (createvol_rep, cpasswd) fails in one line naming the SCM.
func TestSCMDown(t *testing.T) {
	c := replicatedCell(t)
	a := c.Venus("a")
	sh(t, "echo before > "+a.Root+"/f")
	c.Servers[0].Proc.Stop()
	scm := c.Servers[0].Addr
	s2 := c.Servers[1].Addr

	if out := sh(t, "echo during > "+a.Root+"/g && cat "+a.Root+"/f "+a.Root+"/g"); out != "before\nduring\n" {
		t.Fatalf("file service with the SCM down: %q", out)
	}
	ca := filepath.Join(c.Data, "db", "ca.pem")
	r := bintest.Run(t, "", "volutil", "-h", s2, "--key", c.KeyFile(), "--ca", ca, "info", "coda.root")
	if r.Code != 0 || !strings.Contains(r.Stdout, "7f000001") {
		t.Fatalf("volutil -h server2 info: exit %d, %q %q", r.Code, r.Stdout, r.Stderr)
	}
	b := c.Venus("b") // a new client finds the root volume and logs in without the SCM
	if out := sh(t, "cat "+b.Root+"/g"); out != "during\n" {
		t.Fatalf("new client reads %q", out)
	}
	if r := bintest.Run(t, bintest.AdminPassword+"\n", "clog", "-pipe", "--mount", b.Mount, "-host", s2, "admin"); r.Code != 0 {
		t.Fatalf("clog at server 2: exit %d, %s", r.Code, r.Stderr)
	}

	one := func(what string, r bintest.Result) {
		t.Helper()
		if r.Code == 0 || strings.Count(strings.TrimSpace(r.Stderr), "\n") != 0 || !strings.Contains(r.Stderr, scm) {
			t.Errorf("%s with the SCM down: exit %d, %q; want one line naming the SCM %s", what, r.Code, r.Stderr, scm)
		}
	}
	one("createvol_rep -h SCM", bintest.Run(t, "", "createvol_rep", "-h", scm, "--key", c.KeyFile(), "--ca", ca, "www", s2))
	one("createvol_rep -h server2", bintest.Run(t, "", "createvol_rep", "-h", s2, "--key", c.KeyFile(), "--ca", ca, "www", s2))
	one("cpasswd -h server2", bintest.Run(t, bintest.AdminPassword+"\nnew-pw\nnew-pw\n", "cpasswd", "--pipe", "--mount", b.Mount, "-h", s2, "admin"))
	one("cpasswd", bintest.Run(t, bintest.AdminPassword+"\nnew-pw\nnew-pw\n", "cpasswd", "--pipe", "--mount", b.Mount, "admin"))
}

// TestMountPoints: cfs mkmount mounts a volume (here on two of the three
// servers) in the tree; both clients see it; lsmount names it; rm and
// rmdir cannot remove it; rmmount does and the volume stays.
func TestMountPoints(t *testing.T) {
	c := replicatedCell(t)
	a, b := c.Venus("a"), c.Venus("b")
	c.Admin("createvol_rep", "-h", c.Addr, "www", c.Servers[1].Addr, c.Servers[2].Addr)
	cfs := func(args ...string) bintest.Result { return bintest.Run(t, "", append([]string{"cfs"}, args...)...) }
	if r := cfs("mkmount", a.Root+"/www", "www"); r.Code != 0 {
		t.Fatalf("cfs mkmount: exit %d, %s", r.Code, r.Stderr)
	}
	sh(t, "mkdir "+a.Root+"/www/htdocs && echo hello > "+a.Root+"/www/htdocs/index.html")
	if out := sh(t, "cat "+b.Root+"/www/htdocs/index.html && ls -F "+b.Root+"/"); out != "hello\nwww/\n" {
		t.Fatalf("client b sees %q", out)
	}
	if r := cfs("lsmount", a.Root+"/www"); r.Code != 0 || r.Stdout != "'"+a.Root+"/www' is a mount point for volume 'www'\n" {
		t.Fatalf("cfs lsmount: exit %d, %q %q", r.Code, r.Stdout, r.Stderr)
	}
	if r := cfs("lv", a.Root+"/www/htdocs"); r.Code != 0 || !strings.Contains(r.Stdout, `named "www"`) ||
		strings.Count(r.Stdout, "replica ") != 2 || strings.Contains(r.Stdout, c.Servers[0].Addr) {
		t.Fatalf("cfs lv in the mounted volume: exit %d, %q %q", r.Code, r.Stdout, r.Stderr)
	}
	for _, bad := range [][]string{
		{"mkmount", a.Root + "/nothere", "no-such-volume"},
		{"mkmount", a.Root + "/www", "www"},
		{"lsmount", a.Root + "/www/htdocs"},
	} {
		if r := cfs(bad...); r.Code != 1 || strings.Count(r.Stderr, "\n") != 1 {
			t.Errorf("cfs %v: exit %d, %q; want one line and exit 1", bad, r.Code, r.Stderr)
		}
	}
	if _, err := os.Lstat(a.Root + "/nothere"); !os.IsNotExist(err) {
		t.Errorf("a failed mkmount left %v", err)
	}
	if err := syscall.Rmdir(a.Root + "/www"); err == nil {
		t.Fatal("rmdir removed a mount point")
	}
	if err := syscall.Unlink(a.Root + "/www"); err == nil {
		t.Fatal("unlink removed a mount point")
	}
	if r := cfs("rmmount", a.Root+"/www"); r.Code != 0 {
		t.Fatalf("cfs rmmount: exit %d, %s", r.Code, r.Stderr)
	}
	if _, err := os.Lstat(a.Root + "/www"); !os.IsNotExist(err) {
		t.Fatalf("after rmmount: %v", err)
	}
	r := bintest.Run(t, "", "volutil", "-h", c.Servers[1].Addr, "--key", c.KeyFile(), "--ca", filepath.Join(c.Data, "db", "ca.pem"), "getvolumelist")
	if !strings.Contains(r.Stdout, "www") {
		t.Fatalf("the volume went with its mount point: %q %q", r.Stdout, r.Stderr)
	}
	if r := cfs("mkmount", a.Root+"/web", "www"); r.Code != 0 {
		t.Fatalf("cfs mkmount again: %s", r.Stderr)
	}
	if out := sh(t, "cat "+a.Root+"/web/htdocs/index.html"); out != "hello\n" {
		t.Fatalf("mounted again: %q", out)
	}
}

// TestDivergenceReported: a client-side partition lets two clients update
// one file on disjoint replicas; when the partition heals the replicas are
// concurrent, not dominated: venus reports the object in cfs lv (and shows
// it as a conflict link) and neither side's version is overwritten.
func TestDivergenceReported(t *testing.T) {
	c := replicatedCell(t)
	a, b := c.Venus("a"), c.Venus("b")
	f := "/f"
	sh(t, "echo v0 > "+a.Root+f)
	if out := sh(t, "cat "+b.Root+f); out != "v0\n" {
		t.Fatalf("b reads %q", out)
	}
	s1, s2, s3 := c.Servers[0].Addr, c.Servers[1].Addr, c.Servers[2].Addr
	cfs := func(args ...string) {
		t.Helper()
		if r := bintest.Run(t, "", append([]string{"cfs"}, args...)...); r.Code != 0 {
			t.Fatalf("cfs %v: %s", args, r.Stderr)
		}
	}
	cfs("disconnect", "--mount", a.Mount, s2)
	cfs("disconnect", "--mount", b.Mount, s1, s3)
	sh(t, "echo from-a > "+a.Root+f)
	sh(t, "echo from-b > "+b.Root+f)
	cfs("reconnect", "--mount", a.Mount)
	cfs("reconnect", "--mount", b.Mount)

	fid := strings.Fields(sh(t, "coda_bin="+bintest.Binary(t)+"; $coda_bin cfs getfid "+a.Root+f))[1]
	fid = strings.TrimSuffix(fid, "@"+realm)
	deadline := time.Now().Add(10 * time.Second)
	for {
		sh(t, "ls -l "+a.Root+f+" >/dev/null")
		r := bintest.Run(t, "", "cfs", "lv", a.Root+f)
		if strings.Contains(r.Stdout, "out of date: "+fid+": diverged") {
			break
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(a.Log)
			t.Fatalf("cfs lv never reported %s as diverged:\n%s%s\n%s\n%s\n%s\n%s", fid, r.Stdout, r.Stderr,
				c.vnodeLines(t, 1), c.vnodeLines(t, 2), c.vnodeLines(t, 3), log)
		}
		time.Sleep(100 * time.Millisecond) // poll: venus reconnects to the servers by itself
	}
	lines := func(i int) string {
		for _, l := range strings.Split(c.vnodeLines(t, i), "\n") {
			if strings.HasPrefix(l, "vnode "+fid+" ") {
				return l
			}
		}
		t.Fatalf("server %d lacks %s", i, fid)
		return ""
	}
	if lines(1) != lines(3) || lines(1) == lines(2) {
		t.Fatalf("the replicas were changed by the conflict:\n%s\n%s\n%s", lines(1), lines(2), lines(3))
	}
}

// TestAdminToolsFindTheSCM: run with a server's key file and no -h,
// createvol_rep and purgevol_rep find the SCM in that server's data
// directory, even on a server that is not the SCM.
func TestAdminToolsFindTheSCM(t *testing.T) {
	c := replicatedCell(t)
	s3 := c.Servers[2]
	key := filepath.Join(s3.Data, "db", "volutil.key")
	if r := bintest.Run(t, "", "createvol_rep", "--key", key, "mail", s3.Addr, c.Servers[1].Addr); r.Code != 0 {
		t.Fatalf("createvol_rep with server 3's key and no -h: %s", r.Stderr)
	}
	if r := bintest.Run(t, "", "purgevol_rep", "--key", key, "mail"); r.Code != 0 || r.Stdout != "volume mail purged\n" {
		t.Fatalf("purgevol_rep with server 3's key and no -h: exit %d, %q %q", r.Code, r.Stdout, r.Stderr)
	}
}
