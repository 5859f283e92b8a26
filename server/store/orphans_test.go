package store

import (
	"errors"
	"slices"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
)

func TestCleanOrphansRemovesTmpAndUnreferencedOnly(t *testing.T) {
	fs := vfs.NewMem()
	db, err := Open(Options{FS: fs, Dir: "/s"})
	if err != nil {
		t.Fatal(err)
	}
	keep := writeContainer(t, db, []byte("keep"), 4)
	drop := writeContainer(t, db, []byte("drop"), 4)
	w, _ := db.NewContainer() // left in tmp/ as a crash would leave it
	w.Write([]byte("partial"))
	stray := "/s/containers/tmp/not-ours"
	if f, err := fs.Create(stray, vfs.WriteCategoryUnspecified); err == nil {
		f.Close()
	}
	// Still the same session: nothing of this session is touched.
	if n, err := db.CleanOrphans(func(ContainerID) bool { return false }); err != nil || n != 1 {
		t.Fatalf("CleanOrphans in the same session removed %d (%v); want only the stray tmp file", n, err)
	}
	if _, err := db.OpenContainer(drop); err != nil {
		t.Fatalf("a container of this session was removed: %v", err)
	}
	w.Abort()
	w2, _ := db.NewContainer()
	w2.Write([]byte("partial"))
	db.Close()
	w2.f.Close() // what a crash would do

	db = mustOpen(t, Options{FS: fs, Dir: "/s"})
	fresh := writeContainer(t, db, []byte("fresh"), 5)
	var asked []ContainerID
	n, err := db.CleanOrphans(func(id ContainerID) bool {
		asked = append(asked, id)
		return id == keep
	})
	if err != nil || n != 2 {
		t.Fatalf("CleanOrphans removed %d (%v), want 2 (drop and the tmp file)", n, err)
	}
	slices.Sort(asked)
	if want := []ContainerID{min(keep, drop), max(keep, drop)}; !slices.Equal(asked, want) {
		t.Fatalf("referenced asked about %v, want %v", asked, want)
	}
	for id, wantErr := range map[ContainerID]error{keep: nil, fresh: nil, drop: ErrNotFound} {
		if _, err := db.OpenContainer(id); !errors.Is(err, wantErr) {
			t.Fatalf("container %s after CleanOrphans: %v, want %v", id, err, wantErr)
		}
	}
	if names := listFiles(t, fs, "/s/containers/tmp"); len(names) != 0 {
		t.Fatalf("tmp files left: %v", names)
	}
}
