package e2e

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coda-fs/coda/server/bintest"
)

// TestPartitionMergesUniqueNames: two servers, two clients, a client-side
// partition (A reaches only server 1, B only server 2), both working at the
// same time: each uploads 500 uniquely named images and deletes 100 old
// ones, and each delivers 1,000 messages into a maildir (create in tmp/,
// rename into new/).
// When the partition heals, reading new/ first and then the rest merges
// everything with no conflict: both clients see the union minus the
// deletions, every message once, and the replicas end identical.
func TestPartitionMergesUniqueNames(t *testing.T) {
	c := cell{bintest.NewCell(t, bintest.CellOptions{Realm: realm, Servers: 2})}
	a, b := c.Venus("a"), c.Venus("b")
	sh(t, "mkdir -p "+a.Root+"/up "+a.Root+"/mail/tmp "+a.Root+"/mail/new && for i in $(seq 1 220); do echo old $i > "+a.Root+"/up/old-$i; done")
	if out := sh(t, "ls "+b.Root+"/up | wc -l"); strings.TrimSpace(out) != "220" {
		t.Fatalf("b sees %s files before the partition", out)
	}
	s1, s2 := c.Servers[0].Addr, c.Servers[1].Addr
	cfs := func(args ...string) {
		t.Helper()
		if r := bintest.Run(t, "", append([]string{"cfs"}, args...)...); r.Code != 0 {
			t.Fatalf("cfs %v: %s", args, r.Stderr)
		}
	}
	cfs("disconnect", "--mount", a.Mount, s2)
	cfs("disconnect", "--mount", b.Mount, s1)
	work := func(root, side string, del0 int) chan error {
		done := make(chan error, 1)
		go func() {
			done <- func() error {
				for i := 1; i <= 1000; i++ {
					if i <= 500 {
						if err := os.WriteFile(fmt.Sprintf("%s/up/img-%s-%03d.jpg", root, side, i), []byte(side), 0o644); err != nil {
							return err
						}
					}
					tmp := fmt.Sprintf("%s/mail/tmp/%s.%d", root, side, i)
					if err := os.WriteFile(tmp, []byte("mail "+side), 0o644); err != nil {
						return err
					}
					if err := os.Rename(tmp, fmt.Sprintf("%s/mail/new/%s.%d", root, side, i)); err != nil {
						return err
					}
				}
				for i := del0; i < del0+100; i++ {
					if err := os.Remove(fmt.Sprintf("%s/up/old-%d", root, i)); err != nil {
						return err
					}
				}
				return nil
			}()
		}()
		return done
	}
	da, db := work(a.Root, "a", 1), work(b.Root, "b", 101)
	for _, d := range []chan error{da, db} {
		if err := <-d; err != nil {
			t.Fatalf("partitioned work: %v", err)
		}
	}
	cfs("reconnect", "--mount", a.Mount)
	cfs("reconnect", "--mount", b.Mount)

	var want []string
	for i := 201; i <= 220; i++ {
		want = append(want, fmt.Sprintf("old-%d", i))
	}
	for _, side := range []string{"a", "b"} {
		for i := 1; i <= 500; i++ {
			want = append(want, fmt.Sprintf("img-%s-%03d.jpg", side, i))
		}
	}
	sort.Strings(want)
	var wantMail []string
	for _, side := range []string{"a", "b"} {
		for i := 1; i <= 1000; i++ {
			wantMail = append(wantMail, fmt.Sprintf("%s.%d", side, i))
		}
	}
	sort.Strings(wantMail)
	deadline := time.Now().Add(30 * time.Second)
	for {
		var problems []string
		for _, v := range []*bintest.Venus{a, b} {
			if got := list(t, v.Root+"/mail/new"); strings.Join(got, " ") != strings.Join(wantMail, " ") {
				problems = append(problems, fmt.Sprintf("%s new/: %d messages", v.Mount, len(got)))
			}
			if got := list(t, v.Root+"/mail/tmp"); len(got) != 0 {
				problems = append(problems, fmt.Sprintf("%s tmp/: %v", v.Mount, got))
			}
			if got := list(t, v.Root+"/up"); strings.Join(got, " ") != strings.Join(want, " ") {
				problems = append(problems, fmt.Sprintf("%s up/: %d names", v.Mount, len(got)))
			}
		}
		if len(problems) == 0 {
			break
		}
		if time.Now().After(deadline) {
			la, _ := os.ReadFile(a.Log)
			l1, _ := os.ReadFile(c.Servers[0].Log)
			t.Fatalf("after healing: %v\nvenus a:\n%s\nserver 1:\n%s", problems, tail(la), tail(l1))
		}
		time.Sleep(200 * time.Millisecond) // poll: venus reconnects by itself
	}
	for _, v := range []*bintest.Venus{a, b} {
		if out := sh(t, "cat "+v.Root+"/mail/new/b.7 "+v.Root+"/up/img-a-099.jpg"); out != "mail ba" {
			t.Fatalf("%s reads %q", v.Mount, out)
		}
		r := bintest.Run(t, "", "cfs", "lv", v.Root+"/up")
		if !strings.Contains(r.Stdout, "No object known out of date") {
			t.Fatalf("cfs lv after the merge:\n%s%s", r.Stdout, r.Stderr)
		}
	}
	c.waitLevel(t, a.Root)
}

