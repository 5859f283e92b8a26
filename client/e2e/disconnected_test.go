package e2e

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coda-fs/coda/server/bintest"
)

// TestDisconnectedWork: a client cut off from every server (cfs disconnect)
// keeps serving what it cached, fails a cache miss with ETIMEDOUT at once,
// and takes uploads, deletions, a new directory, renames and chmods,
// logging them (cfs lv counts them; a file created, written ten times,
// renamed and removed leaves nothing in the log). Reconnected, the log is
// reintegrated by itself: another client sees the union minus the
// deletions, the replicas are identical, and the log is empty.
func TestDisconnectedWork(t *testing.T) {
	c := cell{bintest.NewCell(t, bintest.CellOptions{Realm: realm, Servers: 2})}
	a, b := c.Venus("a"), c.Venus("b")
	run := func(args ...string) bintest.Result { t.Helper(); return mustRun(t, args...) }
	sh(t, "mkdir "+a.Root+"/www && for i in 1 2 3 4 5; do echo page $i > "+a.Root+"/www/page$i; done && touch "+a.Root+"/www/seed")
	sh(t, "echo unseen > "+b.Root+"/www/unseen")
	sh(t, "cat "+a.Root+"/www/page* > /dev/null && ls -l "+a.Root+"/www > /dev/null")

	run("cfs", "disconnect", "--mount", a.Mount)
	if out := sh(t, "cat "+a.Root+"/www/page3"); out != "page 3\n" {
		t.Fatalf("a cached page while disconnected: %q", out)
	}
	start := time.Now()
	if _, err := os.ReadFile(a.Root + "/www/unseen"); !errors.Is(err, syscall.ETIMEDOUT) {
		t.Fatalf("a cache miss while disconnected: %v, want ETIMEDOUT", err)
	} else if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("a cache miss took %v, bar is 5 s", d)
	}
	sh(t, "cd "+a.Root+"/www && for i in $(seq 1 30); do echo upload $i > up$i; done && rm page1 page2 && "+
		"mkdir new && echo x > new/x && mv up1 new/ && chmod 600 up2 && ls -l > /dev/null")
	before := run("cfs", "lv", a.Root).Stdout
	if !strings.Contains(before, "State is disconnected") || logged(t, before) < 36 {
		t.Fatalf("cfs lv while disconnected:\n%s", before)
	}
	// Created, written ten times, renamed and removed: nothing more to send.
	sh(t, "cd "+a.Root+"/www && echo 0 > tmp && for i in $(seq 1 9); do echo $i >> tmp; done && mv tmp tmp2 && rm tmp2")
	if after := run("cfs", "lv", a.Root).Stdout; logged(t, after) != logged(t, before) {
		t.Fatalf("a short-lived file left records in the log:\nbefore:\n%s\nafter:\n%s", before, after)
	}

	run("cfs", "reconnect", "--mount", a.Mount)
	names := []string{"new", "new/up1", "new/x", "page3", "page4", "page5", "seed", "unseen"}
	for i := 2; i <= 30; i++ {
		names = append(names, "up"+strconv.Itoa(i))
	}
	sort.Strings(names)
	want := strings.Join(names, "\n") + "\n"
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, _ := exec.Command("bash", "-c", "cd "+b.Root+"/www && find . -mindepth 1 | sed 's#^./##' | LC_ALL=C sort").CombinedOutput()
		got := string(out)
		if got == want {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the other client after reconnection:\n%s\nwant:\n%s\ncfs lv:\n%s", got, want, run("cfs", "lv", a.Root).Stdout)
		}
		time.Sleep(100 * time.Millisecond) // poll: reintegration runs by itself
	}
	if out := sh(t, "cat "+b.Root+"/www/new/up1 "+b.Root+"/www/new/x; stat -c %a "+b.Root+"/www/up2"); out != "upload 1\nx\n600\n" {
		t.Fatalf("reintegrated contents: %q", out)
	}
	if lv := run("cfs", "lv", a.Root).Stdout; logged(t, lv) != 0 || !strings.Contains(lv, "State is connected") {
		t.Fatalf("cfs lv after reintegration:\n%s", lv)
	}
	c.waitLevel(t, a.Root)
}

// logged is the number of logged updates cfs lv reports.
func logged(t testing.TB, lv string) int {
	t.Helper()
	i := strings.Index(lv, "; ")
	var n int
	if i < 0 || len(lv) < i+2 {
		t.Fatalf("no log count in cfs lv:\n%s", lv)
	}
	if _, err := fmt.Sscanf(lv[i+2:], "%d updates", &n); err != nil {
		t.Fatalf("no log count in cfs lv: %v\n%s", err, lv)
	}
	return n
}

