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
		in, out := fmt.Sprintf("v%s%d", lab.prefix[4:], i), fmt.Sprintf("r%s%d", lab.prefix[4:], i)
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

// TestNetnsPartition: the partition test with the network really split: two
// servers and two clients in their own network namespaces; client A and
// server 1 on one side, client B and server 2 on the other (packets between
// the sides are dropped); both sides upload, delete and deliver mail; when
// the routes come back everything merges with no conflict and the replicas
// end identical.
func TestNetnsPartition(t *testing.T) {
	lab := newNetnsLab(t)
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
	a, b := venus("ca"), venus("cb")
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