// list returns the sorted names in dir.
func list(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		return []string{"error: " + err.Error()}
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	sort.Strings(out)
	return out
}

// tail is the end of a log, for failure messages.
func tail(b []byte) string {
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	return string(b)
}

// TestConflictShownAndRepaired: both sides of a partition store the same
// files, create the same names (in a directory and in the volume's root),
// remove and update one file, change one directory's mode; healed, each
// conflict is a dangling link to @VOLUME.VNODE.UNIQUE@REALM (found by find
// -lname, ENOENT when opened, the rest of its directory merged and
// working), cfs expand shows each version, and each repair form turns it
// back into a normal object, the same on every replica; codacon announced
// each conflict and repair.
func TestConflictShownAndRepaired(t *testing.T) {
	c := cell{bintest.NewCell(t, bintest.CellOptions{Realm: realm, Servers: 2})}
	a, b := c.Venus("a"), c.Venus("b")
	sh(t, "cd "+a.Root+" && mkdir d d2 d3 d4 d4/s && echo g > d2/g && echo e > d3/e && for f in f1 f2 f3 f4 ok; do echo base > $f; done")
	sh(t, "cd "+b.Root+" && cat f1 f2 f3 f4 d2/g >/dev/null && ls d d3 d4/s")
	s1, s2 := c.Servers[0].Addr, c.Servers[1].Addr
	run := func(args ...string) bintest.Result { t.Helper(); return mustRun(t, args...) }
	run("cfs", "disconnect", "--mount", a.Mount, s2)
	run("cfs", "disconnect", "--mount", b.Mount, s1)
	for _, side := range []struct{ root, who string }{{a.Root, "a"}, {b.Root, "b"}} {
		sh(t, "for f in f1 f2 f3 f4; do echo from "+side.who+" > "+side.root+"/$f; done && echo "+side.who+" > "+side.root+"/d/n")
	}
	sh(t, "rm "+a.Root+"/d2/g && echo updated > "+b.Root+"/d2/g")    // remove/update
	sh(t, "rmdir "+a.Root+"/d4/s && echo new > "+b.Root+"/d4/s/new") // a directory removed while b adds to it
	sh(t, "echo a > "+a.Root+"/r && echo b > "+b.Root+"/r")          // name/name in the volume's root
	// A directory's own attributes changed on both sides: the directory
	// itself is the conflict.
	sh(t, "chmod 700 "+a.Root+"/d3 && echo x > "+a.Root+"/d3/x && chmod 750 "+b.Root+"/d3 && echo y > "+b.Root+"/d3/y")
	run("cfs", "reconnect", "--mount", a.Mount)
	run("cfs", "reconnect", "--mount", b.Mount)

	// Names changed on both sides are conflicts on their own (the rest of
	// their directory merged); d3 as a whole.
	want := []string{"d/n", "d2/g", "d3", "d4/s", "f1", "f2", "f3", "f4", "r"}
	deadline := time.Now().Add(20 * time.Second)
	for {
		out, _ := exec.Command("find", a.Root, "-lname", "@*").CombinedOutput()
		var got []string
		for _, l := range strings.Fields(string(out)) {
			got = append(got, strings.TrimPrefix(l, a.Root+"/"))
		}
		sort.Strings(got)
		if strings.Join(got, " ") == strings.Join(want, " ") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("conflict links found: %v, want %v", got, want)
		}
		sh(t, "ls -lR "+a.Root+" >/dev/null 2>&1; true")
		time.Sleep(200 * time.Millisecond) // poll: venus reconnects by itself
	}
	if r := run("cfs", "lv", a.Root); strings.Count(r.Stdout, "a conflict: a name changed differently") != 4 ||
		strings.Count(r.Stdout, "diverged: ") != 5 {
		t.Fatalf("cfs lv lists the conflicts:\n%s", r.Stdout)
	}
	target, err := os.Readlink(a.Root + "/f1")
	if err != nil || !regexp.MustCompile(`^@7f000001\.[0-9a-f]+\.[0-9a-f]+@`+regexp.QuoteMeta(realm)+`$`).MatchString(target) {
		t.Fatalf("f1 links to %q, %v", target, err)
	}
	if _, err := os.ReadFile(a.Root + "/f1"); !os.IsNotExist(err) {
		t.Fatalf("opening a conflict: %v, want ENOENT", err)
	}
	if out := sh(t, "cat "+a.Root+"/ok"); out != "base\n" {
		t.Fatalf("the rest of the volume: %q", out)
	}
	if err := os.WriteFile(a.Root+"/@7f000001.5.5@x", nil, 0o644); err == nil || !strings.Contains(err.Error(), "invalid argument") {
		t.Fatalf("creating a reserved name: %v, want EINVAL", err)
	}
	if err := os.Remove(a.Root + "/r"); !errors.Is(err, syscall.EPERM) {
		t.Fatalf("rm of a conflict: %v, want EPERM (cfs repair does that)", err)
	}

	// Expanded, a conflict is a read-only directory of each server's
	// version; collapsed, a link again.
	if r := run("cfs", "expand", a.Root+"/f4", a.Root+"/d3", a.Root+"/d/n", a.Root+"/d2/g", a.Root+"/d4/s"); !strings.Contains(r.Stdout, "1 ("+s1+"), 2 ("+s2+")") ||
		!strings.Contains(r.Stdout, "d/n: expanded into its versions") {
		t.Fatalf("cfs expand: %q", r.Stdout)
	}
	// Each kind: update/update (f4), a directory's attributes (d3),
	// name/name (d/n), remove/update of a file (d2/g: only b's version) and
	// of a directory (d4/s).
	if out := sh(t, "cd "+a.Root+" && ls f4 d3 d3/1 d3/2 d/n d2/g d4/s d4/s/2 && cat f4/1 f4/2 d3/1/x d3/2/y d/n/1 d/n/2 d2/g/2"); out !=
		"d/n:\n1\n2\n\nd2/g:\n2\n\nd3:\n1\n2\n\nd3/1:\ne\nx\n\nd3/2:\ne\ny\n\nd4/s:\n2\n\nd4/s/2:\nnew\n\nf4:\n1\n2\n"+
			"from a\nfrom b\nx\ny\na\nb\nupdated\n" {
		t.Fatalf("expanded conflicts:\n%s", out)
	}
	if err := os.WriteFile(a.Root+"/f4/1", []byte("x"), 0o644); !errors.Is(err, syscall.EROFS) {
		t.Fatalf("writing into an expansion: %v, want EROFS", err)
	}
	if err := os.Mkdir(a.Root+"/d3/1/z", 0o755); !errors.Is(err, syscall.EROFS) {
		t.Fatalf("mkdir in an expansion: %v, want EROFS", err)
	}
	if err := os.WriteFile(a.Root+"/d/n/1", []byte("x"), 0o644); err == nil {
		t.Fatal("writing a version of a conflict worked")
	}
	for _, x := range []string{"d3", "d/n", "d2/g"} {
		run("cfs", "collapse", a.Root+"/"+x)
		if target, err := os.Readlink(a.Root + "/" + x); err != nil || !strings.HasPrefix(target, "@7f000001.") {
			t.Fatalf("%s collapsed links to %q, %v", x, target, err)
		}
	}

	r := run("cfs", "repair", a.Root+"/f1", "--keep", s2)
	if !strings.Contains(r.Stdout, "kept the version of server 2") {
		t.Fatalf("repair --keep: %q", r.Stdout)
	}
	if r = run("cfs", "repair", a.Root+"/f2", "--remove"); !strings.Contains(r.Stdout, "removed f2") {
		t.Fatalf("repair --remove: %q", r.Stdout)
	}
	r = run("cfs", "repair", a.Root+"/f3", "--keep-all")
	if !strings.Contains(r.Stdout, "f3.conflict-1 f3.conflict-2") {
		t.Fatalf("repair --keep-all: %q", r.Stdout)
	}
	if r = run("cfs", "repair", a.Root+"/d/n", "--keep-all"); !strings.Contains(r.Stdout, "n.conflict-1 n.conflict-2") {
		t.Fatalf("repair --keep-all of a name made on both sides: %q", r.Stdout)
	}
	if r = run("cfs", "repair", a.Root+"/r", "--keep-all"); !strings.Contains(r.Stdout, "r.conflict-1 r.conflict-2") {
		t.Fatalf("repair --keep-all of a name made on both sides: %q", r.Stdout)
	}
	if r = run("cfs", "repair", a.Root+"/d2/g", "--keep-all"); !strings.Contains(r.Stdout, "kept every version: g") {
		t.Fatalf("repair --keep-all of a file removed and updated: %q", r.Stdout)
	}
	if r = run("cfs", "repair", a.Root+"/d3", "--keep-all"); !strings.Contains(r.Stdout, "union") {
		t.Fatalf("repair --keep-all of a directory: %q", r.Stdout)
	}
	if r = run("cfs", "repair", a.Root+"/d4/s", "--keep", "1"); !strings.Contains(r.Stdout, "kept the removal by server 1") {
		t.Fatalf("repair --keep of the side that removed: %q", r.Stdout)
	}
	// --with one of the versions the expansion shows; the repair
	// collapses it.
	if r = run("cfs", "repair", a.Root+"/f4", "--with", a.Root+"/f4/2"); !strings.Contains(r.Stdout, "replaced it with the content of") {
		t.Fatalf("repair --with: %q", r.Stdout)
	}
	for _, v := range []*bintest.Venus{a, b} {
		deadline := time.Now().Add(10 * time.Second)
		for {
			out, _ := exec.Command("sh", "-c", "cd "+v.Root+" && cat f1 f3.conflict-1 f3.conflict-2 d/n.conflict-1 d/n.conflict-2 d2/g f4 r.conflict-1 r.conflict-2 && ls && ls d d3 d4").CombinedOutput()
			if string(out) == "from b\nfrom a\nfrom b\na\nb\nupdated\nfrom b\na\nb\nd\nd2\nd3\nd4\nf1\nf3.conflict-1\nf3.conflict-2\nf4\nok\nr.conflict-1\nr.conflict-2\nd:\nn.conflict-1\nn.conflict-2\n\nd3:\ne\nx\ny\n\nd4:\n" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s after the repairs:\n%s", v.Mount, out)
			}
			time.Sleep(100 * time.Millisecond) // poll: the breaks reach b by themselves
		}
	}
	c.waitLevel(t, a.Root)

	// Every conflict found and every repair was announced (codacon).
	out := run("codacon", "--dump", "--only", "conflict,repaired", a.Root).Stdout
	for _, name := range []string{"/f1", "/f2", "/f3", "/f4", "/d/n", "/d2/g", "/d3", "/d4/s", "/r"} {
		if !regexp.MustCompile(`(?m) conflict 7f000001\.[0-9a-f.]+ ` + name + `: `).MatchString(out) {
			t.Fatalf("codacon shows no conflict of %s:\n%s", name, out)
		}
	}
	if n := strings.Count(out, " repaired "); n != 9 {
		t.Fatalf("codacon shows %d repairs, want 9:\n%s", n, out)
	}
}

