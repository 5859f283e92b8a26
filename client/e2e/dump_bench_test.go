package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/coda-fs/coda/server/bintest"
)

// timed runs a shell command and returns how long it took.
func timed(b *testing.B, script string) time.Duration {
	b.Helper()
	start := time.Now()
	if out, err := exec.Command("bash", "-c", script).CombinedOutput(); err != nil {
		b.Fatalf("%s: %v\n%s", script, err, out)
	}
	return time.Since(start)
}

// dropCaches empties the page cache, so that reads come from the disk.
func dropCaches(b *testing.B) {
	b.Helper()
	exec.Command("sync").Run()
	if err := os.WriteFile("/proc/sys/vm/drop_caches", []byte("3"), 0o200); err != nil {
		b.Fatalf("drop caches (root needed): %v", err)
	}
}

// BenchmarkDumpThroughput: volutil dump of a backup holding DUMP_MB MiB of
// files (default 512, in 16 MiB files), against cat of the server's
// containers holding the same data, with the page cache cold and warm;
// and dump2tar of the dump file against cat of it. The bar: ≥ 0.8 of cat
// (the disk's sequential read bandwidth).
//
//	go test -run '^$' -bench DumpThroughput -benchtime 1x ./client/e2e/   (make bench)
func BenchmarkDumpThroughput(b *testing.B) {
	mb := envInt("DUMP_MB", 512)
	c := cell{bintest.NewCell(b, bintest.CellOptions{Realm: realm})}
	root := c.Venus("a").Root
	dir := filepath.Join(root, "data")
	os.Mkdir(dir, 0o755)
	chunk := make([]byte, 16<<20)
	for i := range chunk {
		chunk[i] = byte(i*7 + i>>12) // not all zeros: no holes
	}
	for i := 0; i < mb/16; i++ {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%03d", i)), chunk, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	c.Admin("volutil", "backup", "coda.root")
	bin := bintest.Binary(b)
	dump := fmt.Sprintf("%s volutil -h %s --key %s dump coda.root.backup", bin, c.Addr, c.KeyFile())
	containers := filepath.Join(c.Servers[0].Data, "store", "containers")
	catAll := "find " + containers + " -type f -size +1M -print0 | xargs -0 -r cat > /dev/null"
	if n := timed(b, fmt.Sprintf("test $(find %s -type f -size +1M | wc -l) -eq %d", containers, mb/16)); n < 0 {
		b.Fatal("unreachable")
	}
	file := filepath.Join(b.TempDir(), "full.dump")
	b.ResetTimer()
	var lines []string
	ratio := func(what string, cat, tool time.Duration) float64 {
		r := cat.Seconds() / tool.Seconds()
		lines = append(lines, fmt.Sprintf("%-22s cat %6.0f MB/s   coda %6.0f MB/s   ratio %.2f (bar ≥ 0.8)", what,
			float64(mb)*1.048576/cat.Seconds(), float64(mb)*1.048576/tool.Seconds(), r))
		return r
	}
	dropCaches(b)
	catCold := timed(b, catAll)
	dropCaches(b)
	dumpCold := timed(b, dump+" > /dev/null")
	catWarm := timed(b, catAll)
	dumpWarm := timed(b, dump+" > /dev/null")
	timed(b, dump+" > "+file) // for dump2tar
	dropCaches(b)
	catFileCold := timed(b, "cat "+file+" > /dev/null")
	dropCaches(b)
	tarCold := timed(b, bin+" dump2tar -f "+file+" -o /dev/null")
	catFileWarm := timed(b, "cat "+file+" > /dev/null")
	tarWarm := timed(b, bin+" dump2tar -f "+file+" -o /dev/null")
	b.StopTimer()
	b.ReportMetric(ratio("dump, cold cache", catCold, dumpCold), "dump-cold-ratio")
	b.ReportMetric(ratio("dump, warm cache", catWarm, dumpWarm), "dump-warm-ratio")
	b.ReportMetric(ratio("dump2tar, cold cache", catFileCold, tarCold), "dump2tar-cold-ratio")
	b.ReportMetric(ratio("dump2tar, warm cache", catFileWarm, tarWarm), "dump2tar-warm-ratio")
	for _, l := range lines {
		b.Log(l)
	}
}