// TestVenusKilledWhileDisconnected: venus is killed (-9) while
// disconnected with about 2,000 logged updates (1,000 new files: more than
// the FIDs reserved while connected, so most take local FIDs); started
// again at the same mount point with the same cache, it still holds the
// log, and once its user has a token again everything reaches the servers.
func TestVenusKilledWhileDisconnected(t *testing.T) {
	c := cell{bintest.NewCell(t, bintest.CellOptions{Realm: realm, Servers: 2})}
	a, b := c.Venus("a"), c.Venus("b")
	sh(t, "mkdir "+a.Root+"/spool && echo seed > "+a.Root+"/spool/seed")
	mustRun(t, "cfs", "disconnect", "--mount", a.Mount)
	sh(t, "cd "+a.Root+"/spool && for i in $(seq 1 1000); do echo message $i > m$i; done")
	if n := logged(t, mustRun(t, "cfs", "lv", a.Root).Stdout); n < 2000 {
		t.Fatalf("%d updates logged, want about 2,000", n)
	}
	a.Proc.Kill()
	a = c.Venus("a") // the same mount point and cache; not cut off any more
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, _ := exec.Command("bash", "-c", "cat "+b.Root+"/spool/m* | wc -l; cat "+b.Root+"/spool/m1000").CombinedOutput()
		if string(out) == "1000\nmessage 1000\n" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the restart the other client sees:\n%s\ncfs lv:\n%s", out, mustRun(t, "cfs", "lv", a.Root).Stdout)
		}
		time.Sleep(200 * time.Millisecond) // poll: reintegration runs by itself
	}
	if n := logged(t, mustRun(t, "cfs", "lv", a.Root).Stdout); n != 0 {
		t.Fatalf("%d updates still logged", n)
	}
	c.waitLevel(t, a.Root)
}

