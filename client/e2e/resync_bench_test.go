package e2e

import (
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/coda-fs/coda/server/bintest"
)

// BenchmarkResync measures volutil resync rebuilding a replica from
// scratch (server 3's disk lost, create_rep, resync from server 1) on
// loopback, for many small files and for a few large ones, and the same
// copy on local disk (cp -a then sync) for the ratio. The bars: ≥ 5,000
// small files/s and ≥ 200 MB/s of large files.
//
//	go test -run '^$' -bench Resync -benchtime 1x ./client/e2e/   (make bench)
//
// RESYNC_SMALL (default 10000 files of 1–4 KiB) and RESYNC_LARGE_MB
// (default 1024, in 64 MiB files) size the trees.
func BenchmarkResync(b *testing.B) {
	small := envInt("RESYNC_SMALL", 10000)
	largeMB := envInt("RESYNC_LARGE_MB", 1024)
	b.Run("small", func(b *testing.B) {
		benchResync(b, func(dir string) (int, int64) {
			var bytes int64
			for i := range small {
				d := filepath.Join(dir, fmt.Sprintf("d%03d", i%100))
				if i < 100 {
					if err := os.MkdirAll(d, 0o755); err != nil {
						b.Fatal(err)
					}
				}
				data := make([]byte, 1024+i%3072)
				rand.Read(data)
				if err := os.WriteFile(filepath.Join(d, fmt.Sprintf("f%05d", i)), data, 0o644); err != nil {
					b.Fatal(err)
				}
				bytes += int64(len(data))
			}
			return small + 100, bytes
		})
	})
	b.Run("large", func(b *testing.B) {
		benchResync(b, func(dir string) (int, int64) {
			n := max(largeMB/64, 1)
			data := make([]byte, 64<<20)
			for i := range n {
				rand.Read(data)
				if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("big%02d", i)), data, 0o644); err != nil {
					b.Fatal(err)
				}
			}
			return n, int64(n) * int64(len(data))
		})
	})
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// benchResync fills a three-replica volume with fill (through a mount, and
// the same on local disk), rebuilds server 3 with resync and reports the
// rates next to cp -a on local disk.
func benchResync(b *testing.B, fill func(dir string) (objects int, bytes int64)) {
	c := cell{bintest.NewCell(b, bintest.CellOptions{Realm: realm, Servers: 3})}
	v := c.Venus("a")
	objects, bytes := fill(filepath.Join(v.Root))
	local := b.TempDir()
	src := filepath.Join(local, "src")
	if err := os.MkdirAll(src, 0o755); err != nil {
		b.Fatal(err)
	}
	fill(src)
	exec.Command("sync").Run()

	s3 := c.Servers[2]
	s3.Proc.Kill()
	if err := os.RemoveAll(s3.Data); err != nil {
		b.Fatal(err)
	}
	c.InitServer(3)
	c.StartServer(3)
	ca := filepath.Join(c.Data, "db", "ca.pem")
	volutil := func(host string, args ...string) bintest.Result {
		return bintest.Run(b, "", append([]string{"volutil", "-h", host, "--key", c.KeyFile(), "--ca", ca}, args...)...)
	}
	if r := volutil(s3.Addr, "create_rep", "coda.root", "7f000001", "3000001"); r.Code != 0 {
		b.Fatalf("create_rep: %s", r.Stderr)
	}
	b.ResetTimer()
	start := time.Now()
	r := volutil(c.Addr, "resync", "coda.root")
	took := time.Since(start)
	b.StopTimer()
	if r.Code != 0 {
		b.Fatalf("resync: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	m := regexp.MustCompile(`\((\d+) objects copied`).FindStringSubmatch(r.Stdout)
	if m == nil || m[1] == "0" {
		b.Fatalf("resync copied nothing:\n%s", r.Stdout)
	}

	if c.vnodeLines(b, 1) != c.vnodeLines(b, 3) {
		b.Fatal("after resync server 3's replica differs from server 1's")
	}

	start = time.Now()
	if out, err := exec.Command("sh", "-c", "cp -a "+src+" "+filepath.Join(local, "dst")+" && sync").CombinedOutput(); err != nil {
		b.Fatalf("cp -a: %v\n%s", err, out)
	}
	cp := time.Since(start)

	secs := took.Seconds()
	b.ReportMetric(float64(objects)/secs, "objects/s")
	b.ReportMetric(float64(bytes)/1e6/secs, "MB/s")
	b.ReportMetric(cp.Seconds()/secs, "x-local-cp")
	b.Logf("resync of %d objects, %.1f MB: %v (%.0f objects/s, %.1f MB/s); cp -a on local disk %v (%.0f objects/s, %.1f MB/s); resync/cp speed ratio %.2f",
		objects, float64(bytes)/1e6, took.Round(time.Millisecond), float64(objects)/secs, float64(bytes)/1e6/secs,
		cp.Round(time.Millisecond), float64(objects)/cp.Seconds(), float64(bytes)/1e6/cp.Seconds(), cp.Seconds()/secs)
}
