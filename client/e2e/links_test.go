package e2e

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coda-fs/coda/server/bintest"
)

// stat returns path's stat, failing the test on error.
func stat(t *testing.T, path string) syscall.Stat_t {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return st
}

// TestLinkSemantics: link(2) through the mount between directories of one
// volume, as a POSIX conformance suite checks it — link counts on every
// name, the file's ctime and both directories' mtimes change, EEXIST,
// ENOENT, EPERM for a directory, EXDEV across volumes — and rename(2) of a
// file with several links across directories; seen alike by another
// client and kept by every replica.
func TestLinkSemantics(t *testing.T) {
	c := replicatedCell(t)
	a, b := c.Venus("a"), c.Venus("b")
	sh(t, "mkdir -p "+a.Root+"/l/x "+a.Root+"/l/y && echo data > "+a.Root+"/l/x/f")
	x, y := a.Root+"/l/x", a.Root+"/l/y"
	f0, y0 := stat(t, x+"/f"), stat(t, y)
	if err := os.Link(x+"/f", y+"/g"); err != nil {
		t.Fatalf("link across directories: %v", err)
	}
	f1, g1, y1 := stat(t, x+"/f"), stat(t, y+"/g"), stat(t, y)
	if f1.Nlink != 2 || g1.Nlink != 2 || f1.Ino != g1.Ino {
		t.Fatalf("after link: f nlink %d ino %d, g nlink %d ino %d", f1.Nlink, f1.Ino, g1.Nlink, g1.Ino)
	}
	if f1.Ctim == f0.Ctim || y1.Mtim == y0.Mtim || y1.Ctim == y0.Ctim {
		t.Fatalf("link left the file's ctime (%v→%v) or the directory's mtime (%v→%v) alone", f0.Ctim, f1.Ctim, y0.Mtim, y1.Mtim)
	}
	for _, tc := range []struct {
		from, to string
		want     error
	}{
		{x + "/f", y + "/g", syscall.EEXIST},
		{x + "/missing", y + "/h", syscall.ENOENT},
		{x, y + "/dirlink", syscall.EPERM},
		{x + "/f", y + "/nodir/h", syscall.ENOENT},
	} {
		if err := os.Link(tc.from, tc.to); !errors.Is(err, tc.want) {
			t.Errorf("link %s %s: %v, want %v", tc.from, tc.to, err, tc.want)
		}
	}
	// Another volume: EXDEV, for link and for rename.
	c.Admin("createvol_rep", "other", c.Servers[0].Addr)
	other := a.Root + "/l/other"
	mustRun(t, "cfs", "mkm", other, "other")
	if err := os.Link(x+"/f", other+"/f"); !errors.Is(err, syscall.EXDEV) {
		t.Errorf("link across volumes: %v, want EXDEV", err)
	}

	// The other client sees one file with two names, and writes through one.
	if out := sh(t, "cat "+b.Root+"/l/y/g; stat -c %h:%i "+b.Root+"/l/x/f "+b.Root+"/l/y/g | sort -u | wc -l; stat -c %h "+b.Root+"/l/y/g"); out != "data\n1\n2\n" {
		t.Fatalf("the other client sees %q", out)
	}
	sh(t, "echo changed > "+b.Root+"/l/y/g")
	waitFor(t, "the write through one name to show through the other", func() bool {
		d, _ := os.ReadFile(x + "/f")
		return string(d) == "changed\n"
	})

	// rename of a file with several links, out of its directory: both
	// directories' mtimes move.
	sh(t, "mkdir "+a.Root+"/l/z")
	x0, z0 := stat(t, x), stat(t, a.Root+"/l/z")
	sh(t, "mv "+x+"/f "+a.Root+"/l/z/f")
	if st := stat(t, a.Root+"/l/z/f"); st.Nlink != 2 {
		t.Fatalf("nlink %d after renaming one name away", st.Nlink)
	}
	if x1, z1 := stat(t, x), stat(t, a.Root+"/l/z"); x1.Mtim == x0.Mtim || z1.Mtim == z0.Mtim {
		t.Fatalf("rename left a directory's mtime alone: from %v→%v, to %v→%v", x0.Mtim, x1.Mtim, z0.Mtim, z1.Mtim)
	}
	if _, err := os.Stat(x + "/f"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the old name after rename: %v", err)
	}
	// The names go one by one; the file with the last.
	if err := os.Remove(y + "/g"); err != nil {
		t.Fatal(err)
	}
	if st := stat(t, a.Root+"/l/z/f"); st.Nlink != 1 {
		t.Fatalf("nlink %d after removing a name", st.Nlink)
	}
	if out := sh(t, "cd "+a.Root+"/l/z && realpath f && cfs getpath f 2>/dev/null || true"); !strings.Contains(out, "/l/z/f") {
		t.Fatalf("the file's path: %q", out)
	}
	c.waitLevel(t, a.Root)
}