// TestSmallResolutionLog: with resolution logs far smaller than the work
// done during a partition (volutil setlogparms -logsize 16), the servers
// do not crash and the outcome is still right: the directory whose logs
// overflowed is compared entry by entry and reported as a conflict, and
// cfs repair --keep-all gives the union of both sides.
func TestSmallResolutionLog(t *testing.T) {
	c := cell{bintest.NewCell(t, bintest.CellOptions{Realm: realm, Servers: 2})}
	a, b := c.Venus("a"), c.Venus("b")
	sh(t, "mkdir "+a.Root+"/d && echo base > "+a.Root+"/d/base")
	sh(t, "cat "+b.Root+"/d/base >/dev/null")
	ca := c.Data + "/db/ca.pem"
	for _, s := range c.Servers {
		r := bintest.Run(t, "", "volutil", "-h", s.Addr, "--key", c.KeyFile(), "--ca", ca, "setlogparms", "coda.root", "-logsize", "16")
		if r.Code != 0 || !strings.Contains(r.Stdout, "log size 16") {
			t.Fatalf("setlogparms: exit %d, %q %q", r.Code, r.Stdout, r.Stderr)
		}
	}
	if r := bintest.Run(t, "", "volutil", "-h", c.Addr, "--key", c.KeyFile(), "--ca", ca, "setlogparms", "coda.root", "logsize", "3"); r.Code != 1 {
		t.Fatalf("setlogparms logsize 3: exit %d, %q, want a refusal", r.Code, r.Stderr)
	}
	cfs := func(args ...string) bintest.Result {
		t.Helper()
		r := bintest.Run(t, "", append([]string{"cfs"}, args...)...)
		if r.Code != 0 {
			t.Fatalf("cfs %v: %s", args, r.Stderr)
		}
		return r
	}
	cfs("disconnect", "--mount", a.Mount, c.Servers[1].Addr)
	cfs("disconnect", "--mount", b.Mount, c.Servers[0].Addr)
	sh(t, "for i in $(seq 1 30); do echo a > "+a.Root+"/d/a$i; done")
	sh(t, "for i in $(seq 1 30); do echo b > "+b.Root+"/d/b$i; done")
	cfs("reconnect", "--mount", a.Mount)
	cfs("reconnect", "--mount", b.Mount)
	deadline := time.Now().Add(20 * time.Second)
	for {
		if target, err := os.Readlink(a.Root + "/d"); err == nil && strings.HasPrefix(target, "@") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the directory whose logs overflowed was never reported as a conflict")
		}
		sh(t, "ls -l "+a.Root+" >/dev/null")
		time.Sleep(200 * time.Millisecond) // poll: venus reconnects by itself
	}
	for i, s := range c.Servers {
		if s.Proc.Wait(0) {
			t.Fatalf("server %d exited", i+1)
		}
	}
	if r := cfs("repair", a.Root+"/d", "--keep-all"); !strings.Contains(r.Stdout, "union") {
		t.Fatalf("repair: %q", r.Stdout)
	}
	deadline = time.Now().Add(10 * time.Second)
	for {
		if n := len(list(t, a.Root+"/d")); n == 61 {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("after the repair d holds %d names, want 61", n)
		}
		time.Sleep(100 * time.Millisecond) // poll: the break reaches the kernel
	}
	c.waitLevel(t, a.Root)
}

