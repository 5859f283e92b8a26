package e2e

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// waitWrite writes data to path in the background and returns a channel
// that gets the write's error.
func waitWrite(path string, data []byte) <-chan error {
	done := make(chan error, 1)
	go func() { done <- os.WriteFile(path, data, 0o644) }()
	return done
}

// stalled reports that a write is still waiting after d.
func stalled(t *testing.T, done <-chan error, d time.Duration, what string) {
	t.Helper()
	select {
	case err := <-done:
		t.Fatalf("%s: the write finished while the volume was locked (%v)", what, err)
	case <-time.After(d): // the write waits: what a lock is for
	}
}

// finished waits (deadline) for a write and fails on its error.
func finished(t *testing.T, done <-chan error, deadline time.Duration, what string) {
	t.Helper()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("%s: the write failed: %v", what, err)
		}
	case <-time.After(deadline):
		t.Fatalf("%s: the write did not finish within %v", what, deadline)
	}
}

// TestVolumeLockAndBackup: volutil lock stops writes on every replica
// without an error reaching the writer (unlock, or the lock's timeout,
// lets them through); volutil backup makes coda.root.backup on every
// server, frozen at the backup, sharing the data (no container added);
// cfs mkm mounts it read-only; a second backup refreshes it.
func TestVolumeLockAndBackup(t *testing.T) {
	c := replicatedCell(t)
	root := c.venus("a")
	big := bytes.Repeat([]byte("0123456789abcdef"), 8192) // 128 KiB: a container
	files := map[string][]byte{"docs/small.txt": []byte("small\n"), "docs/big.bin": big, "index.html": []byte("<h1>hi</h1>\n")}
	if err := os.Mkdir(filepath.Join(root, "docs"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(root, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("docs/small.txt", filepath.Join(root, "link")); err != nil {
		t.Fatal(err)
	}

	// A lock: the write waits, then goes through on unlock.
	out := c.Admin("volutil", "lock", "coda.root")
	if strings.Count(out, "locked until") != 3 {
		t.Fatalf("volutil lock printed %q", out)
	}
	done := waitWrite(filepath.Join(root, "during-lock"), []byte("x"))
	stalled(t, done, time.Second, "lock")
	if out := c.Admin("volutil", "unlock", "coda.root"); strings.Count(out, ": unlocked") != 3 {
		t.Fatalf("volutil unlock printed %q", out)
	}
	finished(t, done, 10*time.Second, "unlock")
	// A lock nobody ends ends by itself.
	c.Admin("volutil", "lock", "--timeout", "2s", "coda.root")
	done = waitWrite(filepath.Join(root, "after-timeout"), []byte("y"))
	finished(t, done, 15*time.Second, "lock timeout")

	containers := func() int {
		n := 0
		for _, s := range c.Servers {
			filepath.Walk(filepath.Join(s.Data, "containers"), func(p string, info os.FileInfo, err error) error {
				if err == nil && info.Mode().IsRegular() && len(info.Name()) == 16 {
					n++
				}
				return nil
			})
		}
		return n
	}
	before := containers()
	out = c.Admin("volutil", "backup", "coda.root")
	if !strings.Contains(out, "coda.root.backup made") || strings.Count(out, "objects") != 3 {
		t.Fatalf("volutil backup printed %q", out)
	}
	if got := containers(); got != before {
		t.Fatalf("the backup made containers: %d, were %d", got, before)
	}
	for _, s := range c.Servers {
		list := mustRun(t, "volutil", "-h", s.Addr, "--key", c.KeyFile(), "getvolumelist").Stdout
		if !strings.Contains(list, "coda.root.backup") || !strings.Contains(list, "backup") {
			t.Fatalf("server %d lists no backup: %q", s.ID, list)
		}
	}

	// The volume moves on; the backup does not.
	if err := os.WriteFile(filepath.Join(root, "docs/small.txt"), []byte("changed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(root, "docs/big.bin")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "new.txt"), []byte("new\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	mnt := filepath.Join(root, "yesterday")
	mustRun(t, "cfs", "mkm", mnt, "coda.root.backup")
	for name, data := range files {
		got, err := os.ReadFile(filepath.Join(mnt, name))
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("the backup's %s: %d bytes, %v; want %d bytes", name, len(got), err, len(data))
		}
	}
	if target, err := os.Readlink(filepath.Join(mnt, "link")); err != nil || target != "docs/small.txt" {
		t.Fatalf("the backup's link: %q %v", target, err)
	}
	if _, err := os.Stat(filepath.Join(mnt, "new.txt")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a file made after the backup is in it: %v", err)
	}
	if err := os.WriteFile(filepath.Join(mnt, "index.html"), []byte("no"), 0o644); !errors.Is(err, syscall.EROFS) {
		t.Fatalf("writing into the backup: %v, want EROFS", err)
	}

	// A refresh: the same mount shows the volume as it is now.
	if out := c.Admin("volutil", "backup", "coda.root"); !strings.Contains(out, "coda.root.backup refreshed") {
		t.Fatalf("the second volutil backup printed %q", out)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := os.ReadFile(filepath.Join(mnt, "docs/small.txt"))
		_, gone := os.Stat(filepath.Join(mnt, "docs/big.bin"))
		if err == nil && string(got) == "changed\n" && errors.Is(gone, os.ErrNotExist) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the refreshed backup shows small.txt %q (%v), big.bin %v", got, err, gone)
		}
		time.Sleep(50 * time.Millisecond) // poll: the callback break reaches venus
	}
}