// TestMaildirDelivery: two clients deliver 1,000 messages each into one
// maildir at once, as qmail does — write tmp/NAME, link(tmp/NAME,
// new/NAME), unlink(tmp/NAME) — and every message is there once, with a
// link count of 1, on every client and replica. MAILDIR_EACH sets the
// count, MAILDIR_RENAME=1 delivers by rename instead (patched qmail).
func TestMaildirDelivery(t *testing.T) {
	each := envInt("MAILDIR_EACH", 1000)
	rename := os.Getenv("MAILDIR_RENAME") != "" // qmail patched to rename: for comparison
	c := replicatedCell(t)
	a, b := c.Venus("a"), c.Venus("b")
	defer c.logsOnFailure(t, a, b)
	sh(t, "mkdir -p "+a.Root+"/Maildir/tmp "+a.Root+"/Maildir/new "+a.Root+"/Maildir/cur")
	waitFor(t, "the maildir on the second client", func() bool {
		_, err := os.Stat(b.Root + "/Maildir/new")
		return err == nil
	})
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	writers := []*bintest.Venus{a, b}
	start := time.Now()
	for _, v := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			md := v.Root + "/Maildir"
			for i := range each {
				name := fmt.Sprintf("%d.%s.%d", 1700000000+i, filepath.Base(v.Mount), i)
				tmp, dst := md+"/tmp/"+name, md+"/new/"+name
				if err := os.WriteFile(tmp, []byte("Subject: "+name+"\n\nhello\n"), 0o600); err != nil {
					errs <- err
					return
				}
				if rename {
					if err := os.Rename(tmp, dst); err != nil {
						errs <- err
						return
					}
					continue
				}
				if err := os.Link(tmp, dst); err != nil {
					errs <- fmt.Errorf("link %s: %w", name, err)
					return
				}
				if err := os.Remove(tmp); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	t.Logf("%d messages delivered by %d clients in %v", len(writers)*each, len(writers), time.Since(start).Round(time.Millisecond))
	for _, v := range []*bintest.Venus{a, b} {
		var ents []os.DirEntry
		waitFor(t, "every message on "+v.Mount, func() bool {
			ents, _ = os.ReadDir(v.Root + "/Maildir/new")
			return len(ents) == len(writers)*each
		})
		for _, e := range ents {
			st := stat(t, v.Root+"/Maildir/new/"+e.Name())
			if st.Nlink != 1 {
				t.Fatalf("%s: nlink %d on %s", e.Name(), st.Nlink, v.Mount)
			}
		}
		if tmp, _ := os.ReadDir(v.Root + "/Maildir/tmp"); len(tmp) != 0 {
			t.Fatalf("%d messages left in tmp on %s", len(tmp), v.Mount)
		}
	}
	c.waitLevel(t, a.Root)
}

// TestLinkWhileDisconnected: links across directories made while
// disconnected, and while write-disconnected, are logged and reintegrated:
// the other client and every replica see the names and the right link
// count.
func TestLinkWhileDisconnected(t *testing.T) {
	c := replicatedCell(t)
	a, b := c.Venus("a"), c.Venus("b")
	sh(t, "mkdir -p "+a.Root+"/m/tmp "+a.Root+"/m/new && echo seen > "+a.Root+"/m/tmp/old && ls -l "+a.Root+"/m/tmp "+a.Root+"/m/new > /dev/null")
	mustRun(t, "cfs", "disconnect", "--mount", a.Mount)
	sh(t, "cd "+a.Root+"/m && ln tmp/old new/old && echo fresh > tmp/msg && ln tmp/msg new/msg && rm tmp/msg && ln new/old keep")
	if st := stat(t, a.Root+"/m/keep"); st.Nlink != 3 {
		t.Fatalf("nlink %d while disconnected", st.Nlink)
	}
	mustRun(t, "cfs", "reconnect", "--mount", a.Mount)
	waitFor(t, "the reintegrated links on the other client", func() bool {
		out, _ := os.ReadFile(b.Root + "/m/new/msg")
		return string(out) == "fresh\n"
	})
	if out := sh(t, "cd "+b.Root+"/m && stat -c '%n %h' tmp/old new/old keep new/msg && ls tmp"); out != "tmp/old 3\nnew/old 3\nkeep 3\nnew/msg 1\nold\n" {
		t.Fatalf("after reintegration the other client sees:\n%s", out)
	}
	// Write-disconnected (cfs wd): the same, trickled; cfs strong sends it.
	mustRun(t, "cfs", "wd", a.Root)
	sh(t, "cd "+a.Root+"/m && echo wd > tmp/w && ln tmp/w new/w && rm tmp/w && rm keep")
	mustRun(t, "cfs", "strong", a.Root)
	if out := sh(t, "cd "+b.Root+"/m && stat -c '%n %h' new/w tmp/old && cat new/w && ls tmp"); out != "new/w 1\ntmp/old 2\nwd\nold\n" {
		t.Fatalf("after write-disconnected links the other client sees:\n%s", out)
	}
	c.waitLevel(t, a.Root)
}

// waitFor polls cond until it holds, for at most 20 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("20 s and still not: %s", what)
		}
	}
}

