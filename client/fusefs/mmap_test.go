package fusefs_test

import (
	"os"
	"syscall"
	"testing"

	"github.com/coda-fs/coda/client/venustest"
)

// mmapWrite maps args[0] shared and writable, writes args[1] at its start
// through the mapping, unmaps and closes.
func mmapWrite(args []string) error {
	f, err := os.OpenFile(args[0], os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	m, err := syscall.Mmap(int(f.Fd()), 0, int(st.Size()), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	if err != nil {
		return err
	}
	copy(m, args[1])
	return syscall.Munmap(m)
}

// TestMmapWritesAreStored: writes through a shared mapping reach the
// server at close and another client reads them.
func TestMmapWritesAreStored(t *testing.T) {
	_, a, b := twoMounts(t)
	venustest.Sh(t, "echo 0123456789 > "+a.Path("m"))
	venustest.RunHelper(t, "mmapwrite", a.Path("m"), "ABCD")
	if got := venustest.Sh(t, "cat "+b.Path("m")); got != "ABCD456789\n" {
		t.Fatalf("B reads %q after A's mmap write", got)
	}
}
