package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/coda-fs/coda/server/bintest"
)

// BenchmarkReintegration measures disconnected operation on loopback with
// three replicas: the rate of metadata operations a disconnected client
// takes (creates, chmods, renames of empty files, REINT_FILES of each, all
// logged), the same operations on local disk, and the time the log takes
// to reach the servers once the client reconnects. The client is warm: a
// first burst of new files grew its pool of spare containers. The bars: ≥ 10,000
// metadata operations per second disconnected; a 10,000-record log
// reintegrated in < 2 s.
//
//	go test -run '^$' -bench Reintegration -benchtime 1x ./client/e2e/   (make bench)
func BenchmarkReintegration(b *testing.B) {
	n := envInt("REINT_FILES", 3334) // three records each: about 10,000
	c := cell{bintest.NewCell(b, bintest.CellOptions{Realm: realm, Servers: 3})}
	v := c.Venus("a")
	dir := filepath.Join(v.Root, "spool")
	if err := os.Mkdir(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "seed"), nil, 0o644); err != nil { // FIDs reserved
		b.Fatal(err)
	}
	work := func(dir string) (time.Duration, error) {
		start := time.Now()
		for i := range n {
			p := fmt.Sprintf("%s/f%05d", dir, i)
			f, err := os.Create(p)
			if err != nil {
				return 0, err
			}
			f.Close()
			if err := os.Chmod(p, 0o600); err != nil {
				return 0, err
			}
			if err := os.Rename(p, p+".done"); err != nil {
				return 0, err
			}
		}
		return time.Since(start), nil
	}
	drain := func() time.Duration {
		start := time.Now()
		for logged(b, mustRun(b, "cfs", "lv", v.Root).Stdout) != 0 {
			if time.Since(start) > 5*time.Minute {
				b.Fatal("the log did not drain in 5 minutes")
			}
			time.Sleep(20 * time.Millisecond) // poll: reintegration runs by itself
		}
		return time.Since(start)
	}
	// A client that has been running: a first disconnected burst of new
	// files grows venus's pool of spare containers, and the run starts
	// once the pool is full again.
	warm := filepath.Join(v.Root, "warm")
	if err := os.Mkdir(warm, 0o755); err != nil {
		b.Fatal(err)
	}
	mustRun(b, "cfs", "disconnect", "--mount", v.Mount)
	if _, err := work(warm); err != nil {
		b.Fatal(err)
	}
	mustRun(b, "cfs", "reconnect", "--mount", v.Mount)
	drain()
	if err := os.RemoveAll(warm); err != nil {
		b.Fatal(err)
	}
	spares := func() int {
		ents, _ := os.ReadDir(filepath.Join(c.VenusCache("a"), "containers"))
		n := 0
		for _, e := range ents {
			if info, err := e.Info(); err == nil && info.Size() == 0 {
				n++
			}
		}
		return n
	}
	for deadline := time.Now().Add(time.Minute); spares() < n; {
		if time.Now().After(deadline) {
			b.Fatalf("venus has %d spare containers a minute after the warm-up, want %d", spares(), n)
		}
		time.Sleep(100 * time.Millisecond) // poll: the pool refills in the background
	}
	local := b.TempDir()
	localTook, err := work(local)
	if err != nil {
		b.Fatal(err)
	}
	mustRun(b, "cfs", "disconnect", "--mount", v.Mount)
	b.ResetTimer()
	took, err := work(dir)
	if err != nil {
		b.Fatal(err)
	}
	records := logged(b, mustRun(b, "cfs", "lv", v.Root).Stdout)
	start := time.Now()
	mustRun(b, "cfs", "reconnect", "--mount", v.Mount)
	drain()
	reint := time.Since(start)
	b.StopTimer()
	ops := float64(3 * n)
	b.ReportMetric(ops/took.Seconds(), "disconnected-ops/s")
	b.ReportMetric(float64(records)/reint.Seconds(), "reintegrated-records/s")
	b.Logf("%d metadata operations disconnected in %v: %.0f ops/s (local disk: %v, %.0f ops/s, ratio %.1f×); "+
		"%d records reintegrated in %v (%.0f records/s; bars: ≥ 10,000 ops/s, 10,000 records < 2 s)",
		3*n, took.Round(time.Millisecond), ops/took.Seconds(), localTook.Round(time.Millisecond), ops/localTook.Seconds(),
		took.Seconds()/localTook.Seconds(), records, reint.Round(time.Millisecond), float64(records)/reint.Seconds())
}