// logsOnFailure prints the warnings, errors and resolution events of every
// server and venus when t failed.
func (c cell) logsOnFailure(t *testing.T, vs ...*bintest.Venus) {
	if !t.Failed() {
		return
	}
	logs := []string{}
	for _, s := range c.Servers {
		logs = append(logs, s.Log)
	}
	for _, v := range vs {
		logs = append(logs, v.Log)
	}
	for _, l := range logs {
		b, _ := os.ReadFile(l)
		n := 0
		for _, line := range strings.Split(string(b), "\n") {
			if n < 40 && (strings.Contains(line, "level=WARN") || strings.Contains(line, "level=ERROR") ||
				strings.Contains(line, "merged") || strings.Contains(line, "resolv")) {
				t.Logf("%s: %.400s", filepath.Base(l), line)
				n++
			}
		}
	}
}

// TestLinksInDumps: a file with names in several directories keeps every
// name through dump, dump2tar (tar hard-link entries, which GNU tar
// extracts as one file) and restore (one object, all its names).
func TestLinksInDumps(t *testing.T) {
	c := replicatedCell(t)
	root := c.Venus("a").Root
	sh(t, "mkdir -p "+root+"/d1 "+root+"/d2/deep && echo shared > "+root+"/d1/f && ln "+root+"/d1/f "+root+"/d2/deep/g && ln "+root+"/d1/f "+root+"/h")
	c.Admin("volutil", "backup", "coda.root")
	dir := t.TempDir()
	dump := filepath.Join(dir, "full.dump")
	mustRun(t, "volutil", "-h", c.Addr, "--key", c.KeyFile(), "dump", "coda.root.backup", dump)
	tarFile, out := filepath.Join(dir, "full.tar"), filepath.Join(dir, "x")
	mustRun(t, "dump2tar", "-f", dump, "-o", tarFile, "-rn", "r")
	sh(t, "mkdir "+out+" && tar -xf "+tarFile+" -C "+out)
	names := []string{"r/d1/f", "r/d2/deep/g", "r/h"}
	var ino uint64
	for _, n := range names {
		st := stat(t, filepath.Join(out, n))
		if st.Nlink != 3 || (ino != 0 && st.Ino != ino) {
			t.Fatalf("%s extracted with nlink %d, inode %d (want 3 links to one file)", n, st.Nlink, st.Ino)
		}
		ino = st.Ino
	}
	mustRun(t, "volutil", "-h", c.Addr, "--key", c.KeyFile(), "restore", "-f", dump, "linked")
	mnt := filepath.Join(root, "restored")
	mustRun(t, "cfs", "mkm", mnt, "linked")
	ino = 0
	for _, n := range []string{"d1/f", "d2/deep/g", "h"} {
		st := stat(t, filepath.Join(mnt, n))
		if st.Nlink != 3 || (ino != 0 && st.Ino != ino) {
			t.Fatalf("restored %s: nlink %d, inode %d (want 3 links to one file)", n, st.Nlink, st.Ino)
		}
		ino = st.Ino
	}
	if b, _ := os.ReadFile(filepath.Join(mnt, "d2/deep/g")); string(b) != "shared\n" {
		t.Fatalf("restored data %q", b)
	}
}

