package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coda-fs/coda/server/bintest"
)

const realm = "e2e.client"

// cell is the test's realm: a server process and venus processes.
type cell struct{ *bintest.Cell }

func newCell(t testing.TB) cell {
	return cell{bintest.NewCell(t, bintest.CellOptions{Realm: realm})}
}

// venus mounts the realm with a venus process and returns the realm path.
func (c cell) venus(name string) string { return c.Venus(name).Root }

func sh(t *testing.T, script string) string {
	t.Helper()
	out, err := exec.Command("bash", "-c", script).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", script, err, out)
	}
	return string(out)
}

// allocated returns the bytes of disk blocks used by the files under dir.
func allocated(t *testing.T, dir string) int64 {
	var total int64
	filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err == nil && info.Mode().IsRegular() {
			total += info.Sys().(*syscall.Stat_t).Blocks * 512
		}
		return nil
	})
	return total
}

// TestHugeDirectoryEightCreators: 8 creator processes make 100,000 files in
// one directory through the mount; listing sees them all, on this client
// and another, and a warm lookup takes at most 5 ms. How long the creates
// take (the bar: 90 s) is BenchmarkHugeDirectoryEightCreators's to say: a
// timed test fails on a busy machine, not on a slow file system.
func TestHugeDirectoryEightCreators(t *testing.T) {
	c := newCell(t)
	root := c.venus("a")
	big := filepath.Join(root, "big")
	took := createHuge(t, big)
	t.Logf("%d files by %d parallel creators in %v (%.0f creates/s)", hugeCreators*hugeEach, hugeCreators, took,
		float64(hugeCreators*hugeEach)/took.Seconds())
	const creators, each = hugeCreators, hugeEach
	if n := strings.TrimSpace(sh(t, "ls -f "+big+" | grep -c '^w'")); n != strconv.Itoa(creators*each) {
		t.Fatalf("ls found %s entries, want %d", n, creators*each)
	}
	// A second client sees them too.
	other := c.venus("b")
	if n := strings.TrimSpace(sh(t, "ls "+filepath.Join(other, "big")+" | wc -l")); n != strconv.Itoa(creators*each) {
		t.Fatalf("second client lists %s entries", n)
	}
	// Warm lookups: stat 200 names once to warm, then time each in a
	// separate process (one that does nothing but the lookups).
	var names []string
	for i := 0; i < 200; i++ {
		names = append(names, filepath.Join(big, fmt.Sprintf("w%d-%d", i%creators, (i*7919)%each)))
	}
	sh(t, "stat "+strings.Join(names, " ")+" > /dev/null")
	out := sh(t, os.Args[0]+" -test.run=^TestLookupTimer$ -- "+strings.Join(names, " "))
	var worst time.Duration
	if _, err := fmt.Sscanf(out[strings.Index(out, "worst=")+6:], "%d", &worst); err != nil {
		t.Fatalf("lookup timer said %q", out)
	}
	t.Logf("warm lookup: worst of 200 is %v", worst)
	if worst > 5*time.Millisecond {
		t.Errorf("warm lookup took %v, bar is 5 ms", worst)
	}
}

// TestLookupTimer is a helper process for TestHugeDirectoryEightCreators:
// it lstats the names after "--" and prints the slowest time.
func TestLookupTimer(t *testing.T) {
	var names []string
	for i, a := range os.Args {
		if a == "--" {
			names = os.Args[i+1:]
		}
	}
	if len(names) == 0 {
		return // only a helper
	}
	var worst time.Duration
	for _, n := range names {
		start := time.Now()
		if _, err := os.Lstat(n); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d > worst {
			worst = d
		}
	}
	fmt.Printf("worst=%d\n", int64(worst))
}

