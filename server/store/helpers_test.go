package store

import (
	"bytes"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// testLogger logs warnings and errors to the test's log.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// openMem opens a store on a fresh in-memory FS.
func openMem(t testing.TB) *DB {
	t.Helper()
	return mustOpen(t, Options{FS: vfs.NewMem(), Dir: "/store", Logger: testLogger(t)})
}

// openDisk opens a store in a fresh temporary directory.
func openDisk(t testing.TB) *DB {
	t.Helper()
	return mustOpen(t, Options{Dir: t.TempDir(), Logger: testLogger(t)})
}

func mustOpen(t testing.TB, opts Options) *DB {
	t.Helper()
	db, err := Open(opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// put commits one Set.
func put(t testing.TB, db *DB, key, value string) {
	t.Helper()
	b := db.NewBatch()
	b.Set([]byte(key), []byte(value))
	if err := db.Commit(b); err != nil {
		t.Fatalf("Commit: %v", err)
	}
}

// mustGet returns key's value, failing the test if it is missing.
func mustGet(t testing.TB, r Reader, key string) string {
	t.Helper()
	v, err := r.Get([]byte(key))
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	return string(v)
}

// keys lists the keys in [lower, upper).
func keys(t testing.TB, r Reader, lower, upper string) []string {
	t.Helper()
	var lo, hi []byte
	if lower != "" {
		lo = []byte(lower)
	}
	if upper != "" {
		hi = []byte(upper)
	}
	it, err := r.NewIter(lo, hi)
	if err != nil {
		t.Fatalf("NewIter: %v", err)
	}
	var out []string
	for it.First(); it.Valid(); it.Next() {
		out = append(out, string(it.Key()))
	}
	if err := it.Close(); err != nil {
		t.Fatalf("iterator: %v", err)
	}
	return out
}

// writeContainer commits a container with data at offset 0 and the given
// logical size.
func writeContainer(t testing.TB, db *DB, data []byte, logical int64) ContainerID {
	t.Helper()
	w, err := db.NewContainer()
	if err != nil {
		t.Fatalf("NewContainer: %v", err)
	}
	defer w.Abort()
	if _, err := w.WriteAt(data, 0); err != nil {
		t.Fatalf("WriteAt: %v", err)
	}
	if err := w.Finish(logical); err != nil {
		t.Fatalf("Finish: %v", err)
	}
	id, err := w.Commit()
	if err != nil {
		t.Fatalf("Commit: %v", err)
	}
	return id
}

// readContainer returns the container's contents as a file of `logical`
// bytes.
func readContainer(db *DB, id ContainerID, logical int64) ([]byte, error) {
	c, err := db.OpenContainer(id)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, c.NewReader(logical)); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// listFiles lists dir, failing the test on error.
func listFiles(t testing.TB, fs vfs.FS, dir string) []string {
	t.Helper()
	names, err := fs.List(dir)
	if err != nil {
		t.Fatalf("List(%s): %v", dir, err)
	}
	return names
}
