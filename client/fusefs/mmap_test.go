package fusefs_test

import (
	"bufio"
	"fmt"
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

// mmapAfterClose maps args[0], closes the descriptor, says "closed", waits
// for a line on stdin, then writes args[1] through the mapping: with
// passthrough the kernel released the file at close, so no FUSE request
// follows the write.
func mmapAfterClose(args []string) error {
	f, err := os.OpenFile(args[0], os.O_RDWR, 0)
	if err != nil {
		return err
	}
	st, err := f.Stat()
	if err != nil {
		return err
	}
	m, err := syscall.Mmap(int(f.Fd()), 0, int(st.Size()), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	f.Close()
	if err != nil {
		return err
	}
	fmt.Println("closed")
	if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
		return err
	}
	copy(m, args[1])
	if err := syscall.Munmap(m); err != nil {
		return err
	}
	return nil
}

// TestMmapWriteAfterCloseIsKept: writes through a mapping made after the
// descriptor was closed are not lost: the next open and close on that
// client stores them.
func TestMmapWriteAfterCloseIsKept(t *testing.T) {
	_, a, b := twoMounts(t)
	venustest.Sh(t, "echo 0123456789 > "+a.Path("m"))
	cmd := venustest.Command("mmapafterclose", a.Path("m"), "WXYZ")
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if line, err := bufio.NewReader(stdout).ReadString('\n'); line != "closed\n" {
		t.Fatalf("helper: %q %v", line, err)
	}
	waitClosed(t, a.Core) // venus saw the release
	stdin.Write([]byte("\n"))
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	if got := venustest.Sh(t, "cat "+a.Path("m")); got != "WXYZ456789\n" {
		t.Fatalf("A reads %q", got)
	}
	waitClosed(t, a.Core)
	if got := venustest.Sh(t, "cat "+b.Path("m")); got != "WXYZ456789\n" {
		t.Fatalf("B reads %q after A's next close", got)
	}
}
