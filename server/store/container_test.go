package store

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
)

func TestContainerRoundTripWithHoles(t *testing.T) {
	for name, open := range map[string]func(testing.TB) *DB{"mem": openMem, "disk": openDisk} {
		t.Run(name, func(t *testing.T) {
			db := open(t)
			w, err := db.NewContainer()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Write([]byte("head")); err != nil {
				t.Fatal(err)
			}
			if _, err := w.WriteAt([]byte("middle"), 10000); err != nil {
				t.Fatal(err)
			}
			if err := w.Finish(20000); err != nil {
				t.Fatal(err)
			}
			id, err := w.Commit()
			if err != nil {
				t.Fatal(err)
			}
			w.Abort() // a no-op after Commit
			want := make([]byte, 20000)
			copy(want, "head")
			copy(want[10000:], "middle")
			got, err := readContainer(db, id, 20000)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatal("container contents differ from what was written")
			}
			// A logical size beyond the stored bytes reads zeros.
			got, err = readContainer(db, id, 30000)
			if err != nil || len(got) != 30000 || !bytes.Equal(got[:20000], want) || !allZero(got[20000:]) {
				t.Fatalf("reading past the stored bytes: len %d err %v", len(got), err)
			}
			if names := listFiles(t, db.fs, db.tmpDir()); len(names) != 0 {
				t.Fatalf("tmp files left after Commit: %v", names)
			}
		})
	}
}

func TestReadAtLogicalEdges(t *testing.T) {
	db := openMem(t)
	id := writeContainer(t, db, []byte("abcdef"), 6)
	c, err := db.OpenContainer(id)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 4)
	if n, err := c.ReadAtLogical(buf, 4, 8); n != 4 || err != io.EOF || string(buf) != "ef\x00\x00" {
		t.Fatalf("ReadAtLogical(4, 8) = %d %v %q", n, err, buf)
	}
	if n, err := c.ReadAtLogical(buf, 0, 10); n != 4 || err != nil || string(buf) != "abcd" {
		t.Fatalf("ReadAtLogical(0, 10) = %d %v %q", n, err, buf)
	}
	if n, err := c.ReadAtLogical(buf, 8, 8); n != 0 || err != io.EOF {
		t.Fatalf("ReadAtLogical at the end = %d %v", n, err)
	}
	if n, err := c.ReadAtLogical(buf, 0, 3); n != 3 || err != io.EOF || string(buf[:3]) != "abc" {
		t.Fatalf("ReadAtLogical with a logical size below the stored one = %d %v", n, err)
	}
	if c.Size() != 6 {
		t.Fatalf("Size = %d, want 6", c.Size())
	}
	c.Close()
	if _, err := c.ReadAt(buf, 0); !errors.Is(err, ErrClosed) {
		t.Fatalf("ReadAt after Close: %v", err)
	}
}

func TestContainerZeroIsEmpty(t *testing.T) {
	db := openMem(t)
	got, err := readContainer(db, 0, 5)
	if err != nil || !bytes.Equal(got, make([]byte, 5)) {
		t.Fatalf("container 0 read as %q, %v", got, err)
	}
	c, _ := db.OpenContainer(0)
	if c.Fd() != vfs.InvalidFd || c.File() != nil || c.Size() != 0 {
		t.Fatal("container 0 has a file")
	}
	if err := db.RemoveContainer(0); err != nil {
		t.Fatal(err)
	}
}

func TestRemoveContainerIsIdempotent(t *testing.T) {
	db := openMem(t)
	id := writeContainer(t, db, []byte("x"), 1)
	for range 2 {
		if err := db.RemoveContainer(id); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.OpenContainer(id); !errors.Is(err, ErrNotFound) {
		t.Fatalf("OpenContainer of a removed container: %v", err)
	}
}

func TestAbortRemovesTheTmpFile(t *testing.T) {
	db := openMem(t)
	w, err := db.NewContainer()
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("doomed"))
	if n := len(listFiles(t, db.fs, db.tmpDir())); n != 1 {
		t.Fatalf("%d tmp files while writing, want 1", n)
	}
	w.Abort()
	w.Abort()
	if names := listFiles(t, db.fs, db.tmpDir()); len(names) != 0 {
		t.Fatalf("tmp files after Abort: %v", names)
	}
	if _, err := w.Commit(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Commit after Abort: %v", err)
	}
	if _, err := w.Write([]byte("x")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Write after Abort: %v", err)
	}
}

func TestFinishRejectsASizeBelowTheData(t *testing.T) {
	db := openMem(t)
	w, _ := db.NewContainer()
	defer w.Abort()
	w.WriteAt([]byte("0123456789"), 0)
	if err := w.Finish(5); err == nil {
		t.Fatal("Finish below the written data succeeded")
	}
	if err := w.Finish(10); err != nil {
		t.Fatal(err)
	}
	if _, err := w.WriteAt([]byte("x"), 10); err == nil {
		t.Fatal("a write past the finished size succeeded")
	}
}

func TestContainerIDsAreNeverReused(t *testing.T) {
	fs := vfs.NewMem()
	seen := map[ContainerID]bool{}
	for round := range 3 {
		db, err := Open(Options{FS: fs, Dir: "/s"})
		if err != nil {
			t.Fatal(err)
		}
		for range 300 { // crosses a fan-out directory boundary
			id := writeContainer(t, db, []byte("x"), 1)
			if id == 0 || seen[id] {
				t.Fatalf("round %d: id %s handed out twice (or zero)", round, id)
			}
			seen[id] = true
			// Removing the newest container must not free its id.
			if err := db.RemoveContainer(id); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
	// Without the mark file, ids resume after the newest container left.
	db := mustOpen(t, Options{FS: fs, Dir: "/s"})
	last := writeContainer(t, db, nil, 0)
	seen[last] = true
	db.Close()
	if err := fs.Remove("/s/containers/idmark"); err != nil {
		t.Fatal(err)
	}
	db = mustOpen(t, Options{FS: fs, Dir: "/s"})
	if id := writeContainer(t, db, nil, 0); seen[id] || id.seq() != last.seq()+1 {
		t.Fatalf("after the mark was lost got id %s, want the one after %s", id, last)
	}
}

func TestSeqIDIsABijectionThatGroupsDirectories(t *testing.T) {
	for _, x := range []uint64{0, 1, 255, 256, 0x1234, 1<<40 | 0xabcd} {
		if seqID(seqID(x)) != x {
			t.Fatalf("seqID is not its own inverse at %#x", x)
		}
	}
	if seqID(0x100)&0xff != seqID(0x1ff)&0xff || seqID(0x1ff)&0xff == seqID(0x200)&0xff {
		t.Fatal("256 consecutive sequence numbers do not share one directory")
	}
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
