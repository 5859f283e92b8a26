package volume

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/coda-fs/coda/server/proto"
	"github.com/coda-fs/coda/server/store"
)

// containerFiles counts the committed containers of the store in dir.
func containerFiles(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(filepath.Join(dir, "containers"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && len(d.Name()) == 16 {
			n++
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// openSet opens (or reopens) the store in dir and its volumes.
func openSet(t *testing.T, dir string) (*store.DB, *Set) {
	t.Helper()
	db, err := store.Open(store.Options{Dir: dir, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	set, err := Open(db, nil)
	if err != nil {
		db.Close()
		t.Fatal(err)
	}
	return db, set
}

func content(t *testing.T, v *Volume, name string) string {
	t.Helper()
	b, ok := readFile(t, v, name)
	if !ok {
		return "<none>"
	}
	return string(b)
}

// TestCloneSharesDataAndKeepsItFrozen: a clone reads what the volume held
// when it was made, whatever the volume does next (new data, truncates,
// removes, inline and container files alike); it shares the data (no
// container is copied, none is removed while the clone needs it); it is
// read-only; it survives a restart; and deleting the clones frees exactly
// the data nobody else refers to.
func TestCloneSharesDataAndKeepsItFrozen(t *testing.T) {
	dir := t.TempDir()
	db, set := openSet(t, dir)
	defer func() { db.Close() }()
	v, err := set.Create("web", 0, 0, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := v.Info().Root
	big := func(c byte) []byte { return bytes.Repeat([]byte{c}, InlineMax+1) }
	files := map[string][]byte{"small": []byte("small file"), "big": big('b'), "gone": big('g'), "cut": big('c'), "tiny": []byte("tiny")}
	for name, data := range files {
		if err := writeFile(v, db, r, name, data); err != nil {
			t.Fatal(err)
		}
	}
	before := containerFiles(t, dir)

	c1, err := set.Clone(v.ID(), "web.backup", 0, 0, proto.VolBackup, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := containerFiles(t, dir); got != before {
		t.Fatalf("the clone made containers: %d, was %d", got, before)
	}
	if _, _, _, err := c1.Create(root, CreateArgs{Dir: c1.Info().Root, Name: "x", Type: proto.TypeFile, Mode: 0o644}); !errors.Is(err, proto.ErrReadOnly) {
		t.Fatalf("create in a clone: %v", err)
	}

	// The volume moves on.
	if err := writeFile(v, db, r, "small", []byte("changed")); err != nil {
		t.Fatal(err)
	}
	if err := writeFile(v, db, r, "big", big('B')); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := v.Remove(root, r, "gone", false, proto.StoreID{}); err != nil {
		t.Fatal(err)
	}
	cut, _ := v.Lookup(root, r, "cut")
	if _, _, err := v.SetAttr(root, proto.SetAttr{FID: cut.FID, Mask: proto.SetSize, Size: 10}); err != nil {
		t.Fatal(err)
	}
	tiny, _ := v.Lookup(root, r, "tiny")
	if _, _, err := v.SetAttr(root, proto.SetAttr{FID: tiny.FID, Mask: proto.SetSize, Size: 2}); err != nil {
		t.Fatal(err)
	}
	c2, err := set.Clone(v.ID(), "web.second", 0, 0, proto.VolRO, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeFile(v, db, r, "big", big('3')); err != nil { // c2's data goes to c2, c1 keeps its own
		t.Fatal(err)
	}
	check := func(when string) {
		t.Helper()
		for name, data := range files {
			if got := content(t, c1, name); got != string(data) {
				t.Fatalf("%s: the first clone's %s holds %d bytes %.12q, want %d bytes %.12q", when, name, len(got), got, len(data), data)
			}
		}
		for name, want := range map[string]string{"small": "changed", "big": string(big('B')), "gone": "<none>", "cut": string(big('c')[:10]), "tiny": "ti"} {
			if got := content(t, c2, name); got != want {
				t.Fatalf("%s: the second clone's %s holds %d bytes %.12q, want %d bytes", when, name, len(got), got, len(want))
			}
		}
		if got := content(t, v, "big"); got != string(big('3')) {
			t.Fatalf("%s: the volume's big holds %.12q", when, got)
		}
	}
	check("after the changes")

	// A restart links the clones again.
	db.Close()
	db, set = openSet(t, dir)
	if v, err = set.ByName("web"); err != nil {
		t.Fatal(err)
	}
	c1, _ = set.ByName("web.backup")
	c2, _ = set.ByName("web.second")
	check("after a restart")
	if err := set.Delete(v.ID()); !errors.Is(err, proto.ErrBusy) {
		t.Fatalf("deleting a volume with clones: %v", err)
	}

	wantContainers := func(n int, when string) {
		t.Helper()
		if got := containerFiles(t, dir); got != n {
			t.Fatalf("%d containers %s, want %d", got, when, n)
		}
	}
	// Containers: big (3 versions: c1's, c2's, v's), gone (c1's), cut
	// (c1's, and the truncated copy the volume and c2 share).
	wantContainers(6, "with two clones")
	if err := set.Delete(c1.ID()); err != nil {
		t.Fatal(err)
	}
	wantContainers(3, "after deleting the first clone")
	if err := writeFile(v, db, r, "small", []byte("again")); err != nil {
		t.Fatal(err)
	}
	if got := content(t, c2, "small"); got != "changed" {
		t.Fatalf("the second clone's small holds %q", got)
	}
	if err := set.Delete(c2.ID()); err != nil {
		t.Fatal(err)
	}
	wantContainers(2, "after deleting both clones (the volume's big and cut)")
	if err := set.Delete(v.ID()); err != nil {
		t.Fatal(err)
	}
	wantContainers(0, "after deleting everything")
}

// TestUnfinishedCloneIsRemovedAtStart: a clone whose copy a crash cut
// short (its header still says Building) is gone after a restart, and the
// volume's data is untouched.
func TestUnfinishedCloneIsRemovedAtStart(t *testing.T) {
	dir := t.TempDir()
	db, set := openSet(t, dir)
	v, _ := set.Create("web", 0, 0, 0, nil)
	if err := writeFile(v, db, v.Info().Root, "big", bytes.Repeat([]byte("x"), InlineMax+1)); err != nil {
		t.Fatal(err)
	}
	c, err := set.Clone(v.ID(), "web.backup", 0, 0, proto.VolBackup, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	h := c.hdr
	h.Building = true
	b := db.NewBatch()
	b.Set(headerKey(h.ID), h.encode())
	if err := db.Commit(b); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db, set = openSet(t, dir)
	defer db.Close()
	if _, err := set.ByName("web.backup"); !errors.Is(err, proto.ErrNoVolume) {
		t.Fatalf("the unfinished clone is still there: %v", err)
	}
	v, _ = set.ByName("web")
	if got := content(t, v, "big"); len(got) != InlineMax+1 {
		t.Fatalf("the volume's file holds %d bytes", len(got))
	}
	it, _ := db.NewIter(volPrefix(pfxVnode, h.ID), prefixEnd(volPrefix(pfxVnode, h.ID)))
	if it.First() {
		t.Fatal("a vnode of the unfinished clone remains")
	}
	it.Close()
}

// TestCloneDeletedInThisRun: clones made and deleted without a restart
// keep the family right: deleting one hands its data to the other, and the
// volume's clone list forgets it.
func TestCloneDeletedInThisRun(t *testing.T) {
	dir := t.TempDir()
	db, set := openSet(t, dir)
	defer db.Close()
	v, _ := set.Create("web", 0, 0, 0, nil)
	r := v.Info().Root
	old := bytes.Repeat([]byte("o"), InlineMax+1)
	if err := writeFile(v, db, r, "big", old); err != nil {
		t.Fatal(err)
	}
	c1, err := set.Clone(v.ID(), "web.one", 0, 0, proto.VolRO, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := set.Clone(v.ID(), "web.two", 0, 0, proto.VolRO, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeFile(v, db, r, "big", []byte("new")); err != nil { // the old data goes to a clone
		t.Fatal(err)
	}
	if err := set.Delete(c1.ID()); err != nil {
		t.Fatal(err)
	}
	if got := content(t, c2, "big"); got != string(old) {
		t.Fatalf("the remaining clone reads %d bytes after the other's deletion, want %d", len(got), len(old))
	}
	if err := set.Delete(c2.ID()); err != nil {
		t.Fatal(err)
	}
	if err := set.Delete(v.ID()); err != nil {
		t.Fatalf("deleting the volume once its clones are gone: %v", err)
	}
	if n := containerFiles(t, dir); n != 0 {
		t.Fatalf("%d containers left", n)
	}
}