// TestWebFarmServersStopped: two web servers (clients) on three file
// servers, all SIGSTOPped: both keep serving their cached pages, a cache
// miss fails with ETIMEDOUT within 5 s, and each takes 300 uploads with
// unique names and deletes 50 old pages. When the servers resume, within
// 10 s both clients and the servers agree on the union minus the
// deletions, with no conflict.
func TestWebFarmServersStopped(t *testing.T) {
	c := replicatedCell(t)
	a, b := c.Venus("a"), c.Venus("b")
	sh(t, "mkdir "+a.Root+"/www && cd "+a.Root+"/www && for i in $(seq 1 120); do echo page $i > p$i; done && echo late > late")
	sh(t, "cat "+a.Root+"/www/p* > /dev/null && cat "+b.Root+"/www/p* > /dev/null && touch "+a.Root+"/www/.a "+b.Root+"/www/.b")
	sh(t, "rm "+a.Root+"/www/.a "+b.Root+"/www/.b") // each client has reserved FIDs
	for _, s := range c.Servers {
		s.Proc.Signal(syscall.SIGSTOP)
	}
	resumed := false
	resume := func() {
		if !resumed {
			for _, s := range c.Servers {
				s.Proc.Signal(syscall.SIGCONT)
			}
			resumed = true
		}
	}
	defer resume()
	for _, v := range []*bintest.Venus{a, b} {
		if out := sh(t, "cat "+v.Root+"/www/p7"); out != "page 7\n" {
			t.Fatalf("%s serves a cached page as %q", v.Mount, out)
		}
	}
	start := time.Now()
	if _, err := os.ReadFile(b.Root + "/www/late"); !errors.Is(err, syscall.ETIMEDOUT) {
		t.Fatalf("a cache miss with the servers stopped: %v, want ETIMEDOUT", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("a cache miss took %v, bar is 5 s", d)
	}
	done := make(chan error, 2)
	for _, side := range []struct {
		v       *bintest.Venus
		who     string
		deleted string
	}{{a, "a", "1 50"}, {b, "b", "51 100"}} {
		go func() {
			out, err := exec.Command("bash", "-c", "cd "+side.v.Root+"/www && for i in $(seq 1 300); do echo image > "+side.who+"-up$i.jpg || exit 1; done && "+
				"for i in $(seq "+side.deleted+"); do rm p$i || exit 1; done").CombinedOutput()
			if err != nil {
				err = fmt.Errorf("%s: %v: %s", side.who, err, out)
			}
			done <- err
		}()
	}
	for range 2 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	resume()
	resumedAt := time.Now()
	var names []string
	for i := 101; i <= 120; i++ {
		names = append(names, "p"+strconv.Itoa(i))
	}
	for _, who := range []string{"a", "b"} {
		for i := 1; i <= 300; i++ {
			names = append(names, who+"-up"+strconv.Itoa(i)+".jpg")
		}
	}
	names = append(names, "late")
	sort.Strings(names)
	want := strings.Join(names, "\n") + "\n"
	for {
		same := true
		var got string
		for _, v := range []*bintest.Venus{a, b} {
			out, _ := exec.Command("bash", "-c", "ls "+v.Root+"/www | LC_ALL=C sort").CombinedOutput()
			if got = string(out); got != want {
				same = false
				break
			}
		}
		if same {
			break
		}
		if time.Since(resumedAt) > 10*time.Second {
			var dbg string // what the servers said of the directory, and its replicas
			for _, s := range c.Servers {
				l, _ := os.ReadFile(s.Log)
				n := 0
				for _, line := range strings.Split(string(l), "\n") {
					if n < 3 && (strings.Contains(line, "conflict") || strings.Contains(line, "diverged")) {
						dbg += line[:min(len(line), 600)] + "\n"
						n++
					}
				}
			}
			for i := 1; i <= 3; i++ {
				l := c.vnodeLines(t, i)
				dbg += fmt.Sprintf("server %d: %d vnodes; dirs:\n", i, strings.Count(l, "\n")+1)
				for _, line := range strings.Split(l, "\n") {
					if strings.Contains(line, " dir ") {
						dbg += line + "\n"
					}
				}
			}
			t.Fatalf("10 s after the servers resumed a client lists %d names, want %d (%.300s)\n%s", strings.Count(got, "\n"), len(names), lineDiff(got, want), dbg)
		}
		time.Sleep(100 * time.Millisecond) // poll: both reintegrate by themselves
	}
	t.Logf("both clients agree %v after the servers resumed", time.Since(resumedAt).Round(time.Millisecond))
	if out, _ := exec.Command("find", a.Root, "-lname", "@*").CombinedOutput(); len(out) != 0 {
		t.Fatalf("conflicts: %s", out)
	}
	c.waitLevel(t, a.Root)
}

// lineDiff names the lines only one of got and want has.
func lineDiff(got, want string) string {
	in := map[string]int{}
	for _, l := range strings.Split(got, "\n") {
		in[l]++
	}
	for _, l := range strings.Split(want, "\n") {
		in[l]--
	}
	var out []string
	for l, n := range in {
		switch {
		case n > 0:
			out = append(out, "extra "+l)
		case n < 0:
			out = append(out, "missing "+l)
		}
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

// TestReintegrationWaitsForToken: updates logged while disconnected go as
// the user who made them; with that user's token gone, reintegration waits
// (cfs lv and codacon say why) and goes on by itself at the next clog.
func TestReintegrationWaitsForToken(t *testing.T) {
	c := cell{bintest.NewCell(t, bintest.CellOptions{Realm: realm, Servers: 2})}
	a, b := c.Venus("a"), c.Venus("b")
	sh(t, "mkdir "+a.Root+"/t")
	mustRun(t, "cfs", "disconnect", "--mount", a.Mount)
	sh(t, "echo while away > "+a.Root+"/t/f")
	mustRun(t, "cunlog", "--mount", a.Mount)
	mustRun(t, "cfs", "reconnect", "--mount", a.Mount)
	deadline := time.Now().Add(15 * time.Second)
	for {
		lv := mustRun(t, "cfs", "lv", a.Root).Stdout
		if strings.Contains(lv, "Reintegration waits: no valid token for local uid 0") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("cfs lv never said why reintegration waits:\n%s", lv)
		}
		time.Sleep(100 * time.Millisecond) // poll: reintegration starts by itself
	}
	if out := mustRun(t, "codacon", "--dump", "--json", "--only", "reintegrated", a.Root).Stdout; !strings.Contains(out, `"kind":"reintegrated"`) || !strings.Contains(out, "no valid token") {
		t.Fatalf("codacon does not say why reintegration waits:\n%s", out)
	}
	if out := mustRun(t, "codacon", "--dump", "--only", "volume,reintegrating", a.Root).Stdout; !strings.Contains(out, "volume: volume coda.root disconnected") ||
		!strings.Contains(out, "volume: volume coda.root connected") || !strings.Contains(out, "reintegrating: volume coda.root: reintegrating 2 updates") {
		t.Fatalf("codacon does not show the volume's states:\n%s", out)
	}
	if out := mustRun(t, "cfs", "listlocal", a.Root).Stdout; !strings.HasPrefix(out, "2 changes logged\n") || !strings.Contains(out, `create   7f000001.`) ||
		!strings.Contains(out, "reintegration waits: no valid token") {
		t.Fatalf("cfs listlocal:\n%s", out)
	}
	if out := mustRun(t, "cfs", "checklocal", a.Root).Stdout; !strings.Contains(out, `"f" in 7f000001.`) || !strings.Contains(out, "waits on: no valid token") {
		t.Fatalf("cfs checklocal:\n%s", out)
	}
	// A safety copy of the waiting work opens with tar.
	out := t.TempDir()
	archive := strings.TrimSpace(mustRun(t, "cfs", "checkpointml", a.Root, out).Stdout)
	if list := sh(t, "tar tf "+archive); !strings.HasPrefix(list, "cml.txt\n7f000001.") {
		t.Fatalf("checkpoint archive %s holds:\n%s", archive, list)
	}
	if data := sh(t, "cd "+out+" && tar xf "+archive+" && cat 7f000001.*"); data != "while away\n" {
		t.Fatalf("checkpointed data: %q", data)
	}
	if _, err := os.Stat(b.Root + "/t/f"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the update reached the servers without a token: %v", err)
	}
	if r := bintest.Run(t, bintest.AdminPassword+"\n", "clog", "-pipe", "--mount", a.Mount, "admin"); r.Code != 0 {
		t.Fatalf("clog: %s", r.Stderr)
	}
	deadline = time.Now().Add(10 * time.Second)
	for {
		if out, err := os.ReadFile(b.Root + "/t/f"); err == nil && string(out) == "while away\n" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after clog the update never reached the servers:\n%s", mustRun(t, "cfs", "lv", a.Root).Stdout)
		}
		time.Sleep(100 * time.Millisecond) // poll: clog restarts reintegration
	}

	// Changes dropped with discardlocal never reach the servers, and
	// venus shows the servers' state again.
	sh(t, "ls -l "+a.Root+"/t > /dev/null") // cached again after the reintegration
	mustRun(t, "cfs", "disconnect", "--mount", a.Mount)
	sh(t, "echo dropped > "+a.Root+"/t/drop && echo changed > "+a.Root+"/t/f")
	if r := bintest.Run(t, "", "cfs", "discardlocal", "--all", a.Root); r.Code != 0 || r.Stdout != a.Root+": 3 changes discarded\n" {
		t.Fatalf("cfs discardlocal --all: exit %d %q %q", r.Code, r.Stdout, r.Stderr)
	}
	mustRun(t, "cfs", "reconnect", "--mount", a.Mount)
	for _, v := range []*bintest.Venus{a, b} {
		if out := sh(t, "ls "+v.Root+"/t && cat "+v.Root+"/t/f"); out != "f\nwhile away\n" {
			t.Fatalf("%s after discardlocal: %q", v.Mount, out)
		}
	}
}

// TestLocalGlobalConflict: a file written while disconnected that another
// client changed on the servers meanwhile is not overwritten: reintegration
// stops there and says why, and the file shows as a conflict link that cfs
// expand opens into its local and global versions; cfs preservelocal (or
// cfs repair --keep local) sends the local version over the global one,
// cfs discardlocal (or --keep global) keeps the global one, and under the
// keep-all and newest policies the conflict ends by itself with both
// versions kept.
func TestLocalGlobalConflict(t *testing.T) {
	c := cell{bintest.NewCell(t, bintest.CellOptions{Realm: realm, Servers: 2})}
	a, b := c.Venus("a"), c.Venus("b")
	sh(t, "echo base > "+a.Root+"/f && cat "+b.Root+"/f > /dev/null")
	waitFile := func(v *bintest.Venus, want string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			if out, err := os.ReadFile(v.Root + "/f"); err == nil && string(out) == want {
				return
			}
			if time.Now().After(deadline) {
				out, err := os.ReadFile(v.Root + "/f")
				t.Fatalf("%s reads f as %q (%v), want %q\n%s", v.Mount, out, err, want, mustRun(t, "cfs", "listlocal", a.Root).Stdout)
			}
			time.Sleep(100 * time.Millisecond) // poll: reintegration and callbacks are asynchronous
		}
	}
	diverge := func(local, global string) {
		t.Helper()
		// a writes f disconnected: it must hold f (a conflict's end may
		// have dropped its copy, to be fetched again on the next open).
		sh(t, "cat "+a.Root+"/f > /dev/null")
		mustRun(t, "cfs", "disconnect", "--mount", a.Mount)
		sh(t, "echo "+global+" > "+b.Root+"/f")
		sh(t, "echo "+local+" > "+a.Root+"/f") // after: the newer one
		mustRun(t, "cfs", "reconnect", "--mount", a.Mount)
	}
	conflict := func(local, global string) {
		t.Helper()
		diverge(local, global)
		waitRefused(t, a.Root, "the servers refused a logged store")
		waitFile(b, global+"\n") // the global change was not overwritten
	}
	conflict("local", "global")
	waitConflictLink(t, a.Root+"/f")
	if out := mustRun(t, "cfs", "preservelocal", a.Root).Stdout; !strings.Contains(out, "1 changes go over") {
		t.Fatalf("cfs preservelocal: %q", out)
	}
	waitFile(b, "local\n")
	conflict("local2", "global2")
	mustRun(t, "cfs", "discardlocal", a.Root)
	waitFile(a, "global2\n")

	conflict("local3", "global3")
	waitConflictLink(t, a.Root+"/f")
	if out := mustRun(t, "cfs", "expand", a.Root+"/f").Stdout; !strings.Contains(out, "expanded into global and local") {
		t.Fatalf("cfs expand: %q", out)
	}
	if out := sh(t, "ls "+a.Root+"/f && cat "+a.Root+"/f/local "+a.Root+"/f/global"); out != "global\nlocal\nlocal3\nglobal3\n" {
		t.Fatalf("the expanded conflict: %q", out)
	}
	if err := os.WriteFile(a.Root+"/f/local", []byte("x\n"), 0o644); !errors.Is(err, syscall.EROFS) && !errors.Is(err, syscall.EACCES) {
		t.Fatalf("writing a version under an expanded conflict: %v, want EROFS", err)
	}
	if out := mustRun(t, "cfs", "repair", a.Root+"/f", "--keep", "local").Stdout; !strings.Contains(out, "kept the local version") {
		t.Fatalf("cfs repair --keep local: %q", out)
	}
	waitFile(b, "local3\n")
	waitFile(a, "local3\n")

	conflict("local4", "global4")
	waitConflictLink(t, a.Root+"/f")
	if out := mustRun(t, "cfs", "repair", a.Root+"/f", "--keep", "global").Stdout; !strings.Contains(out, "kept the global version") {
		t.Fatalf("cfs repair --keep global: %q", out)
	}
	waitFile(a, "global4\n")

	// keep-all: the conflict ends by itself, the local version beside.
	mustRun(t, "cfs", "setpolicy", a.Root, "keep-all")
	diverge("local5", "global5")
	waitFile(a, "global5\n")
	waitPath := func(v *bintest.Venus, name, want string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			if out, err := os.ReadFile(v.Root + "/" + name); err == nil && string(out) == want {
				return
			}
			if time.Now().After(deadline) {
				out, err := os.ReadFile(v.Root + "/" + name)
				lg, _ := os.ReadFile(a.Log)
				t.Fatalf("%s reads %s as %q (%v), want %q\n%s\n%s", v.Mount, name, out, err, want, mustRun(t, "cfs", "listlocal", a.Root).Stdout, lg)
			}
			time.Sleep(100 * time.Millisecond) // poll: reintegration and callbacks are asynchronous
		}
	}
	waitPath(b, "f.conflict-local", "local5\n")
	// newest: the newer (local) version keeps the name, the other beside.
	mustRun(t, "cfs", "setpolicy", a.Root, "newest")
	diverge("local6", "global6")
	waitFile(b, "local6\n")
	waitPath(b, "f.conflict-global", "global6\n")
	if n := logged(t, mustRun(t, "cfs", "lv", a.Root).Stdout); n != 0 {
		t.Fatalf("%d updates still logged", n)
	}
	c.waitLevel(t, a.Root)
}

