package store

import (
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// BenchmarkStoreFile measures the server's store path on a real directory:
// write a 4 KiB container, commit it, commit the metadata batch that
// references it, remove the container it replaces — from 1, 8 and 64
// goroutines. It reports files/s and the WAL and directory syncs per file
// (group commit shows as fewer than one each).
//
//	go test -run '^$' -bench StoreFile -benchtime 2000x ./server/store/
func BenchmarkStoreFile(b *testing.B) {
	for _, g := range []int{1, 8, 64} {
		b.Run(fmt.Sprintf("goroutines=%d", g), func(b *testing.B) {
			fs := &syncCountFS{FS: vfs.Default}
			db, err := Open(Options{FS: fs, Dir: b.TempDir()})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			data := make([]byte, 4096)
			var next atomic.Int64
			var wg sync.WaitGroup
			wal0, dir0 := fs.walSyncs.Load(), fs.dirSyncs.Load()
			b.ResetTimer()
			start := time.Now()
			for gi := range g {
				wg.Add(1)
				go func() {
					defer wg.Done()
					var old ContainerID
					for next.Add(1) <= int64(b.N) {
						id, err := storeFile(db, gi, data, old)
						if err != nil {
							b.Error(err)
							return
						}
						old = id
					}
				}()
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			n := float64(b.N)
			b.ReportMetric(n/elapsed.Seconds(), "files/s")
			b.ReportMetric(float64(fs.walSyncs.Load()-wal0)/n, "walsyncs/file")
			b.ReportMetric(float64(fs.dirSyncs.Load()-dir0)/n, "dirsyncs/file")
		})
	}
}

// storeFile is one file update in the documented crash-safe order.
func storeFile(db *DB, key int, data []byte, old ContainerID) (ContainerID, error) {
	w, err := db.NewContainer()
	if err != nil {
		return 0, err
	}
	defer w.Abort()
	if _, err := w.WriteAt(data, 0); err != nil {
		return 0, err
	}
	id, err := w.Commit()
	if err != nil {
		return 0, err
	}
	b := db.NewBatch()
	b.Set(binary.BigEndian.AppendUint64(nil, uint64(key)), binary.BigEndian.AppendUint64(nil, uint64(id)))
	if err := db.Commit(b); err != nil {
		return 0, err
	}
	return id, db.RemoveContainer(old)
}