// TestConflictPolicies: directories with the keep-all and newest policies
// resolve their conflicts by themselves when a partition heals, keeping
// every version (an object removed on one side and updated on the other
// keeps its name: the update is its only version); getpolicy shows own and
// inherited policies.
func TestConflictPolicies(t *testing.T) {
	c := cell{bintest.NewCell(t, bintest.CellOptions{Realm: realm, Servers: 2})}
	a, b := c.Venus("a"), c.Venus("b")
	sh(t, "mkdir -p "+a.Root+"/all/sub "+a.Root+"/new/d && cd "+a.Root+" && for f in all/f new/f all/r new/r2; do echo base > $f; done")
	run := func(args ...string) bintest.Result { t.Helper(); return mustRun(t, args...) }
	run("cfs", "setpolicy", a.Root+"/all", "keep-all")
	run("cfs", "setpolicy", a.Root+"/new", "newest")
	if r := run("cfs", "getpolicy", a.Root+"/all", a.Root+"/all/sub", a.Root); r.Stdout != a.Root+"/all: keep-all\n"+a.Root+"/all/sub: keep-all (inherited from /all)\n"+a.Root+": manual (the default)\n" {
		t.Fatalf("getpolicy: %q", r.Stdout)
	}
	if r := bintest.Run(t, "", "cfs", "setpolicy", a.Root+"/all", "sometimes"); r.Code != 2 {
		t.Fatalf("setpolicy sometimes: exit %d", r.Code)
	}
	sh(t, "cd "+b.Root+" && cat all/f new/f all/r new/r2 >/dev/null && ls all/sub new/d")
	run("cfs", "disconnect", "--mount", a.Mount, c.Servers[1].Addr)
	run("cfs", "disconnect", "--mount", b.Mount, c.Servers[0].Addr)
	// update/update (f), name/name (n), and remove/update of a file and of
	// a directory: in all/ both sides changed the directory (a merge), in
	// new/ only a did (dominance finds the conflict).
	sh(t, "cd "+a.Root+" && echo from a > all/f && echo from a > new/f && echo a > all/n && rm all/r new/r2 && rmdir all/sub new/d")
	sh(t, "cd "+b.Root+" && echo from b > all/f && echo from b > new/f && echo b > all/n && "+
		"echo updated > all/r && echo updated > new/r2 && echo x > all/sub/x && echo y > new/d/y")
	run("cfs", "reconnect", "--mount", a.Mount)
	run("cfs", "reconnect", "--mount", b.Mount)
	want := "all:\nf.conflict-1\nf.conflict-2\nn.conflict-1\nn.conflict-2\nr\nsub\nnew:\nd\nf\nf.conflict-1\nr2\n" +
		"from a\nfrom b\na\nb\nfrom b\nfrom a\nupdated\nupdated\nx\ny\n"
	script := "cd " + a.Root + " && echo all: && ls all && echo new: && ls new && " +
		"cat all/f.conflict-1 all/f.conflict-2 all/n.conflict-1 all/n.conflict-2 new/f new/f.conflict-1 all/r new/r2 all/sub/x new/d/y"
	deadline := time.Now().Add(20 * time.Second)
	for {
		out, _ := exec.Command("sh", "-c", "ls -lR "+a.Root+" >/dev/null 2>&1; "+script).CombinedOutput()
		if string(out) == want {
			break
		}
		if time.Now().After(deadline) {
			l1, _ := os.ReadFile(c.Servers[0].Log)
			t.Fatalf("after healing:\n%s\nwant:\n%s\nserver 1:\n%s", out, want, tail(l1))
		}
		time.Sleep(200 * time.Millisecond) // poll: venus reconnects by itself
	}
	if out, _ := exec.Command("find", a.Root, "-lname", "@*").CombinedOutput(); len(out) != 0 {
		t.Fatalf("conflict links left: %s", out)
	}
	c.waitLevel(t, a.Root)
	// The policies' work was announced (codacon).
	out := run("codacon", "--dump", "--only", "resolved", a.Root).Stdout
	for _, want := range []string{"by policy keep-all", "by policy newest"} {
		if !strings.Contains(out, want) {
			t.Fatalf("codacon shows nothing settled %s:\n%s", want, out)
		}
	}
}

// mustRun runs the binary and fails the test unless it exits 0.
func mustRun(t testing.TB, args ...string) bintest.Result {
	t.Helper()
	r := bintest.Run(t, "", args...)
	if r.Code != 0 {
		t.Fatalf("coda %v: exit %d, %s", args, r.Code, r.Stderr)
	}
	return r
}