// waitConflictLink waits until path shows as a conflict link.
func waitConflictLink(t *testing.T, path string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		target, err := os.Readlink(path)
		if err == nil && strings.HasPrefix(target, "@") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s is not shown as a conflict link: %q %v", path, target, err)
		}
		time.Sleep(50 * time.Millisecond) // poll: the kernel forgets the old form asynchronously
	}
}

// TestWriteDisconnected: with cfs wd -age 2 -time 1, an update is logged
// and reaches the servers only once it is 2 s old (before 4 s); cfs strong
// sends what is logged and makes updates synchronous again.
func TestWriteDisconnected(t *testing.T) {
	c := cell{bintest.NewCell(t, bintest.CellOptions{Realm: realm, Servers: 2})}
	a, b := c.Venus("a"), c.Venus("b")
	sh(t, "mkdir "+a.Root+"/w && ls "+b.Root+"/w")
	if out := mustRun(t, "cfs", "wd", "-age", "2", "-time", "1", a.Root).Stdout; out != "1 volumes write-disconnected\n" {
		t.Fatalf("cfs wd: %q", out)
	}
	if lv := mustRun(t, "cfs", "lv", a.Root).Stdout; !strings.Contains(lv, "State is write-disconnected") {
		t.Fatalf("cfs lv:\n%s", lv)
	}
	start := time.Now()
	sh(t, "echo slow > "+a.Root+"/w/f")
	seen := func() bool {
		_, err := os.Stat(b.Root + "/w/f")
		return err == nil
	}
	for time.Since(start) < 1500*time.Millisecond {
		if seen() {
			t.Fatalf("the update reached the servers after %v, before its 2 s", time.Since(start))
		}
		time.Sleep(100 * time.Millisecond) // sampling: it must stay away this long
	}
	for !seen() {
		if time.Since(start) > 4*time.Second {
			t.Fatal("the update had not reached the servers 4 s after it was made")
		}
		time.Sleep(50 * time.Millisecond) // poll: the trickle runs by itself
	}
	if took := time.Since(start); took < 2*time.Second {
		t.Fatalf("the update reached the servers after %v, before its 2 s", took)
	}
	sh(t, "echo queued > "+a.Root+"/w/g")
	if out := mustRun(t, "cfs", "strong", a.Root).Stdout; out != "1 volumes strongly connected\n" {
		t.Fatalf("cfs strong: %q", out)
	}
	sh(t, "echo now > "+a.Root+"/w/h")
	if lv := mustRun(t, "cfs", "lv", a.Root).Stdout; !strings.Contains(lv, "State is connected; 0 updates") {
		t.Fatalf("cfs lv after strong:\n%s", lv)
	}
	if out := sh(t, "cat "+b.Root+"/w/g "+b.Root+"/w/h"); out != "queued\nnow\n" {
		t.Fatalf("after cfs strong the other client reads %q", out)
	}
	if out := mustRun(t, "cfs", "fr", a.Root).Stdout; out != "0 changes remain logged\n" {
		t.Fatalf("cfs fr: %q", out)
	}
}

