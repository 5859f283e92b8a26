package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coda-fs/coda/server/bintest"
)

// netnsLab is four network namespaces — two servers, two clients — each
// linked by a veth pair to a router namespace; partitions are blackhole
// routes, so packets are dropped, not refused.
type netnsLab struct {
	t      *testing.T
	prefix string
}

// The nodes of the lab and their addresses (10.99.N.2, router 10.99.N.1).
var labNodes = []string{"s1", "s2", "ca", "cb"}

func labAddr(i int) string { return fmt.Sprintf("10.99.%d.2", i+1) }

func ipCmd(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %v: %v: %s", args, err, out)
	}
}

func newNetnsLab(t *testing.T) *netnsLab {
	if _, err := exec.LookPath("ip"); err != nil {
		t.Fatalf("the network namespace test needs ip (iproute2): %v", err)
	}
	lab := &netnsLab{t: t, prefix: fmt.Sprintf("coda%d", os.Getpid()%100000)}
	rt := lab.ns("rt")
	ipCmd(t, "netns", "add", rt)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", rt).Run() })
	ipCmd(t, "-n", rt, "link", "set", "lo", "up")
	if out, err := exec.Command("nsenter", "--net=/run/netns/"+rt, "sh", "-c", "echo 1 > /proc/sys/net/ipv4/ip_forward").CombinedOutput(); err != nil {
		t.Fatalf("forwarding in the router namespace: %v %s", err, out)
	}
	for i, n := range labNodes {
		ns := lab.ns(n)
		ipCmd(t, "netns", "add", ns)
		t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
		ipCmd(t, "-n", ns, "link", "set", "lo", "up")
		in, out := fmt.Sprintf("v%s%d", lab.prefix[4:], i), lab.routerLink(i)
		ipCmd(t, "link", "add", in, "netns", ns, "type", "veth", "peer", "name", out, "netns", rt)
		ipCmd(t, "-n", ns, "addr", "add", labAddr(i)+"/24", "dev", in)
		ipCmd(t, "-n", ns, "link", "set", in, "up")
		ipCmd(t, "-n", ns, "route", "add", "default", "via", fmt.Sprintf("10.99.%d.1", i+1))
		ipCmd(t, "-n", rt, "addr", "add", fmt.Sprintf("10.99.%d.1/24", i+1), "dev", out)
		ipCmd(t, "-n", rt, "link", "set", out, "up")
	}
	return lab
}

func (l *netnsLab) ns(node string) string { return l.prefix + node }

// routerLink names the router's end of node i's link.
func (l *netnsLab) routerLink(i int) string { return fmt.Sprintf("r%s%d", l.prefix[4:], i) }

// cut makes node unable to reach the others listed (blackhole routes), or
// heals that when on is false.
func (l *netnsLab) cut(node string, others []int, on bool) {
	verb := "add"
	if !on {
		verb = "del"
	}
	for _, o := range others {
		ipCmd(l.t, "-n", l.ns(node), "route", verb, "blackhole", labAddr(o)+"/32")
	}
}

// labCell is a cell in the lab: servers 1 and 2 (replicating coda.root)
// and a venus on each client, logged in as the admin.
type labCell struct {
	dir     string             // logs and data
	addr    func(i int) string // server i's address
	key, ca string             // the admin key and the realm CA
	a, b    string             // the clients' realm roots
}

