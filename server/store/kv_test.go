package store

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
)

func TestGetSetDelete(t *testing.T) {
	db := openMem(t)
	if _, err := db.Get([]byte("a")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get of a missing key: got %v, want ErrNotFound", err)
	}
	put(t, db, "a", "1")
	if got := mustGet(t, db, "a"); got != "1" {
		t.Fatalf("Get = %q, want 1", got)
	}
	put(t, db, "a", "2")
	if got := mustGet(t, db, "a"); got != "2" {
		t.Fatalf("Get after overwrite = %q, want 2", got)
	}
	b := db.NewBatch()
	b.Delete([]byte("a"))
	if err := db.Commit(b); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Get([]byte("a")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get after Delete: got %v, want ErrNotFound", err)
	}
}

func TestGetReturnsACopy(t *testing.T) {
	db := openMem(t)
	put(t, db, "k", "value")
	v, _ := db.Get([]byte("k"))
	v[0] = 'X'
	if got := mustGet(t, db, "k"); got != "value" {
		t.Fatalf("changing a returned value changed the store: %q", got)
	}
}

func TestBatchCopiesCallerSlices(t *testing.T) {
	db := openMem(t)
	key, val := []byte("k"), []byte("v1")
	b := db.NewBatch()
	b.Set(key, val)
	key[0], val[1] = 'z', '9'
	if err := db.Commit(b); err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, db, "k"); got != "v1" {
		t.Fatalf("Get(k) = %q, want v1", got)
	}
}

func TestDeleteRangeAndIterBounds(t *testing.T) {
	db := openMem(t)
	b := db.NewBatch()
	for i := range 10 {
		b.Set(fmt.Appendf(nil, "k%d", i), []byte("x"))
	}
	if err := db.Commit(b); err != nil {
		t.Fatal(err)
	}
	if got := keys(t, db, "k3", "k6"); !slices.Equal(got, []string{"k3", "k4", "k5"}) {
		t.Fatalf("keys in [k3,k6) = %v", got)
	}
	b = db.NewBatch()
	b.DeleteRange([]byte("k2"), []byte("k8"))
	if err := db.Commit(b); err != nil {
		t.Fatal(err)
	}
	if got := keys(t, db, "", ""); !slices.Equal(got, []string{"k0", "k1", "k8", "k9"}) {
		t.Fatalf("keys after DeleteRange = %v", got)
	}
	it, err := db.NewIter(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	if !it.SeekGE([]byte("k5")) || string(it.Key()) != "k8" || string(it.Value()) != "x" {
		t.Fatalf("SeekGE(k5) landed on %q", it.Key())
	}
	if !it.SeekLT([]byte("k5")) || string(it.Key()) != "k1" {
		t.Fatalf("SeekLT(k5) landed on %q", it.Key())
	}
	if !it.Last() || string(it.Key()) != "k9" || !it.Prev() || string(it.Key()) != "k8" {
		t.Fatalf("Last/Prev wrong")
	}
}

// A reader racing with batch commits sees each batch entirely or not at all.
func TestBatchIsAtomicToReaders(t *testing.T) {
	db := openMem(t)
	const keysPerBatch, batches = 50, 100
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for n := 1; n <= batches; n++ {
			b := db.NewBatch()
			for k := range keysPerBatch {
				b.Set(fmt.Appendf(nil, "k%03d", k), fmt.Appendf(nil, "%d", n))
			}
			if err := db.Commit(b); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for done := false; !done; {
		snap, err := db.NewSnapshot()
		if err != nil {
			t.Fatal(err)
		}
		it, _ := snap.NewIter(nil, nil)
		seen := map[string]int{}
		for it.First(); it.Valid(); it.Next() {
			seen[string(it.Value())]++
		}
		it.Close()
		snap.Close()
		if len(seen) > 1 {
			t.Fatalf("a snapshot saw a partly applied batch: %v", seen)
		}
		done = seen[fmt.Sprint(batches)] == keysPerBatch
	}
	wg.Wait()
}

func TestSnapshotIsConsistent(t *testing.T) {
	db := openMem(t)
	put(t, db, "a", "old")
	snap, err := db.NewSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()
	put(t, db, "a", "new")
	put(t, db, "b", "new")
	if got := mustGet(t, snap, "a"); got != "old" {
		t.Fatalf("snapshot Get(a) = %q, want old", got)
	}
	if got := keys(t, snap, "", ""); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("snapshot keys = %v, want [a]", got)
	}
	if got := mustGet(t, db, "a"); got != "new" {
		t.Fatalf("db Get(a) = %q, want new", got)
	}
}

func TestIndexedBatchReadsItsOwnWrites(t *testing.T) {
	db := openMem(t)
	put(t, db, "a", "committed")
	b := db.NewIndexedBatch()
	defer b.Close()
	b.Set([]byte("b"), []byte("pending"))
	b.Delete([]byte("a"))
	if got := mustGet(t, b, "b"); got != "pending" {
		t.Fatalf("batch Get(b) = %q", got)
	}
	if _, err := b.Get([]byte("a")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("batch Get(a) after Delete: %v", err)
	}
	if got := keys(t, b, "", ""); !slices.Equal(got, []string{"b"}) {
		t.Fatalf("batch keys = %v", got)
	}
	if got := mustGet(t, db, "a"); got != "committed" {
		t.Fatalf("uncommitted batch leaked into the db: %q", got)
	}
	if err := db.Commit(b); err != nil {
		t.Fatal(err)
	}
	if got := keys(t, db, "", ""); !slices.Equal(got, []string{"b"}) {
		t.Fatalf("keys after commit = %v", got)
	}
	if _, err := db.NewBatch().Get([]byte("a")); err == nil {
		t.Fatal("Get on a write-only batch succeeded")
	}
}

func TestBatchMisuseIsAnError(t *testing.T) {
	db := openMem(t)
	b := db.NewBatch()
	b.Set([]byte("a"), []byte("1"))
	if err := db.Commit(b); err != nil {
		t.Fatal(err)
	}
	if err := db.Commit(b); !errors.Is(err, ErrClosed) {
		t.Fatalf("second Commit: %v, want ErrClosed", err)
	}
	b.Set([]byte("x"), nil) // must not panic
	other := openMem(t)
	if err := other.Commit(db.NewBatch()); err == nil {
		t.Fatal("committing another store's batch succeeded")
	}
}

func TestDataSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	put(t, db, "k", "v")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Get([]byte("k")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Get after Close: %v, want ErrClosed", err)
	}
	if err := db.Close(); !errors.Is(err, ErrClosed) {
		t.Fatalf("second Close: %v, want ErrClosed", err)
	}
	db = mustOpen(t, Options{Dir: dir})
	if got := mustGet(t, db, "k"); got != "v" {
		t.Fatalf("after reopen Get = %q", got)
	}
}
