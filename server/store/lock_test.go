package store

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
)

func TestSecondOpenInTheSameProcessIsRefused(t *testing.T) {
	dir := t.TempDir()
	db := mustOpen(t, Options{Dir: dir})
	_, err := Open(Options{Dir: dir})
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open: %v, want ErrLocked", err)
	}
	db.Close()
	db2 := mustOpen(t, Options{Dir: dir}) // the lock was released
	db2.Close()
}

// The child process opens the store named by CODA_STORE_LOCK_DIR and
// prints the error.
func TestLockHelperProcess(t *testing.T) {
	dir := os.Getenv("CODA_STORE_LOCK_DIR")
	if dir == "" {
		return // only a helper process for TestOpenByAnotherProcessIsRefused
	}
	db, err := Open(Options{Dir: dir})
	if err != nil {
		os.Stdout.WriteString("ERR " + err.Error() + "\n")
		return
	}
	db.Close()
	os.Stdout.WriteString("OPENED\n")
}

func TestOpenByAnotherProcessIsRefused(t *testing.T) {
	dir := t.TempDir()
	run := func() string {
		cmd := exec.Command(os.Args[0], "-test.run=^TestLockHelperProcess$", "-test.count=1")
		cmd.Env = append(os.Environ(), "CODA_STORE_LOCK_DIR="+dir)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("helper process: %v\n%s", err, out)
		}
		return string(out)
	}
	db := mustOpen(t, Options{Dir: dir})
	out := run()
	want := "ERR store " + dir + " is in use by another process"
	if !strings.Contains(out, want) {
		t.Fatalf("other process got %q, want a line starting %q", out, want)
	}
	db.Close()
	if out := run(); !strings.Contains(out, "OPENED") {
		t.Fatalf("after Close the other process still cannot open: %q", out)
	}
}
