package store

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

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

// While one WAL sync is in progress, every batch committed meanwhile queues
// behind it and one further sync covers them all.
func TestConcurrentCommitsShareWALSyncs(t *testing.T) {
	const n = 64
	fs := &gateFS{FS: vfs.NewMem(), match: ".log", gate: make(chan struct{})}
	db := mustOpen(t, Options{FS: fs, Dir: "/s"})
	put(t, db, "warm", "up")
	errs := make(chan error, n)
	commit := func(i int) {
		b := db.NewBatch()
		b.Set(fmt.Appendf(nil, "key%03d", i), []byte("v"))
		errs <- db.Commit(b)
	}
	before := fs.syncs.Load()
	fs.arm()
	go commit(0) // its sync blocks at the gate
	waitFor(t, "the first WAL sync", func() bool { return fs.syncs.Load() > before })
	bytesIn := db.pdb.Metrics().WAL.BytesIn
	for i := 1; i < n; i++ {
		go commit(i)
	}
	sample := db.NewBatch()
	sample.Set([]byte("key000"), []byte("v"))
	size := uint64(sample.Len())
	sample.Close()
	waitFor(t, "every batch to reach the WAL", func() bool {
		return db.pdb.Metrics().WAL.BytesIn-bytesIn >= (n-1)*size
	})
	close(fs.gate)
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d concurrent commits made %d WAL syncs", n, fs.syncs.Load()-before)
	if got := fs.syncs.Load() - before; got > 3 {
		t.Fatalf("%d concurrent commits made %d WAL syncs, want 2 (3 at most)", n, got)
	}
	if got := len(keys(t, db, "key", "kez")); got != n {
		t.Fatalf("%d keys committed, want %d", got, n)
	}
}

// gateFS counts syncs of files and directories whose path ends in match;
// while armed, those syncs wait until the gate is closed.
type gateFS struct {
	vfs.FS
	match string
	gate  chan struct{}
	armed atomic.Bool
	syncs atomic.Int64
}

func (fs *gateFS) arm() { fs.armed.Store(true) }

func (fs *gateFS) wrap(name string, f vfs.File, err error) (vfs.File, error) {
	if err != nil || !strings.HasSuffix(name, fs.match) {
		return f, err
	}
	return &gateFile{File: f, fs: fs}, nil
}

func (fs *gateFS) OpenDir(name string) (vfs.File, error) {
	f, err := fs.FS.OpenDir(name)
	return fs.wrap(name, f, err)
}

func (fs *gateFS) Create(name string, c vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.Create(name, c)
	return fs.wrap(name, f, err)
}

func (fs *gateFS) ReuseForWrite(old, name string, c vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.ReuseForWrite(old, name, c)
	return fs.wrap(name, f, err)
}

type gateFile struct {
	vfs.File
	fs *gateFS
}

func (f *gateFile) wait() {
	f.fs.syncs.Add(1)
	if f.fs.armed.Load() {
		<-f.fs.gate
	}
}

func (f *gateFile) Sync() error     { f.wait(); return f.File.Sync() }
func (f *gateFile) SyncData() error { f.wait(); return f.File.SyncData() }
func (f *gateFile) SyncTo(n int64) (bool, error) {
	f.wait()
	return f.File.SyncTo(n)
}

// While one directory sync is in progress, every container commit that
// arrives queues behind it, and a single further sync covers them all.
func TestConcurrentContainerCommitsShareDirectorySyncs(t *testing.T) {
	const n = 64
	fs := &gateFS{FS: vfs.NewMem(), match: "/s/containers/00", gate: make(chan struct{})}
	db := mustOpen(t, Options{FS: fs, Dir: "/s"})
	if dir := db.fanoutDir(ContainerID(seqID(db.ids.peek() + n))); dir != fs.match {
		t.Fatalf("the test's containers would not all share %s", fs.match)
	}
	fs.arm()
	errs := make(chan error, n)
	for range n {
		go func() {
			_, err := commitContainer(db, "data")
			errs <- err
		}()
	}
	waitFor(t, "every commit to wait for a directory sync", func() bool {
		db.dirs.mu.Lock()
		defer db.dirs.mu.Unlock()
		return db.dirs.waiting == n
	})
	close(fs.gate)
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if got := fs.syncs.Load(); got != 2 {
		t.Fatalf("%d container commits made %d directory syncs, want 2", n, got)
	}
}

// waitFor polls cond until it holds, failing the test after 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		runtime.Gosched()
	}
}