// TestSparseFileOver4GiB: a 5 GiB sparse file written on one client keeps
// its size and last bytes on another, and its holes stay holes on the
// server and in both caches.
func TestSparseFileOver4GiB(t *testing.T) {
	c := newCell(t)
	a, b := c.venus("a"), c.venus("b")
	const size = 5 << 30
	sh(t, fmt.Sprintf("truncate -s %d %s/sparse && printf 'head' | dd of=%s/sparse conv=notrunc status=none && "+
		"printf 'last' | dd of=%s/sparse bs=1 seek=%d conv=notrunc status=none", size, a, a, a, size-4))
	if got := strings.TrimSpace(sh(t, "stat -c %s "+b+"/sparse")); got != strconv.Itoa(size) {
		t.Fatalf("size on the other client: %s", got)
	}
	if got := sh(t, "tail -c 4 "+b+"/sparse"); got != "last" {
		t.Fatalf("last bytes on the other client: %q", got)
	}
	if got := sh(t, "head -c 4 "+b+"/sparse"); got != "head" {
		t.Fatalf("first bytes on the other client: %q", got)
	}
	for _, dir := range []string{filepath.Join(c.Data, "store"), filepath.Join(c.Dir, "a.cache"), filepath.Join(c.Dir, "b.cache")} {
		if n := allocated(t, dir); n > 64<<20 {
			t.Errorf("%s uses %d bytes for 8 bytes of data in a 5 GiB file", dir, n)
		}
	}
}

// TestCfsObjectAndServerInfo: cfs getfid, listvol, whereis and
// checkservers through the binary, with the server up and then down.
func TestCfsObjectAndServerInfo(t *testing.T) {
	c := newCell(t)
	v := c.Venus("a")
	sh(t, "echo x > "+v.Root+"/f")
	cfs := func(args ...string) bintest.Result {
		return bintest.Run(t, "", append([]string{"cfs"}, args...)...)
	}
	r := cfs("getfid", v.Root, v.Root+"/f")
	lines := strings.Split(strings.TrimSpace(r.Stdout), "\n")
	if r.Code != 0 || len(lines) != 2 || !strings.Contains(lines[0], " 7f000001.1.1@"+realm+" ") ||
		!regexp.MustCompile(`^\S+/f 7f000001\.[0-9a-f]+\.[0-9a-f]+@`+regexp.QuoteMeta(realm)+` \d+(,\d+){7} [0-9a-f]+\.[0-9a-f]+$`).MatchString(lines[1]) {
		t.Fatalf("cfs getfid: exit %d, %q, %q", r.Code, r.Stdout, r.Stderr)
	}
	sh(t, "mkdir -p "+v.Root+"/d/e && echo y > "+v.Root+"/d/e/g")
	r = cfs("getfid", v.Root+"/d/e/g")
	fid := strings.Fields(r.Stdout)[1]
	if r = cfs("getpath", "--mount", v.Mount, fid); r.Code != 0 || r.Stdout != strings.TrimSuffix(fid, "@"+realm)+" /d/e/g\n" {
		t.Fatalf("cfs getpath %s: exit %d, %q, %q", fid, r.Code, r.Stdout, r.Stderr)
	}
	if r = cfs("getpath", "--mount", v.Mount, "zz"); r.Code != 2 || !strings.Contains(r.Stderr, "bad FID") {
		t.Fatalf("cfs getpath zz: exit %d, %q", r.Code, r.Stderr)
	}
	r = cfs("lv", v.Root+"/f")
	if r.Code != 0 || !strings.Contains(r.Stdout, `named "coda.root"`) || !strings.Contains(r.Stdout, "replica 1 "+c.Addr+" 1000001 up") {
		t.Fatalf("cfs lv: exit %d, %q, %q", r.Code, r.Stdout, r.Stderr)
	}
	if r = cfs("whereis", v.Root+"/f"); r.Code != 0 || r.Stdout != v.Root+"/f "+c.Addr+"\n" {
		t.Fatalf("cfs whereis: exit %d, %q, %q", r.Code, r.Stdout, r.Stderr)
	}
	if r = cfs("cs", "--mount", v.Mount); r.Code != 0 || r.Stdout != "All servers up\n" {
		t.Fatalf("cfs cs: exit %d, %q, %q", r.Code, r.Stdout, r.Stderr)
	}
	c.Server.Stop()
	if r = cfs("cs", "--mount", v.Mount); r.Code != 1 || !strings.Contains(r.Stdout, "These servers still down:\n  ") || !strings.Contains(r.Stdout, c.Addr) {
		t.Fatalf("cfs cs with the server down: exit %d, %q, %q", r.Code, r.Stdout, r.Stderr)
	}
	if r = cfs("getfid", "/nonexistent"); r.Code != 1 || strings.Count(r.Stderr, "\n") != 1 {
		t.Fatalf("cfs getfid of a missing path: exit %d, %q", r.Code, r.Stderr)
	}
}