func (l *netnsLab) cell() *labCell {
	t, lab := l.t, l
	dir := t.TempDir()
	port := 24000 + os.Getpid()%1000
	addr := func(i int) string { return fmt.Sprintf("%s:%d", labAddr(i), port) }
	data := func(i int) string { return filepath.Join(dir, fmt.Sprintf("vice%d", i+1)) }
	for i := range 2 {
		args := []string{"server", "init", "--data", data(i), "--realm", realm, "--id", fmt.Sprint(i + 1), "--listen", addr(i)}
		if i == 1 {
			secret := filepath.Join(dir, "realm.secret")
			b, err := os.ReadFile(filepath.Join(data(0), "db", "realm.secret"))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(secret, b, 0o600); err != nil {
				t.Fatal(err)
			}
			args = append(args, "--join", addr(0), "--secret", secret)
		}
		if r := bintest.RunIn(t, lab.ns(labNodes[i]), bintest.AdminPassword+"\n", args...); r.Code != 0 {
			t.Fatalf("server init %d: %s", i+1, r.Stderr)
		}
		ready := filepath.Join(dir, fmt.Sprintf("s%d.ready", i+1))
		p := bintest.StartIn(t, lab.ns(labNodes[i]), filepath.Join(dir, fmt.Sprintf("s%d.log", i+1)), ready, "server", "--data", data(i), "--ready-file", ready)
		t.Cleanup(p.Stop)
	}
	key, ca := filepath.Join(data(0), "db", "volutil.key"), filepath.Join(data(0), "db", "ca.pem")
	if r := bintest.RunIn(t, lab.ns("s1"), "", "createvol_rep", "--key", key, "--ca", ca, "coda.root", addr(0), addr(1)); r.Code != 0 {
		t.Fatalf("createvol_rep: %s", r.Stderr)
	}
	venus := func(node string) string {
		mnt := filepath.Join(dir, node+".mnt")
		ready := filepath.Join(dir, node+".ready")
		p := bintest.StartIn(t, lab.ns(node), filepath.Join(dir, node+".log"), ready, "venus", "--config", "/dev/null",
			"--realm", realm, "--servers", addr(0)+","+addr(1), "--mount", mnt, "--cache", filepath.Join(dir, node+".cache"),
			"--ca", ca, "--ready-file", ready)
		t.Cleanup(p.Stop)
		if r := bintest.RunIn(t, lab.ns(node), bintest.AdminPassword+"\n", "clog", "-pipe", "--mount", mnt, "admin"); r.Code != 0 {
			t.Fatalf("clog on %s: %s", node, r.Stderr)
		}
		return filepath.Join(mnt, realm)
	}
	return &labCell{dir: dir, addr: addr, key: key, ca: ca, a: venus("ca"), b: venus("cb")}
}

// TestNetnsPartition: the partition test with the network really split: two
// servers and two clients in their own network namespaces; client A and
// server 1 on one side, client B and server 2 on the other (packets between
// the sides are dropped); both sides upload, delete and deliver mail; when
// the routes come back everything merges with no conflict and the replicas
// end identical.
func TestNetnsPartition(t *testing.T) {
	lab := newNetnsLab(t)
	cl := lab.cell()
	dir, addr, key, ca, a, b := cl.dir, cl.addr, cl.key, cl.ca, cl.a, cl.b
	sh(t, "mkdir -p "+a+"/up "+a+"/mail/tmp "+a+"/mail/new && for i in $(seq 1 40); do echo old > "+a+"/up/old-$i; done")
	sh(t, "ls "+b+"/up >/dev/null && ls "+b+"/mail/new")

	// The split: A and server 1 | B and server 2.
	lab.cut("ca", []int{1}, true)
	lab.cut("s1", []int{1, 3}, true)
	lab.cut("cb", []int{0}, true)
	lab.cut("s2", []int{0, 2}, true)
	errs := make(chan error, 2)
	for _, side := range []struct{ root, who string }{{a, "a"}, {b, "b"}} {
		go func() {
			errs <- func() error {
				for i := range 100 {
					if err := os.WriteFile(fmt.Sprintf("%s/up/%s-%d.jpg", side.root, side.who, i), []byte(side.who), 0o644); err != nil {
						return err
					}
					tmp := fmt.Sprintf("%s/mail/tmp/%s.%d", side.root, side.who, i)
					if err := os.WriteFile(tmp, []byte("m"), 0o644); err != nil {
						return err
					}
					if err := os.Rename(tmp, fmt.Sprintf("%s/mail/new/%s.%d", side.root, side.who, i)); err != nil {
						return err
					}
				}
				first := 1
				if side.who == "b" {
					first = 21
				}
				for i := first; i < first+20; i++ {
					if err := os.Remove(fmt.Sprintf("%s/up/old-%d", side.root, i)); err != nil {
						return err
					}
				}
				return nil
			}()
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatalf("work during the split: %v", err)
		}
	}
	lab.cut("ca", []int{1}, false)
	lab.cut("s1", []int{1, 3}, false)
	lab.cut("cb", []int{0}, false)
	lab.cut("s2", []int{0, 2}, false)

	deadline := time.Now().Add(20 * time.Second)
	for {
		na, nb := len(list(t, a+"/mail/new")), len(list(t, b+"/up"))
		ta := len(list(t, a+"/mail/tmp"))
		if na == 200 && nb == 200 && ta == 0 {
			break
		}
		if time.Now().After(deadline) {
			lb, _ := os.ReadFile(filepath.Join(dir, "cb.log"))
			l2, _ := os.ReadFile(filepath.Join(dir, "s2.log"))
			t.Fatalf("after healing: a sees %d messages in new/ and %d in tmp/, b sees %d names in up/\nvenus b:\n%s\nserver 2:\n%s", na, ta, nb, tail(lb), tail(l2))
		}
		time.Sleep(200 * time.Millisecond) // poll: the clients find the servers again by themselves
	}
	lines := func(i int) string {
		r := bintest.RunIn(t, lab.ns(labNodes[i]), "", "volutil", "-h", addr(i), "--key", key, "--ca", ca, "info", "-all", "coda.root")
		if r.Code != 0 {
			t.Fatalf("info -all: %s", r.Stderr)
		}
		var out []string
		for _, l := range strings.Split(r.Stdout, "\n") {
			if strings.HasPrefix(l, "vnode ") {
				out = append(out, l)
			}
		}
		return strings.Join(out, "\n")
	}
	deadline = time.Now().Add(30 * time.Second)
	for lines(0) != lines(1) {
		if time.Now().After(deadline) {
			t.Fatal("the replicas still differ")
		}
		sh(t, "ls -lR "+a+" >/dev/null")
		time.Sleep(200 * time.Millisecond) // poll: ls -lR levels what differs
	}
	if out, _ := exec.Command("find", a, "-lname", "@*").CombinedOutput(); len(out) != 0 {
		t.Fatalf("conflicts after the merge: %s", out)
	}
}

