package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coda-fs/coda/server/bintest"
)

// waitWrite writes data to path in the background and returns a channel
// that gets the write's error.
func waitWrite(path string, data []byte) <-chan error {
	done := make(chan error, 1)
	go func() { done <- os.WriteFile(path, data, 0o644) }()
	return done
}

// stalled reports that a write is still waiting after d.
func stalled(t *testing.T, done <-chan error, d time.Duration, what string) {
	t.Helper()
	select {
	case err := <-done:
		t.Fatalf("%s: the write finished while the volume was locked (%v)", what, err)
	case <-time.After(d): // the write waits: what a lock is for
	}
}

// finished waits (deadline) for a write and fails on its error.
func finished(t *testing.T, done <-chan error, deadline time.Duration, what string) {
	t.Helper()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("%s: the write failed: %v", what, err)
		}
	case <-time.After(deadline):
		t.Fatalf("%s: the write did not finish within %v", what, deadline)
	}
}

// TestVolumeLockAndBackup: volutil lock stops writes on every replica
// without an error reaching the writer (unlock, or the lock's timeout,
// lets them through); volutil backup makes coda.root.backup on every
// server, frozen at the backup, sharing the data (no container added);
// cfs mkm mounts it read-only; a second backup refreshes it.
func TestVolumeLockAndBackup(t *testing.T) {
	c := replicatedCell(t)
	root := c.venus("a")
	big := bytes.Repeat([]byte("0123456789abcdef"), 8192) // 128 KiB: a container
	files := map[string][]byte{"docs/small.txt": []byte("small\n"), "docs/big.bin": big, "index.html": []byte("<h1>hi</h1>\n")}
	if err := os.Mkdir(filepath.Join(root, "docs"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(root, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("docs/small.txt", filepath.Join(root, "link")); err != nil {
		t.Fatal(err)
	}

	// A lock: the write waits, then goes through on unlock.
	out := c.Admin("volutil", "lock", "coda.root")
	if strings.Count(out, "locked until") != 3 {
		t.Fatalf("volutil lock printed %q", out)
	}
	done := waitWrite(filepath.Join(root, "during-lock"), []byte("x"))
	stalled(t, done, time.Second, "lock")
	if out := c.Admin("volutil", "unlock", "coda.root"); strings.Count(out, ": unlocked") != 3 {
		t.Fatalf("volutil unlock printed %q", out)
	}
	finished(t, done, 10*time.Second, "unlock")
	// A lock nobody ends ends by itself.
	c.Admin("volutil", "lock", "--timeout", "2s", "coda.root")
	done = waitWrite(filepath.Join(root, "after-timeout"), []byte("y"))
	finished(t, done, 15*time.Second, "lock timeout")

	// 16 MiB more of file data, to weigh the clone's cost against.
	sh(t, "mkdir "+root+"/data && for i in $(seq 1 64); do head -c 262144 /dev/urandom > "+root+"/data/f$i; done")
	const fileData = 16 << 20
	// usage counts the containers and the bytes the data dirs take (du).
	usage := func() (containers int, bytes int64) {
		for _, s := range c.Servers {
			filepath.Walk(s.Data, func(p string, info os.FileInfo, err error) error {
				if err != nil || !info.Mode().IsRegular() {
					return nil
				}
				bytes += info.Sys().(*syscall.Stat_t).Blocks * 512
				if filepath.Base(filepath.Dir(filepath.Dir(p))) == "containers" || filepath.Base(filepath.Dir(p)) == "containers" {
					containers++
				}
				return nil
			})
		}
		return containers, bytes
	}
	before, duBefore := usage()
	if before < 3*65 {
		t.Fatalf("%d containers on the servers before the backup: the count looks in the wrong place", before)
	}
	out = c.Admin("volutil", "backup", "coda.root")
	if !strings.Contains(out, "coda.root.backup made") || strings.Count(out, "objects") != 3 {
		t.Fatalf("volutil backup printed %q", out)
	}
	got, duAfter := usage()
	if got != before {
		t.Fatalf("the backup made containers: %d, were %d", got, before)
	}
	if grew := duAfter - duBefore; grew*100 >= 3*fileData {
		t.Fatalf("the data dirs grew by %d bytes for a backup of %d bytes of file data on each of 3 servers (bar < 1%%)", grew, fileData)
	} else {
		t.Logf("the backup grew the data dirs by %d bytes (%.3f%% of the file data)", grew, float64(grew)*100/(3*fileData))
	}
	for _, s := range c.Servers {
		list := mustRun(t, "volutil", "-h", s.Addr, "--key", c.KeyFile(), "getvolumelist").Stdout
		if !strings.Contains(list, "coda.root.backup") || !strings.Contains(list, "backup") {
			t.Fatalf("server %d lists no backup: %q", s.ID, list)
		}
	}

	// The volume moves on; the backup does not.
	if err := os.WriteFile(filepath.Join(root, "docs/small.txt"), []byte("changed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(root, "docs/big.bin")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "new.txt"), []byte("new\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	mnt := filepath.Join(root, "yesterday")
	mustRun(t, "cfs", "mkm", mnt, "coda.root.backup")
	for name, data := range files {
		got, err := os.ReadFile(filepath.Join(mnt, name))
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("the backup's %s: %d bytes, %v; want %d bytes", name, len(got), err, len(data))
		}
	}
	if target, err := os.Readlink(filepath.Join(mnt, "link")); err != nil || target != "docs/small.txt" {
		t.Fatalf("the backup's link: %q %v", target, err)
	}
	if _, err := os.Stat(filepath.Join(mnt, "new.txt")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a file made after the backup is in it: %v", err)
	}
	if err := os.WriteFile(filepath.Join(mnt, "index.html"), []byte("no"), 0o644); !errors.Is(err, syscall.EROFS) {
		t.Fatalf("writing into the backup: %v, want EROFS", err)
	}

	if out := c.Admin("volutil", "lookup", "coda.root.backup"); !strings.HasPrefix(out, "coda.root.backup ") || !strings.Contains(out, " backup ") {
		t.Fatalf("volutil lookup: %q", out)
	}
	if r := bintest.Run(t, "", "volutil", "-h", c.Addr, "--key", c.KeyFile(), "purge", "coda.root"); r.Code != 1 || !strings.Contains(r.Stderr, "has clones (coda.root.backup)") {
		t.Fatalf("purging a volume with clones: exit %d, %q", r.Code, r.Stderr)
	}

	// A refresh: the same mount shows the volume as it is now.
	if out := c.Admin("volutil", "backup", "coda.root"); !strings.Contains(out, "coda.root.backup refreshed") {
		t.Fatalf("the second volutil backup printed %q", out)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := os.ReadFile(filepath.Join(mnt, "docs/small.txt"))
		_, gone := os.Stat(filepath.Join(mnt, "docs/big.bin"))
		if err == nil && string(got) == "changed\n" && errors.Is(gone, os.ErrNotExist) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the refreshed backup shows small.txt %q (%v), big.bin %v", got, err, gone)
		}
		time.Sleep(50 * time.Millisecond) // poll: the callback break reaches venus
	}
	mustRun(t, "cfs", "rmmount", mnt)
	if out := c.Admin("volutil", "purge", "coda.root.backup"); !strings.Contains(out, "purged") {
		t.Fatalf("volutil purge: %q", out)
	}
	if list := c.Admin("volutil", "getvolumelist"); strings.Contains(list, "coda.root.backup") {
		t.Fatalf("the backup is still listed after its purge: %q", list)
	}
	s3 := c.Servers[2]
	if out := mustRun(t, "volutil", "-h", s3.Addr, "--key", c.KeyFile(), "shutdown").Stdout; !strings.Contains(out, "shutting down") {
		t.Fatalf("volutil shutdown: %q", out)
	}
	if !s3.Proc.Wait(20 * time.Second) {
		t.Fatal("the server did not stop after volutil shutdown")
	}
}

// treeEntry is what a tree comparison looks at of one path.
type treeEntry struct {
	mode   os.FileMode
	size   int64
	mtime  int64 // seconds
	target string
	sum    string // content, for small files
	ino    uint64
}

// walkTree describes every path under dir (relative), skipping names.
func walkTree(t *testing.T, dir string, skip ...string) map[string]treeEntry {
	t.Helper()
	out := map[string]treeEntry{}
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		for _, s := range skip {
			if rel == s || strings.HasPrefix(rel, s+"/") {
				if info.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
		}
		e := treeEntry{mode: info.Mode() & (os.ModeType | os.ModePerm), mtime: info.ModTime().Unix(), ino: info.Sys().(*syscall.Stat_t).Ino}
		switch {
		case info.Mode()&os.ModeSymlink != 0:
			e.target, _ = os.Readlink(p)
		case info.Mode().IsRegular():
			e.size = info.Size()
			if e.size < 1<<20 {
				b, err := os.ReadFile(p)
				if err != nil {
					return err
				}
				e.sum = string(b)
			}
		}
		if info.IsDir() {
			e.mtime = 0 // a directory's mtime moves as tar fills it
		}
		out[rel] = e
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// sameTree compares two descriptions (inode numbers only as hard-link
// groups).
func sameTree(t *testing.T, what string, want, got map[string]treeEntry) {
	t.Helper()
	for p, w := range want {
		g, ok := got[p]
		if !ok {
			t.Errorf("%s: %s is missing", what, p)
			continue
		}
		w.ino, g.ino = 0, 0
		if w != g {
			t.Errorf("%s: %s differs:\n  want %+v\n  got  %+v", what, p, w, g)
		}
	}
	for p := range got {
		if _, ok := want[p]; !ok {
			t.Errorf("%s: %s should not be there", what, p)
		}
	}
}

// TestDumpPipeline: volutil backup, dump | dump2tar, extracted with GNU tar
// and bsdtar, gives the volume's tree (contents, modes, mtimes, symlinks,
// hard links, odd names, a 5 GiB sparse file with its holes); the ACLs go
// to the sidecar; a level-1 dump after volutil ancient holds only what
// changed and lists what is present; corrupt and truncated dumps fail
// clearly.
func TestDumpPipeline(t *testing.T) {
	c := replicatedCell(t)
	root := c.venus("a")
	vol := filepath.Join(root, "web")
	long := strings.Repeat("ü", 100) // 200 bytes
	sh(t, `set -e; cd `+root+`; mkdir -p web/docs "web/with space" web/`+long+`
		printf 'hello\n' > web/docs/a.txt; printf 'x%.0s' $(seq 1 100000) > web/docs/big.txt
		printf 'odd\n' > "web/with space/ünïcödé name.txt"; printf 'deep\n' > web/`+long+`/`+long+`
		ln -s docs/a.txt web/link; ln web/docs/a.txt web/docs/a-again.txt
		chmod 600 web/docs/big.txt; chmod 750 web/docs; chmod 4755 web/docs/a.txt
		touch -d 2001-02-03T04:05:06 web/docs/a.txt "web/with space/ünïcödé name.txt"
		printf 'start' | dd of=web/sparse bs=1 seek=0 conv=notrunc 2>/dev/null
		printf 'middle' | dd of=web/sparse bs=1 seek=2147483648 conv=notrunc 2>/dev/null
		printf 'end' | dd of=web/sparse bs=1 seek=5368709117 conv=notrunc 2>/dev/null`)
	want := walkTree(t, vol, "sparse")
	mustRun(t, "cfs", "sa", filepath.Join(vol, "docs"), "admin", "rlidw")
	docsACL := mustRun(t, "cfs", "la", filepath.Join(vol, "docs")).Stdout
	if !strings.Contains(docsACL, "admin") {
		t.Fatalf("cfs la: %q", docsACL)
	}

	tmp := t.TempDir()
	c.Admin("volutil", "backup", "coda.root")
	full := filepath.Join(tmp, "full.dump")
	r := mustRun(t, "volutil", "-h", c.Addr, "--key", c.KeyFile(), "dump", "coda.root.backup", full)
	if !strings.Contains(r.Stderr, "at level 0 (full)") {
		t.Fatalf("volutil dump said %q", r.Stderr)
	}
	tarFile := filepath.Join(tmp, "full.tar")
	mustRun(t, "dump2tar", "-f", full, "-o", tarFile, "-rn", "r")
	for _, x := range []string{"tar", "bsdtar"} {
		out := filepath.Join(tmp, "x-"+x)
		os.Mkdir(out, 0o755)
		sh(t, x+" -xpf "+tarFile+" -C "+out)
		got := walkTree(t, filepath.Join(out, "r/web"), "sparse")
		sameTree(t, x, want, got)
		if a, b := got["docs/a.txt"].ino, got["docs/a-again.txt"].ino; a != b || a == 0 {
			t.Errorf("%s: the hard link is not one: inodes %d and %d", x, a, b)
		}
		sp := filepath.Join(out, "r/web/sparse")
		st, err := os.Stat(sp)
		if err != nil || st.Size() != 5<<30 || st.Sys().(*syscall.Stat_t).Blocks*512 > 1<<20 {
			t.Fatalf("%s: the sparse file: %v %v (its holes must stay holes)", x, st, err)
		}
		f, _ := os.Open(sp)
		buf := make([]byte, 6)
		f.ReadAt(buf, 2147483648)
		f.Close()
		if string(buf) != "middle" {
			t.Fatalf("%s: the sparse file holds %q in its middle", x, buf)
		}
		acls, err := os.ReadFile(filepath.Join(out, "r/..CodaACLs.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		// The sidecar says what cfs la says of docs.
		section := string(acls)[strings.Index(string(acls), `"r/web/docs":`):]
		if i := strings.Index(section[1:], "\n\""); i > 0 {
			section = section[:i+1]
		}
		for _, l := range strings.Split(strings.TrimSpace(docsACL), "\n") {
			f := strings.Fields(l)
			if len(f) == 2 && !strings.Contains(section, fmt.Sprintf("name: %q, rights: %q", f[0], f[1])) {
				t.Errorf("%s: the ACL sidecar lacks %s %s of cfs la:\n%s", x, f[0], f[1], section)
			}
		}
	}

	// Level 1: only what changed, and the manifest of what is there.
	c.Admin("volutil", "ancient", "coda.root")
	sh(t, `set -e; cd `+vol+`; printf 'changed\n' > docs/a.txt; rm docs/big.txt; mv "with space" spaced; printf 'new\n' > new.txt`)
	c.Admin("volutil", "backup", "coda.root")
	inc := filepath.Join(tmp, "inc.dump")
	mustRun(t, "volutil", "-h", c.Addr, "--key", c.KeyFile(), "dump", "-i", "1", "coda.root.backup", inc)
	incTar := filepath.Join(tmp, "inc.tar")
	mustRun(t, "dump2tar", "-f", inc, "-o", incTar, "-rn", "r")
	listing := sh(t, "tar -tf "+incTar)
	for _, p := range []string{"r/web/docs/a.txt", "r/web/new.txt", "r/web/spaced/", "r/..CodaManifest"} {
		if !strings.Contains(listing, p+"\n") {
			t.Errorf("the level-1 archive lacks %s:\n%s", p, listing)
		}
	}
	for _, p := range []string{"r/web/docs/big.txt", "r/web/sparse", "r/web/link"} {
		if strings.Contains(listing, p+"\n") {
			t.Errorf("the level-1 archive holds %s, which did not change:\n%s", p, listing)
		}
	}

	// Level 2, then the chain restores the volume as it is now.
	c.Admin("volutil", "ancient", "coda.root")
	sh(t, `set -e; cd `+vol+`; printf 'again\n' > new.txt; rm -r spaced; mkdir later; printf 'l\n' > later/f`)
	c.Admin("volutil", "backup", "coda.root")
	inc2 := filepath.Join(tmp, "inc2.dump")
	// From another replica's server: the bases are on every replica.
	if r := mustRun(t, "volutil", "-h", c.Servers[1].Addr, "--key", c.KeyFile(), "dump", "--compress", "-i", "2", "coda.root.backup", inc2); !strings.Contains(r.Stderr, "at level 2 (changes since level 1)") {
		t.Fatalf("the level-2 dump from server 2 said %q", r.Stderr)
	}
	want = walkTree(t, vol, "sparse")
	servers := c.Servers[0].Addr + "," + c.Servers[1].Addr + "," + c.Servers[2].Addr
	if r := bintest.Run(t, "", "volutil", "-h", c.Addr, "--key", c.KeyFile(), "restore", "-f", inc, "-f", full, "--servers", servers, "bad.order"); r.Code != 1 || !strings.Contains(r.Stderr, "full dump") {
		t.Fatalf("a chain out of order: exit %d, %q", r.Code, r.Stderr)
	}
	cut := filepath.Join(tmp, "cut.dump")
	fullData, _ := os.ReadFile(full)
	os.WriteFile(cut, fullData[:len(fullData)*2/3], 0o600)
	if r := bintest.Run(t, "", "volutil", "-h", c.Addr, "--key", c.KeyFile(), "restore", "-f", cut, "bad.cut"); r.Code != 1 || !strings.Contains(r.Stderr, "truncated") {
		t.Fatalf("a truncated dump: exit %d, %q", r.Code, r.Stderr)
	}
	if list := c.Admin("volutil", "getvolumelist"); strings.Contains(list, "bad.order") || strings.Contains(list, "bad.cut") {
		t.Fatalf("a failed restore left its volume: %q", list)
	}
	if r := bintest.Run(t, "", "volutil", "-h", c.Addr, "--key", c.KeyFile(), "restore", "-f", full, "-f", inc, "-f", inc2, "--servers", servers, "coda.restored"); r.Code != 0 {
		b, _ := os.ReadFile(c.Servers[0].Log)
		t.Fatalf("restore: %s\n%s", r.Stderr, b[max(0, len(b)-6000):])
	}
	out := "restored from 3 dumps"
	if !strings.Contains(out, "restored from 3 dumps") {
		t.Fatalf("volutil restore printed %q", out)
	}
	restored := filepath.Join(root, "restored")
	mustRun(t, "cfs", "mkm", restored, "coda.restored")
	sameTree(t, "restored", want, walkTree(t, filepath.Join(restored, "web"), "sparse"))
	if st, err := os.Stat(filepath.Join(restored, "web/sparse")); err != nil || st.Size() != 5<<30 {
		t.Fatalf("the restored sparse file: %v %v", st, err)
	}

	// Corrupt and truncated dumps: a clear error, no archive left.
	data, _ := os.ReadFile(full)
	for name, bad := range map[string][]byte{"truncated": data[:len(data)/2], "flipped": flip(data, len(data)/3), "empty": nil, "not a dump": []byte("hello")} {
		p := filepath.Join(tmp, "bad.dump")
		os.WriteFile(p, bad, 0o600)
		out := filepath.Join(tmp, "bad.tar")
		r := bintest.Run(t, "", "dump2tar", "-f", p, "-o", out)
		if r.Code == 0 || strings.Count(strings.TrimSpace(r.Stderr), "\n") != 0 || !strings.Contains(r.Stderr, "dump") {
			t.Errorf("%s dump: exit %d, stderr %q", name, r.Code, r.Stderr)
		}
		if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s dump: the archive was left behind", name)
		}
	}
}

func flip(b []byte, at int) []byte {
	c := bytes.Clone(b)
	c[at] ^= 0x40
	return c
}

// TestBackupScripts: scripts/backup/coda-backup writes a full archive on
// the schedule's day and an incremental on another, keeping the dumps;
// coda-restore-files brings the tree back from the archives alone (all of
// it, or one path), deletions applied; volutil restore of the kept dumps
// gives the same volume.
func TestBackupScripts(t *testing.T) {
	c := replicatedCell(t)
	root := c.venus("a")
	scripts, err := filepath.Abs("../../scripts/backup")
	if err != nil {
		t.Fatal(err)
	}
	out, sched := t.TempDir(), filepath.Join(t.TempDir(), "schedule")
	env := "CODA=" + bintest.Binary(t) + " CODA_VOLUTIL_FLAGS='-h " + c.Addr + " --key " + c.KeyFile() + "' "
	run := func(fullDay string) string {
		t.Helper()
		os.WriteFile(sched, []byte("# test\n* "+fullDay+"\n"), 0o644)
		return sh(t, env+scripts+"/coda-backup -k -d "+out+" -s "+sched+" coda.root")
	}
	today := strings.ToLower(time.Now().Format("Mon"))
	other := "sun"
	if today == "sun" {
		other = "mon"
	}
	sh(t, `set -e; cd `+root+`; mkdir -p site/img; printf 'index\n' > site/index.html; printf 'old\n' > site/old.html
		head -c 300000 /dev/urandom > site/img/logo.png; ln -s index.html site/home.html`)
	if o := run(today); !strings.Contains(o, "coda.root: level 0") {
		t.Fatalf("coda-backup (full day) printed %q", o)
	}
	sh(t, `set -e; cd `+root+`/site; printf 'new index\n' > index.html; rm old.html; printf 'news\n' > news.html`)
	if o := run(other); !strings.Contains(o, "coda.root: level 1") {
		t.Fatalf("coda-backup (other day) printed %q", o)
	}
	archives := strings.Fields(sh(t, "ls "+out+"/coda.root/*-l0.tar.gz "+out+"/coda.root/*-l1.tar.gz"))
	if len(archives) != 2 {
		t.Fatalf("archives: %v", archives)
	}
	want := walkTree(t, root, "yesterday", "restored")
	dest := t.TempDir()
	sh(t, scripts+"/coda-restore-files -C "+dest+" "+strings.Join(archives, " "))
	sameTree(t, "coda-restore-files", want, walkTree(t, filepath.Join(dest, "coda.root"), "..CodaACLs.yaml"))
	one := t.TempDir()
	sh(t, scripts+"/coda-restore-files -C "+one+" "+strings.Join(archives, " ")+" -- site/index.html")
	if b, err := os.ReadFile(filepath.Join(one, "coda.root/site/index.html")); err != nil || string(b) != "new index\n" {
		t.Fatalf("one path restored: %q %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(one, "coda.root/site/news.html")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a path not asked for was restored: %v", err)
	}
	dumps := strings.Fields(sh(t, "ls "+out+"/coda.root/*-l0.dump.zst "+out+"/coda.root/*-l1.dump.zst"))
	c.Admin("volutil", "restore", "-f", dumps[0], "-f", dumps[1], "coda.again")
	mustRun(t, "cfs", "mkm", filepath.Join(root, "again"), "coda.again")
	sameTree(t, "volutil restore", want, walkTree(t, filepath.Join(root, "again"), "yesterday", "restored", "again"))
}

// TestQuota: cfs setquota limits the volume's data on every replica: a
// store beyond it fails with EDQUOT, cfs lv shows quota and use, cfs
// setvol sets the messages, and 0 lifts the limit.
func TestQuota(t *testing.T) {
	c := replicatedCell(t)
	a := c.Venus("a")
	root := a.Root
	if out := mustRun(t, "cfs", "setquota", root, "1024").Stdout; !strings.Contains(out, "quota 1024 KB") {
		t.Fatalf("cfs setquota printed %q", out)
	}
	if err := os.WriteFile(filepath.Join(root, "a"), make([]byte, 600<<10), 0o644); err != nil {
		t.Fatal(err)
	}
	err := os.WriteFile(filepath.Join(root, "b"), make([]byte, 600<<10), 0o644)
	if !errors.Is(err, syscall.EDQUOT) {
		t.Fatalf("a store beyond the quota: %v, want EDQUOT", err)
	}
	mustRun(t, "cfs", "setvol", root, "-motd", "backups at 02:15")
	lv := mustRun(t, "cfs", "lv", root).Stdout
	if !strings.Contains(lv, "Maxquota is 1024") || !strings.Contains(lv, "Current blocks used are 6") || !strings.Contains(lv, "Message of the day: backups at 02:15") {
		t.Fatalf("cfs lv: %q", lv)
	}
	// Only System:Administrators set quotas (nobody may reach the mount:
	// the test's directories are opened to others).
	for d := filepath.Dir(root); strings.HasPrefix(d, os.TempDir()+"/"); d = filepath.Dir(d) {
		os.Chmod(d, 0o755)
	}
	cmd := exec.Command(bintest.Binary(t), "cfs", "sq", root, "5")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "System:Administrators") {
		t.Fatalf("cfs setquota as nobody: %v %s", err, out)
	}

	// A store logged while disconnected and refused for the quota waits
	// in the log; once the quota allows it, preservelocal sends it.
	mustRun(t, "cfs", "disconnect", "--mount", a.Mount)
	if err := os.WriteFile(filepath.Join(root, "c"), make([]byte, 600<<10), 0o644); err != nil {
		t.Fatal(err)
	}
	mustRun(t, "cfs", "reconnect", "--mount", a.Mount)
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(mustRun(t, "cfs", "lv", root).Stdout, "over its quota") {
		if time.Now().After(deadline) {
			t.Fatalf("the store over the quota is not waiting in the log: %s", mustRun(t, "cfs", "lv", root).Stdout)
		}
		time.Sleep(50 * time.Millisecond) // poll: reintegration runs by itself
	}
	mustRun(t, "cfs", "sq", root, "0")
	mustRun(t, "cfs", "preservelocal", root)
	for logged(t, mustRun(t, "cfs", "lv", root).Stdout) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the store did not go after preservelocal: %s", mustRun(t, "cfs", "lv", root).Stdout)
		}
		time.Sleep(50 * time.Millisecond) // poll: reintegration runs by itself
	}
	if err := os.WriteFile(filepath.Join(root, "b"), make([]byte, 600<<10), 0o644); err != nil {
		t.Fatalf("a store without a quota: %v", err)
	}
}

// TestRestoreCutShortLeavesNoVolume: a volutil restore killed in the middle
// (kill -9: no chance to clean up) leaves no volume behind — the SCM purges
// it when the tool's connection ends, ending the restore on the replica's
// server; and a restore whose SCM died with it is purged when the SCM
// starts again.
func TestRestoreCutShortLeavesNoVolume(t *testing.T) {
	c := replicatedCell(t)
	root := c.Venus("a").Root
	sh(t, "mkdir "+root+"/d && for i in $(seq 1 40); do head -c 600000 /dev/urandom > "+root+"/d/f$i; done") // 24 MB: half the dump is more than a piece
	c.Admin("volutil", "backup", "coda.root")
	full := filepath.Join(t.TempDir(), "full.dump")
	mustRun(t, "volutil", "-h", c.Addr, "--key", c.KeyFile(), "dump", "coda.root.backup", full)
	dump, err := os.ReadFile(full)
	if err != nil {
		t.Fatal(err)
	}
	replica := c.Servers[1] // not the SCM: the purge reaches it over the network
	listed := func(name string) bool {
		r := bintest.Run(t, "", "volutil", "-h", replica.Addr, "--key", c.KeyFile(), "getvolumelist")
		return r.Code == 0 && strings.Contains(r.Stdout, name)
	}
	await := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); !cond(); time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("20 s and still not %s", what)
			}
		}
	}
	// startRestore runs volutil restore of name fed half the dump through
	// a pipe it keeps open, and waits until the volume exists.
	startRestore := func(name string) *exec.Cmd {
		cmd := exec.Command(bintest.Binary(t), "volutil", "-h", c.Addr, "--key", c.KeyFile(), "restore", "--servers", replica.Addr, name)
		in, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		go in.Write(dump[:len(dump)/2]) // and never closed: the restore waits for more
		await("made the volume "+name, func() bool { return listed(name) })
		return cmd
	}

	cmd := startRestore("cut.short")
	cmd.Process.Kill()
	await("purged cut.short after its volutil was killed", func() bool { return !listed("cut.short") })
	if r := bintest.Run(t, "", "volutil", "-h", c.Addr, "--key", c.KeyFile(), "lookup", "cut.short"); r.Code == 0 {
		t.Fatalf("the volume location database still knows cut.short: %s", r.Stdout)
	}

	// The SCM dies too: its next start purges what it recorded.
	cmd = startRestore("scm.died")
	c.Server.Kill()
	cmd.Process.Kill()
	c.StartServer(1)
	await("purged scm.died after the SCM restarted", func() bool { return !listed("scm.died") })
	if r := bintest.Run(t, "", "volutil", "-h", c.Addr, "--key", c.KeyFile(), "lookup", "scm.died"); r.Code == 0 {
		t.Fatalf("the volume location database still knows scm.died: %s", r.Stdout)
	}
	if log, _ := os.ReadFile(c.Servers[0].Log); !bytes.Contains(log, []byte("restore abandoned")) {
		t.Fatal("the SCM did not log the abandoned restore")
	}

	// A whole restore still works, and stays.
	mustRun(t, "volutil", "-h", c.Addr, "--key", c.KeyFile(), "restore", "-f", full, "--servers", replica.Addr, "whole")
	if !listed("whole") {
		t.Fatal("a finished restore's volume is gone")
	}
}