// checkLinks walks dir and checks every name of every file: each stats,
// and each file's link count is the number of its names found. It returns
// the names by file (inode), sorted, for comparisons.
func checkLinks(t *testing.T, dir string) map[uint64][]string {
	t.Helper()
	names := map[uint64][]string{}
	nlink := map[uint64]uint64{}
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return fmt.Errorf("a dangling name? %w", err)
		}
		if info.Mode().IsRegular() {
			st := info.Sys().(*syscall.Stat_t)
			rel, _ := filepath.Rel(dir, p)
			names[st.Ino] = append(names[st.Ino], rel)
			nlink[st.Ino] = uint64(st.Nlink)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for ino, ns := range names {
		if uint64(len(ns)) != nlink[ino] {
			t.Errorf("%v: link count %d, %d names", ns, nlink[ino], len(ns))
		}
	}
	return names
}

// TestLinkPartitions: links made, moved and removed on both sides of a
// partition (client A reaches only server 1, client B only server 2), in
// four separate trees: after the partition heals and resolution runs,
// every name of every file stats, link counts match the names, no file's
// data is lost, both clients see the same names and the replicas are level.
//
//	vsremove: A links d/f as e/g; B removes d/f — g keeps the data
//	vsrename: A links d/f as e/g; B renames d/f to d2/h — g and h, one file
//	both:     A links d/f as e/a; B links it as e2/b — three names
//	lastname: A removes d/f, its only name; B links it as e/k — k keeps it
//	clash:    A links d/f as e/x, B links d/f2 as e/x — a reported
//	          conflict at e/x; d/f and d/f2 keep their data
func TestLinkPartitions(t *testing.T) {
	c := cell{bintest.NewCell(t, bintest.CellOptions{Realm: realm, Servers: 2})}
	a, b := c.Venus("a"), c.Venus("b")
	scen := []string{"vsremove", "vsrename", "both", "lastname"}
	for _, s := range scen {
		sh(t, "mkdir -p "+a.Root+"/"+s+"/d "+a.Root+"/"+s+"/e "+a.Root+"/"+s+"/d2 "+a.Root+"/"+s+"/e2 && echo "+s+" > "+a.Root+"/"+s+"/d/f")
	}
	sh(t, "mkdir -p "+a.Root+"/clash/d "+a.Root+"/clash/e && echo one > "+a.Root+"/clash/d/f && echo two > "+a.Root+"/clash/d/f2")
	sh(t, "ls -lR "+a.Root+" > /dev/null && ls -lR "+b.Root+" > /dev/null && cat "+b.Root+"/*/d/f > /dev/null")
	mustRun(t, "cfs", "disconnect", "--mount", a.Mount, c.Servers[1].Addr)
	mustRun(t, "cfs", "disconnect", "--mount", b.Mount, c.Servers[0].Addr)
	sh(t, "cd "+a.Root+" && ln vsremove/d/f vsremove/e/g && ln vsrename/d/f vsrename/e/g && ln both/d/f both/e/a && rm lastname/d/f && ln clash/d/f clash/e/x")
	sh(t, "cd "+b.Root+" && rm vsremove/d/f && mv vsrename/d/f vsrename/d2/h && ln both/d/f both/e2/b && ln lastname/d/f lastname/e/k && ln clash/d/f2 clash/e/x")
	mustRun(t, "cfs", "reconnect", "--mount", a.Mount)
	mustRun(t, "cfs", "reconnect", "--mount", b.Mount)
	c.waitLevel(t, a.Root)
	lsLR(t, b.Root)
	want := map[string][]string{
		"vsremove": {"e/g"},
		"vsrename": {"d2/h", "e/g"},
		"both":     {"d/f", "e/a", "e2/b"},
		"lastname": {"e/k"},
	}
	for _, s := range scen {
		got := map[string][]string{}
		for _, v := range []*bintest.Venus{a, b} {
			var all []string
			for _, ns := range checkLinks(t, filepath.Join(v.Root, s)) {
				sort.Strings(ns)
				all = append(all, strings.Join(ns, ","))
			}
			sort.Strings(all)
			got[v.Mount] = all
		}
		if g := strings.Join(got[a.Mount], " "); g != strings.Join(want[s], ",") || g != strings.Join(got[b.Mount], " ") {
			t.Errorf("%s: a sees %v, b sees %v; want one file named %v", s, got[a.Mount], got[b.Mount], want[s])
			continue
		}
		if data := sh(t, "cat "+a.Root+"/"+s+"/"+want[s][0]); data != s+"\n" {
			t.Errorf("%s: the file holds %q", s, data)
		}
	}
	// The clash: one conflict, at e/x, and no other; both files whole.
	waitConflictLink(t, a.Root+"/clash/e/x")
	if out, _ := exec.Command("find", a.Root, "-lname", "@*").CombinedOutput(); strings.TrimSpace(string(out)) != a.Root+"/clash/e/x" {
		t.Errorf("conflicts reported: %q, want clash/e/x only", out)
	}
	if out := sh(t, "cat "+a.Root+"/clash/d/f "+a.Root+"/clash/d/f2"); out != "one\ntwo\n" {
		t.Errorf("the clashing files hold %q", out)
	}
	if t.Failed() {
		t.Logf("server 1:\n%s\nserver 2:\n%s", c.vnodeLines(t, 1), c.vnodeLines(t, 2))
		t.Log(sh(t, "ls -liR "+a.Root+"/both; ls -liR "+b.Root+"/both"))
	}
}