// TestVenusInit: venus --init empties the cache, but refuses while changes
// logged for reintegration are pending; --init --force drops them after a
// checkpoint (a listing and the data) in the cache's spool directory.
func TestVenusInit(t *testing.T) {
	c := cell{bintest.NewCell(t, bintest.CellOptions{Realm: realm, Servers: 2})}
	a := c.Venus("a")
	sh(t, "echo kept > "+a.Root+"/f")
	mustRun(t, "cfs", "disconnect", "--mount", a.Mount)
	sh(t, "echo pending > "+a.Root+"/g")
	a.Proc.Stop()
	if r := bintest.Run(t, "", append(c.VenusArgs("a"), "--init")...); r.Code == 0 || !strings.Contains(r.Stderr, "changes logged for reintegration are not on the servers yet") {
		t.Fatalf("venus --init with changes pending: exit %d, %s", r.Code, r.Stderr)
	}
	a = c.Venus("a", "--init", "--force")
	if out := sh(t, "cat "+a.Root+"/f"); out != "kept\n" {
		t.Fatalf("after --init: f reads %q", out)
	}
	if _, err := os.Stat(a.Root + "/g"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("after --init --force the dropped file: %v", err)
	}
	// The checkpoint is what cfs checkpointml writes: per volume, a
	// listing and a tar archive of the listing and the data.
	archives, _ := filepath.Glob(filepath.Join(c.VenusCache("a"), "spool", "cml-*", "*.cml.tar"))
	if len(archives) != 1 {
		t.Fatalf("checkpoints: %v", archives)
	}
	l, _ := os.ReadFile(strings.TrimSuffix(archives[0], ".tar") + ".txt")
	list := sh(t, "tar tf "+archives[0])
	if !strings.Contains(string(l), `"g" in 7f000001.`) || !strings.HasPrefix(list, "cml.txt\n7f000001.") {
		t.Fatalf("checkpoint listing:\n%s\narchive: %s", l, list)
	}
	name := strings.Split(list, "\n")[1]
	if b := sh(t, "tar xOf "+archives[0]+" "+name); b != "pending\n" {
		t.Fatalf("checkpointed data: %q", b)
	}
}

