package store

import (
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// A 1 GiB file with two small writes costs a few blocks, not a gigabyte,
// and SEEK_DATA on the container's descriptor finds the data.
func TestSparseContainerTakesNoSpaceForHoles(t *testing.T) {
	db := openDisk(t)
	const logical = 1 << 30
	w, err := db.NewContainer()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	w.WriteAt([]byte("start"), 0)
	w.WriteAt([]byte("middle"), 512<<20)
	if err := w.Finish(logical); err != nil {
		t.Fatal(err)
	}
	id, err := w.Commit()
	if err != nil {
		t.Fatal(err)
	}
	c, err := db.OpenContainer(id)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Size() != logical {
		t.Fatalf("stored length %d, want the logical size %d", c.Size(), int64(logical))
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(int(c.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	if used := st.Blocks * 512; used > 1<<20 {
		t.Fatalf("a sparse 1 GiB container uses %d bytes on disk", used)
	}
	off, err := unix.Seek(int(c.Fd()), 4096, unix.SEEK_DATA)
	if err != nil || off > 512<<20 || off+4096 <= 512<<20 {
		t.Fatalf("SEEK_DATA from 4096 = %d, %v; want the block holding offset 512 MiB", off, err)
	}
	buf := make([]byte, 6)
	if _, err := c.ReadAtLogical(buf, 512<<20, logical); err != nil || string(buf) != "middle" {
		t.Fatalf("read %q, %v", buf, err)
	}
	u, err := db.DiskUsage()
	if err != nil {
		t.Fatal(err)
	}
	if u.Containers != 1 || u.ContainerBytes != logical || u.AllocatedBytes > 1<<20 || u.MetaBytes == 0 {
		t.Fatalf("DiskUsage = %+v", u)
	}
}