// TestNetnsAdaptive: cfs adaptive on a link really made slow (tc shapes
// what the router sends client A to 20 KB/s): the fetch of a file
// measures the link as weak and the volume goes write-disconnected (an
// update is logged, not sent); with the link fast again the next fetch
// measures it strong, and the log goes to the servers by itself.
func TestNetnsAdaptive(t *testing.T) {
	if _, err := exec.LookPath("tc"); err != nil {
		t.Fatalf("the adaptive test needs tc (iproute2): %v", err)
	}
	lab := newNetnsLab(t)
	cl := lab.cell()
	a, b := cl.a, cl.b
	sh(t, "head -c 65536 /dev/urandom > "+b+"/slow && head -c 4194304 /dev/urandom > "+b+"/fast")
	if out := mustRun(t, "cfs", "adaptive", a).Stdout; out != "1 volumes adaptive\n" {
		t.Fatalf("cfs adaptive: %q", out)
	}
	toA := lab.routerLink(2) // the router's end of client A's link
	tc := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", append([]string{"netns", "exec", lab.ns("rt"), "tc"}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("tc %v: %v: %s", args, err, out)
		}
	}
	tc("qdisc", "add", "dev", toA, "root", "tbf", "rate", "160kbit", "burst", "4kb", "latency", "2s")
	state := func(want string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			lv := mustRun(t, "cfs", "lv", a).Stdout
			if strings.Contains(lv, "State is "+want) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("the volume never became %s:\n%s", want, lv)
			}
			time.Sleep(100 * time.Millisecond) // poll: venus adapts by itself
		}
	}
	start := time.Now()
	if _, err := os.ReadFile(a + "/slow"); err != nil {
		lg, _ := os.ReadFile(filepath.Join(cl.dir, "ca.log"))
		t.Fatalf("reading over the weak link: %v\n%s", err, tail(lg))
	}
	if took := time.Since(start); took < time.Second {
		t.Fatalf("64 KiB came over the shaped link in %v: the shaping did not hold", took)
	}
	state("write-disconnected")
	sh(t, "echo weak > "+a+"/logged")
	if _, err := os.Stat(b + "/logged"); err == nil {
		t.Fatal("an update over the weak link reached the servers at once")
	}
	tc("qdisc", "del", "dev", toA, "root")
	sh(t, "cat "+a+"/fast > /dev/null")
	state("connected")
	deadline := time.Now().Add(10 * time.Second)
	for {
		if out, err := os.ReadFile(b + "/logged"); err == nil && string(out) == "weak\n" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the logged update did not reach the servers once the link was fast:\n%s", mustRun(t, "cfs", "lv", a).Stdout)
		}
		time.Sleep(100 * time.Millisecond) // poll: reintegration runs by itself
	}
}