// TestFlush: cfs flushobject drops a cached file (disconnected, it is a
// cache miss then); flushvolume asks first, keeps what the servers do not
// have yet and says so, and with --force drops that too.
func TestFlush(t *testing.T) {
	c := cell{bintest.NewCell(t, bintest.CellOptions{Realm: realm, Servers: 2})}
	a, b := c.Venus("a"), c.Venus("b")
	sh(t, "echo cached > "+a.Root+"/f && echo other > "+a.Root+"/o && cat "+a.Root+"/f "+a.Root+"/o > /dev/null")
	mustRun(t, "cfs", "flushobject", a.Root+"/f")
	mustRun(t, "cfs", "disconnect", "--mount", a.Mount)
	if _, err := os.ReadFile(a.Root + "/f"); !errors.Is(err, syscall.ETIMEDOUT) {
		t.Fatalf("a flushed file while disconnected: %v, want ETIMEDOUT", err)
	}
	if out := sh(t, "cat "+a.Root+"/o"); out != "other\n" {
		t.Fatalf("an unflushed file while disconnected: %q", out)
	}
	sh(t, "echo logged > "+a.Root+"/g")
	if r := bintest.Run(t, "n\n", "cfs", "flushvolume", a.Root); r.Code != 1 || !strings.Contains(r.Stderr, "not flushed") {
		t.Fatalf("flushvolume answered no: exit %d %q", r.Code, r.Stderr)
	}
	if r := bintest.Run(t, "", "cfs", "flushvolume", "--yes", a.Root); r.Code != 1 || !strings.Contains(r.Stderr, "kept") {
		t.Fatalf("flushvolume with changes logged: exit %d %q", r.Code, r.Stderr)
	}
	if n := logged(t, mustRun(t, "cfs", "lv", a.Root).Stdout); n != 2 {
		t.Fatalf("%d updates logged after a flush that kept them, want 2", n)
	}
	mustRun(t, "cfs", "flushvolume", "--yes", "--force", a.Root)
	mustRun(t, "cfs", "reconnect", "--mount", a.Mount)
	if n := logged(t, mustRun(t, "cfs", "lv", a.Root).Stdout); n != 0 {
		t.Fatalf("%d updates logged after flushvolume --force", n)
	}
	if out := sh(t, "ls "+a.Root+" && cat "+a.Root+"/f"); out != "f\no\ncached\n" {
		t.Fatalf("after the flushes: %q", out)
	}
	if _, err := os.Stat(b.Root + "/g"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a change dropped by flushvolume --force reached the servers: %v", err)
	}
}