// TestLinkReintegrationRefused: a link logged while disconnected to a file
// that another client removed meanwhile is refused at reintegration, not
// lost silently: cfs checklocal says why, the rest of the log goes on, and
// cfs discardlocal settles it (the name the servers never had goes).
func TestLinkReintegrationRefused(t *testing.T) {
	c := cell{bintest.NewCell(t, bintest.CellOptions{Realm: realm, Servers: 2})}
	a, b := c.Venus("a"), c.Venus("b")
	sh(t, "mkdir "+a.Root+"/d "+a.Root+"/e && echo doomed > "+a.Root+"/d/f && cat "+a.Root+"/d/f > /dev/null && ls "+b.Root+"/d > /dev/null")
	mustRun(t, "cfs", "disconnect", "--mount", a.Mount)
	sh(t, "rm "+b.Root+"/d/f")
	sh(t, "ln "+a.Root+"/d/f "+a.Root+"/e/g && echo other > "+a.Root+"/e/other")
	mustRun(t, "cfs", "reconnect", "--mount", a.Mount)
	deadline := time.Now().Add(15 * time.Second)
	for {
		out := mustRun(t, "cfs", "checklocal", a.Root).Stdout
		if strings.Contains(out, "waits on") {
			t.Logf("cfs checklocal: %s", out)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the refused link was never reported:\n%s", out)
		}
		time.Sleep(100 * time.Millisecond) // poll: reintegration starts by itself
	}
	mustRun(t, "cfs", "discardlocal", a.Root)
	waitFor(t, "the log to empty", func() bool { return logged(t, mustRun(t, "cfs", "lv", a.Root).Stdout) == 0 })
	waitFor(t, "the rest of the log on the other client", func() bool {
		out, _ := os.ReadFile(b.Root + "/e/other")
		return string(out) == "other\n"
	})
	for _, v := range []*bintest.Venus{a, b} {
		checkLinks(t, v.Root)
		if _, err := os.Stat(v.Root + "/e/g"); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: e/g after the discard: %v", v.Mount, err)
		}
	}
}
