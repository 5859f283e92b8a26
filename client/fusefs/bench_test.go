package fusefs_test

import (
	"fmt"
	"os"
	"sync/atomic"
	"testing"

	"github.com/coda-fs/coda/client/venustest"
)

var benchDirs atomic.Int64

// makeSmall writes n files of 4 KiB in a new directory with one shell (as
// fsbench's small_create does) and returns the directory.
func makeSmall(b *testing.B, v *venustest.Venus, n int) string {
	dir := v.Path(fmt.Sprintf("small%d", benchDirs.Add(1)))
	venustest.Sh(b, fmt.Sprintf(`bash -c 'mkdir %[1]s && blk=$(head -c 4096 /dev/zero | tr "\0" x) &&
		for ((i = 0; i < %[2]d; i++)); do printf "%%s" "$blk" > %[1]s/f$i; done'`, dir, n))
	return dir
}

// BenchmarkSmallCreate and BenchmarkSmallDelete time fsbench's small-file
// phases (per file) through an in-process venus and server, so that a
// -cpuprofile covers both.
func BenchmarkSmallCreate(b *testing.B) {
	srv := venustest.NewServer(b)
	v := venustest.Start(b, srv, venustest.Options{})
	b.ResetTimer()
	makeSmall(b, v, b.N)
}

func BenchmarkSmallDelete(b *testing.B) {
	srv := venustest.NewServer(b)
	v := venustest.Start(b, srv, venustest.Options{})
	b.StopTimer()
	dir := makeSmall(b, v, b.N)
	b.StartTimer()
	venustest.Sh(b, "rm -rf "+dir)
}

// BenchmarkDisconnectedOps times, per file, the metadata operations of
// BenchmarkReintegration (create and close, chmod, rename) with the server
// gone: each is applied to the cache and logged. In process, so that a
// -cpuprofile covers venus.
func BenchmarkDisconnectedOps(b *testing.B) {
	srv := venustest.NewServer(b)
	v := venustest.Start(b, srv, venustest.Options{})
	dir := v.Path("spool")
	venustest.Sh(b, fmt.Sprintf("mkdir %[1]s && touch %[1]s/seed", dir)) // FIDs reserved
	srv.Stop()
	waitFor(b, "venus to notice the server is gone", func() bool { return !v.Core.Connected() })
	b.ResetTimer()
	for i := range b.N {
		p := fmt.Sprintf("%s/f%06d", dir, i)
		f, err := os.Create(p)
		if err != nil {
			b.Fatal(err)
		}
		f.Close()
		if err := os.Chmod(p, 0o600); err != nil {
			b.Fatal(err)
		}
		if err := os.Rename(p, p+".done"); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(3*float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}