// TestLocalGlobalNameConflict: a file created while disconnected under a
// name another client took on the servers meanwhile is refused and shown
// as a conflict link whose expansion holds both files; the rest of the log
// (another new file) still reaches the servers; the log is checkpointed in
// venus's spool (the local data, readable with tar), and codacon says so;
// cfs discardlocal drops the local file and the global one shows. In a
// second round cfs repair --keep-all sends the local file under another
// name, and --keep local moves the global one aside.
func TestLocalGlobalNameConflict(t *testing.T) {
	c := cell{bintest.NewCell(t, bintest.CellOptions{Realm: realm, Servers: 2})}
	a, b := c.Venus("a"), c.Venus("b")
	sh(t, "mkdir "+a.Root+"/d && touch "+a.Root+"/d/seed && ls -l "+a.Root+"/d > /dev/null && ls "+b.Root+"/d > /dev/null")
	mustRun(t, "cfs", "disconnect", "--mount", a.Mount)
	sh(t, "echo local > "+a.Root+"/d/x && echo independent > "+a.Root+"/d/y")
	sh(t, "echo global > "+b.Root+"/d/x")
	mustRun(t, "cfs", "reconnect", "--mount", a.Mount)
	deadline := time.Now().Add(15 * time.Second)
	for {
		y, _ := os.ReadFile(b.Root + "/d/y")
		out := mustRun(t, "cfs", "checklocal", a.Root).Stdout
		if string(y) == "independent\n" && strings.Contains(out, "waits on: the servers refused a logged create") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("b reads d/y as %q; cfs checklocal:\n%s", y, out)
		}
		time.Sleep(100 * time.Millisecond) // poll: reintegration starts by itself
	}
	waitConflictLink(t, a.Root+"/d/x")
	mustRun(t, "cfs", "expand", a.Root+"/d/x")
	if out := sh(t, "cat "+a.Root+"/d/x/local "+a.Root+"/d/x/global"); out != "local\nglobal\n" {
		t.Fatalf("the expanded name conflict: %q", out)
	}
	if out := mustRun(t, "codacon", "--dump", "--only", "conflict", a.Root).Stdout; !strings.Contains(out, "the rest of the log goes on") {
		t.Fatalf("codacon does not show the refused update:\n%s", out)
	}
	archives, _ := filepath.Glob(filepath.Join(c.VenusCache("a"), "spool", "cml-*", "*.cml.tar"))
	if len(archives) == 0 {
		t.Fatal("no checkpoint of the log in the spool")
	}
	if data := sh(t, "cd "+t.TempDir()+" && tar xf "+archives[0]+" && cat 7f000001.*"); !strings.Contains(data, "local\n") {
		t.Fatalf("the checkpoint's data: %q", data)
	}
	if out := mustRun(t, "cfs", "discardlocal", "--all", a.Root).Stdout; !strings.Contains(out, "changes discarded") {
		t.Fatalf("cfs discardlocal: %q", out)
	}
	deadline = time.Now().Add(10 * time.Second)
	for {
		x, _ := os.ReadFile(a.Root + "/d/x")
		if string(x) == "global\n" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after discardlocal a reads d/x as %q\n%s", x, mustRun(t, "cfs", "lv", a.Root).Stdout)
		}
		time.Sleep(100 * time.Millisecond) // poll: the discarded objects are fetched again
	}
	if n := logged(t, mustRun(t, "cfs", "lv", a.Root).Stdout); n != 0 {
		t.Fatalf("%d updates still logged", n)
	}

	mustRun(t, "cfs", "disconnect", "--mount", a.Mount)
	sh(t, "echo local-z > "+a.Root+"/d/z && echo local-w > "+a.Root+"/d/w")
	sh(t, "echo global-z > "+b.Root+"/d/z && echo global-w > "+b.Root+"/d/w")
	mustRun(t, "cfs", "reconnect", "--mount", a.Mount)
	waitConflictLink(t, a.Root+"/d/z")
	if out := mustRun(t, "cfs", "repair", a.Root+"/d/z", "--keep-all").Stdout; !strings.Contains(out, "z.conflict-local") {
		t.Fatalf("cfs repair --keep-all: %q", out)
	}
	waitConflictLink(t, a.Root+"/d/w")
	if out := mustRun(t, "cfs", "repair", a.Root+"/d/w", "--keep", "local").Stdout; !strings.Contains(out, "w.conflict-global") {
		t.Fatalf("cfs repair --keep local: %q", out)
	}
	deadline = time.Now().Add(10 * time.Second)
	want := "global-z\nlocal-z\nlocal-w\nglobal-w\n"
	for _, v := range []*bintest.Venus{b, a} {
		for {
			out, _ := exec.Command("sh", "-c", "cd "+v.Root+"/d && cat z z.conflict-local w w.conflict-global").Output()
			if string(out) == want {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s reads %q, want %q\n%s", v.Mount, out, want, mustRun(t, "cfs", "listlocal", a.Root).Stdout)
			}
			time.Sleep(100 * time.Millisecond) // poll: reintegration and callbacks are asynchronous
		}
	}
	c.waitLevel(t, a.Root)
}