// TestCfsDisconnectReconnect: cfs disconnect cuts venus off (it works
// disconnected, cs reports the cut), reconnect restores service; only root
// may do either.
func TestCfsDisconnectReconnect(t *testing.T) {
	c := newCell(t)
	v := c.Venus("a")
	f := v.Root + "/f"
	sh(t, "echo before > "+f)
	cfs := func(stdinUser string, args ...string) (string, error) {
		cmd := exec.Command(bintest.Binary(t), append([]string{"cfs"}, args...)...)
		if stdinUser != "" {
			cmd = exec.Command("setpriv", append([]string{"--reuid=" + stdinUser, "--regid=" + stdinUser, "--clear-groups", bintest.Binary(t), "cfs"}, args...)...)
		}
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := cfs("65534", "disconnect", "--mount", v.Mount); err == nil || !strings.Contains(out, "root only") {
		t.Fatalf("cfs disconnect as nobody: %v %q", err, out)
	}
	if out, err := cfs("", "disconnect", "--mount", v.Mount); err != nil {
		t.Fatalf("cfs disconnect: %v %q", err, out)
	}
	if out, err := cfs("", "cs", "--mount", v.Mount); err == nil || !strings.Contains(out, "cfs disconnect") {
		t.Fatalf("cfs cs while cut off: %v %q", err, out)
	}
	// Cut off from every server, venus works disconnected: the new file
	// is logged, and sent when the servers are back.
	if out, err := exec.Command("sh", "-c", "echo during > "+v.Root+"/new && cat "+v.Root+"/new").CombinedOutput(); err != nil || string(out) != "during\n" {
		t.Fatalf("a create while cut off: %v %q", err, out)
	}
	if out, err := cfs("", "reconnect", "--mount", v.Mount); err != nil {
		t.Fatalf("cfs reconnect: %v %q", err, out)
	}
	if got := sh(t, "cat "+f+" && echo after > "+v.Root+"/new && cat "+v.Root+"/new"); got != "before\nafter\n" {
		t.Fatalf("after reconnect: %q", got)
	}
	if out, err := cfs("", "cs", "--mount", v.Mount); err != nil || out != "All servers up\n" {
		t.Fatalf("cfs cs after reconnect: %v %q", err, out)
	}
}

// The huge directory: hugeCreators processes make hugeEach files each.
const hugeCreators, hugeEach = 8, 12500

// createHuge makes dir and has the creators fill it; it returns how long
// the creates took.
func createHuge(t testing.TB, dir string) time.Duration {
	t.Helper()
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	var procs []*exec.Cmd
	for w := 0; w < hugeCreators; w++ {
		cmd := exec.Command("bash", "-c", fmt.Sprintf(
			`cd %q && for ((i = 0; i < %d; i++)); do : > "w%d-$i" || exit 1; done`, dir, hugeEach, w))
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		procs = append(procs, cmd)
	}
	for _, p := range procs {
		if err := p.Wait(); err != nil {
			t.Fatalf("creator: %v %s", err, p.Stderr)
		}
	}
	return time.Since(start)
}

// BenchmarkHugeDirectoryEightCreators: 8 creator processes make 100,000
// files in one directory through the mount (the bar: 90 s), beside the
// same on local disk.
//
//	go test -run '^$' -bench HugeDirectory -benchtime 1x ./client/e2e/   (make bench)
func BenchmarkHugeDirectoryEightCreators(b *testing.B) {
	c := newCell(b)
	root := c.Venus("a").Root
	local := createHuge(b, filepath.Join(b.TempDir(), "big"))
	b.ResetTimer()
	took := createHuge(b, filepath.Join(root, "big"))
	b.StopTimer()
	n := float64(hugeCreators * hugeEach)
	b.ReportMetric(n/took.Seconds(), "creates/s")
	b.Logf("%d files by %d creators: %v through the mount (%.0f creates/s; bar 90 s), %v on local disk (ratio %.1f×)",
		hugeCreators*hugeEach, hugeCreators, took.Round(time.Millisecond), n/took.Seconds(), local.Round(time.Millisecond),
		took.Seconds()/local.Seconds())
}
