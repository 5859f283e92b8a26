package volume

import (
	"fmt"
	"testing"
	"time"

	"github.com/coda-fs/coda/server/proto"
	"github.com/coda-fs/coda/server/store"
)

// BenchmarkClone100k: a clone of a volume of 100,000 files (in 100
// directories, 4 KiB of inline data each: the worst case, since a clone
// copies metadata only) — how long it takes (bar: ≤ 10 s) and what it
// costs: the bytes of the store's files holding its keys, after
// compaction, per vnode and as a share of the file data (bar: < 1%).
//
//	go test -run '^$' -bench Clone100k -benchtime 1x ./server/volume/
func BenchmarkClone100k(b *testing.B) {
	db, err := store.Open(store.Options{Dir: b.TempDir(), NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	set, err := Open(db, nil)
	if err != nil {
		b.Fatal(err)
	}
	v, _ := set.Create("big", 0, 0, 0, nil)
	r := v.Info().Root
	data := make([]byte, 4096)
	const dirs, per = 100, 1000
	for d := range dirs {
		_, dir, _, err := v.Create(root, CreateArgs{Dir: r, Name: fmt.Sprintf("d%03d", d), Type: proto.TypeDir, Mode: 0o755})
		if err != nil {
			b.Fatal(err)
		}
		for f := range per {
			_, a, _, err := v.Create(root, CreateArgs{Dir: dir.FID, Name: fmt.Sprintf("file-%05d.html", f), Type: proto.TypeFile, Mode: 0o644})
			if err != nil {
				b.Fatal(err)
			}
			if _, _, err := v.Store(root, StoreArgs{FID: a.FID, Inline: data, Size: int64(len(data)), Blocks: 4096}); err != nil {
				b.Fatal(err)
			}
		}
	}
	files := int64(dirs * per)
	if err := db.Compact(); err != nil {
		b.Fatal(err)
	}
	before, _ := db.DiskUsage()
	b.ResetTimer()
	start := time.Now()
	c, err := set.Clone(v.ID(), "big.backup", 0, 0, proto.VolBackup, nil, 0)
	if err != nil {
		b.Fatal(err)
	}
	took := time.Since(start)
	b.StopTimer()
	if err := db.Compact(); err != nil {
		b.Fatal(err)
	}
	after, _ := db.DiskUsage()
	var grew int64
	for _, pfx := range volumePrefixes {
		p := volPrefix(pfx, c.ID())
		n, err := db.EstimateDiskUsage(p, prefixEnd(p))
		if err != nil {
			b.Fatal(err)
		}
		grew += int64(n)
	}
	dataBytes := files * int64(len(data))
	b.ReportMetric(took.Seconds(), "clone-s")
	b.ReportMetric(float64(grew)/float64(files+dirs+1), "bytes/vnode")
	b.ReportMetric(100*float64(grew)/float64(dataBytes), "%-of-data")
	b.Logf("clone of %d files in %d directories: %v (bar ≤ 10 s); metadata grew %d bytes: %.0f bytes per vnode, %.2f%% of the %d bytes of file data (bar < 1%%); containers: %d → %d",
		files, dirs, took.Round(time.Millisecond), grew, float64(grew)/float64(files+dirs+1), 100*float64(grew)/float64(dataBytes), dataBytes, before.Containers, after.Containers)
}