// TestLocalGlobalRemoveConflict: a file removed while disconnected that
// another client changed on the servers meanwhile is not removed there:
// the remove waits; cfs preservelocal removes it anyway; in a second round
// cfs discardlocal keeps the other client's version.
func TestLocalGlobalRemoveConflict(t *testing.T) {
	c := cell{bintest.NewCell(t, bintest.CellOptions{Realm: realm, Servers: 2})}
	a, b := c.Venus("a"), c.Venus("b")
	round := func(name string) {
		t.Helper()
		sh(t, "echo base > "+a.Root+"/"+name+" && cat "+b.Root+"/"+name+" > /dev/null && ls -l "+a.Root+" > /dev/null")
		mustRun(t, "cfs", "disconnect", "--mount", a.Mount)
		sh(t, "rm "+a.Root+"/"+name)
		sh(t, "echo changed > "+b.Root+"/"+name)
		mustRun(t, "cfs", "reconnect", "--mount", a.Mount)
		waitRefused(t, a.Root, "the servers refused a logged remove")
		if out := sh(t, "cat "+b.Root+"/"+name); out != "changed\n" {
			t.Fatalf("the other client's change was lost: %q", out)
		}
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s\n%s", what, mustRun(t, "cfs", "lv", a.Root).Stdout)
			}
			time.Sleep(100 * time.Millisecond) // poll: reintegration and callbacks are asynchronous
		}
	}
	round("g")
	waitConflictLink(t, a.Root+"/g") // the removed name is back, as a conflict
	mustRun(t, "cfs", "expand", a.Root+"/g")
	if out := sh(t, "ls "+a.Root+"/g && cat "+a.Root+"/g/global"); out != "global\nchanged\n" {
		t.Fatalf("the expanded remove/update conflict: %q", out)
	}
	mustRun(t, "cfs", "preservelocal", a.Root)
	waitFor("the remove to reach the servers", func() bool {
		_, err := os.Stat(b.Root + "/g")
		return errors.Is(err, os.ErrNotExist)
	})
	waitFor("the conflict link to go", func() bool {
		_, err := os.Lstat(a.Root + "/g")
		return errors.Is(err, os.ErrNotExist)
	})
	round("h")
	mustRun(t, "cfs", "discardlocal", a.Root)
	waitFor("a to see the other client's version", func() bool {
		out, err := os.ReadFile(a.Root + "/h")
		return err == nil && string(out) == "changed\n"
	})
	if n := logged(t, mustRun(t, "cfs", "lv", a.Root).Stdout); n != 0 {
		t.Fatalf("%d updates still logged", n)
	}
	c.waitLevel(t, a.Root)
}

// waitRefused waits until cfs checklocal on root says the log waits on an
// update the servers refused (what) because of a change made there.
func waitRefused(t *testing.T, root, what string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		out := mustRun(t, "cfs", "checklocal", root).Stdout
		if strings.Contains(out, "waits on: "+what) && strings.Contains(out, "changed on the servers") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("cfs checklocal never reported the conflict (%s):\n%s", what, out)
		}
		time.Sleep(100 * time.Millisecond) // poll: reintegration starts by itself
	}
}
