package store

import (
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
)

// faultFS wraps an in-memory FS with an injector that fails operations of
// the given kinds on paths containing `match` (or, for a match ending in
// "$", on paths ending in it), while armed.
type faultFS struct {
	*errorfs.FS
	mem   *vfs.MemFS
	armed atomic.Bool
	hits  atomic.Int64
}

func newFaultFS(match string, kinds ...errorfs.OpKind) *faultFS {
	f := &faultFS{mem: vfs.NewMem()}
	f.FS = errorfs.Wrap(f.mem, errorfs.InjectorFunc(func(op errorfs.Op) error {
		if !f.armed.Load() || !pathMatches(op.Path, match) {
			return nil
		}
		for _, k := range kinds {
			if op.Kind == k {
				f.hits.Add(1)
				return errorfs.ErrInjected
			}
		}
		return nil
	}))
	return f
}

func pathMatches(path, match string) bool {
	if suffix, ok := strings.CutSuffix(match, "$"); ok {
		return strings.HasSuffix(path, suffix)
	}
	return strings.Contains(path, match)
}

func openFault(t *testing.T, f *faultFS) *DB {
	t.Helper()
	return mustOpen(t, Options{FS: f, Dir: "/s", Logger: testLogger(t)})
}

// commitContainer writes and commits a small container.
func commitContainer(db *DB, data string) (ContainerID, error) {
	w, err := db.NewContainer()
	if err != nil {
		return 0, err
	}
	defer w.Abort()
	if _, err := w.Write([]byte(data)); err != nil {
		return 0, err
	}
	return w.Commit()
}

// containerFiles counts committed container files and tmp files.
func containerFiles(t *testing.T, db *DB) (committed, tmp int) {
	t.Helper()
	err := db.eachContainer(func(string, string, ContainerID) error { committed++; return nil })
	if err != nil {
		t.Fatal(err)
	}
	return committed, len(listFiles(t, db.fs, db.tmpDir()))
}

// A failure writing, syncing or renaming one container fails its Commit,
// leaves no file behind, and does not harm later containers.
func TestContainerFaultsFailCommit(t *testing.T) {
	cases := map[string]struct {
		match string
		kinds []errorfs.OpKind
	}{
		"write":  {"/containers/tmp/", []errorfs.OpKind{errorfs.OpFileWrite, errorfs.OpFileWriteAt}},
		"sync":   {"/containers/tmp/", []errorfs.OpKind{errorfs.OpFileSync, errorfs.OpFileSyncData}},
		"rename": {"/containers/tmp/", []errorfs.OpKind{errorfs.OpRename}},
		"create": {"/containers/tmp/", []errorfs.OpKind{errorfs.OpCreate}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			f := newFaultFS(c.match, c.kinds...)
			db := openFault(t, f)
			f.armed.Store(true)
			id, err := commitContainer(db, "data")
			if err == nil || !errors.Is(err, errorfs.ErrInjected) || f.hits.Load() == 0 {
				t.Fatalf("Commit = %s, %v with the fault armed (%d hits); want the injected error", id, err, f.hits.Load())
			}
			if committed, tmp := containerFiles(t, db); committed != 0 || tmp != 0 {
				t.Fatalf("a failed commit left %d containers and %d tmp files", committed, tmp)
			}
			f.armed.Store(false)
			if _, err := commitContainer(db, "later"); err != nil {
				t.Fatalf("a commit after the fault cleared: %v", err)
			}
		})
	}
}

// A failed directory sync fails every commit waiting on it and puts the
// store in the failed state.
func TestDirectorySyncFaultFailsTheStore(t *testing.T) {
	f := newFaultFS("/s/containers/00$", errorfs.OpFileSync)
	db := openFault(t, f)
	id, err := commitContainer(db, "before")
	if err != nil {
		t.Fatal(err)
	}
	if dir := db.fanoutDir(id); dir != "/s/containers/00" {
		t.Fatalf("first container went to %s; the test expects /s/containers/00", dir)
	}
	f.armed.Store(true)
	if err := parallel(8, 1, func(g, _ int) error {
		if id, err := commitContainer(db, fmt.Sprint(g)); err == nil {
			return fmt.Errorf("Commit succeeded (id %s) while directory syncs fail", id)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	f.armed.Store(false)
	if _, err := commitContainer(db, "after"); !errors.Is(err, ErrFailed) {
		t.Fatalf("Commit on a failed store: %v, want ErrFailed", err)
	}
	b := db.NewBatch()
	b.Set([]byte("k"), []byte("v"))
	if err := db.Commit(b); !errors.Is(err, ErrFailed) {
		t.Fatalf("batch Commit on a failed store: %v, want ErrFailed", err)
	}
	if _, err := readContainer(db, id, 6); err != nil {
		t.Fatalf("reads should still work on a failed store: %v", err)
	}
}

// A failed WAL write or sync makes every Commit waiting on it fail; none
// reports success, and the store refuses writes afterwards.
func TestWALFaultsFailCommit(t *testing.T) {
	for name, kinds := range map[string][]errorfs.OpKind{
		"sync":  {errorfs.OpFileSync, errorfs.OpFileSyncData, errorfs.OpFileSyncTo},
		"write": {errorfs.OpFileWrite, errorfs.OpFileWriteAt},
	} {
		t.Run(name, func(t *testing.T) {
			f := newFaultFS(".log", kinds...)
			db := openFault(t, f)
			put(t, db, "before", "1")
			f.armed.Store(true)
			var ok atomic.Int64
			_ = parallel(16, 4, func(g, i int) error {
				b := db.NewBatch()
				b.Set(fmt.Appendf(nil, "k%d/%d", g, i), []byte("v"))
				if db.Commit(b) == nil {
					ok.Add(1)
				}
				return nil
			})
			if ok.Load() != 0 || f.hits.Load() == 0 {
				t.Fatalf("%d commits reported success while WAL %s fails (%d faults injected)", ok.Load(), name, f.hits.Load())
			}
			if got := mustGet(t, db, "before"); got != "1" {
				t.Fatalf("earlier data lost: %q", got)
			}
		})
	}
}
