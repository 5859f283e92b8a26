package store

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// syncCountFS counts syncs of Pebble's WAL files and of directories.
type syncCountFS struct {
	vfs.FS
	walSyncs atomic.Int64
	dirSyncs atomic.Int64
}

func (fs *syncCountFS) Unwrap() vfs.FS { return fs.FS }

func (fs *syncCountFS) wrap(f vfs.File, err error, counter *atomic.Int64) (vfs.File, error) {
	if err != nil {
		return nil, err
	}
	return &syncCountFile{File: f, n: counter}, nil
}

func (fs *syncCountFS) counterFor(name string) *atomic.Int64 {
	if strings.HasSuffix(name, ".log") {
		return &fs.walSyncs
	}
	return nil
}

func (fs *syncCountFS) Create(name string, c vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.Create(name, c)
	return fs.wrap(f, err, fs.counterFor(name))
}

func (fs *syncCountFS) OpenReadWrite(name string, c vfs.DiskWriteCategory, o ...vfs.OpenOption) (vfs.File, error) {
	f, err := fs.FS.OpenReadWrite(name, c, o...)
	return fs.wrap(f, err, fs.counterFor(name))
}

func (fs *syncCountFS) ReuseForWrite(old, name string, c vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.ReuseForWrite(old, name, c)
	return fs.wrap(f, err, fs.counterFor(name))
}

func (fs *syncCountFS) OpenDir(name string) (vfs.File, error) {
	f, err := fs.FS.OpenDir(name)
	return fs.wrap(f, err, &fs.dirSyncs)
}

type syncCountFile struct {
	vfs.File
	n *atomic.Int64 // nil: not counted
}

func (f *syncCountFile) count() {
	if f.n != nil {
		f.n.Add(1)
	}
}

func (f *syncCountFile) Sync() error     { f.count(); return f.File.Sync() }
func (f *syncCountFile) SyncData() error { f.count(); return f.File.SyncData() }
func (f *syncCountFile) SyncTo(n int64) (bool, error) {
	f.count()
	return f.File.SyncTo(n)
}

// parallel runs fn(g, i) for i < perG in each of g goroutines, started
// together.
func parallel(g, perG int, fn func(g, i int) error) error {
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make(chan error, g)
	for gi := range g {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for i := range perG {
				if err := fn(gi, i); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	return <-errs
}

func TestConcurrentCommitsShareWALSyncs(t *testing.T) {
	fs := &syncCountFS{FS: vfs.Default}
	db := mustOpen(t, Options{FS: fs, Dir: t.TempDir()})
	commit := func(g, i int) error {
		b := db.NewBatch()
		b.Set(fmt.Appendf(nil, "g%d/%d", g, i), []byte("v"))
		return db.Commit(b)
	}
	// One goroutine: every commit syncs (this shows the counter counts).
	before := fs.walSyncs.Load()
	if err := parallel(1, 20, commit); err != nil {
		t.Fatal(err)
	}
	if n := fs.walSyncs.Load() - before; n < 20 {
		t.Fatalf("20 sequential commits made %d WAL syncs, want at least 20", n)
	}
	const g, perG = 64, 10
	before = fs.walSyncs.Load()
	if err := parallel(g, perG, commit); err != nil {
		t.Fatal(err)
	}
	n := fs.walSyncs.Load() - before
	t.Logf("%d parallel commits made %d WAL syncs", g*perG, n)
	if n > g*perG/4 {
		t.Fatalf("%d parallel commits made %d WAL syncs; group commit should need far fewer", g*perG, n)
	}
}

func TestConcurrentContainerCommitsShareDirectorySyncs(t *testing.T) {
	fs := &syncCountFS{FS: vfs.Default}
	db := mustOpen(t, Options{FS: fs, Dir: t.TempDir()})
	const g, perG = 64, 4
	before := fs.dirSyncs.Load()
	err := parallel(g, perG, func(g, i int) error {
		w, err := db.NewContainer()
		if err != nil {
			return err
		}
		defer w.Abort()
		if _, err := w.Write(fmt.Appendf(nil, "%d/%d", g, i)); err != nil {
			return err
		}
		_, err = w.Commit()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	n := fs.dirSyncs.Load() - before
	t.Logf("%d parallel container commits made %d directory syncs", g*perG, n)
	if n > g*perG/2 {
		t.Fatalf("%d parallel container commits made %d directory syncs; want far fewer", g*perG, n)
	}
}
