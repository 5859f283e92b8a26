package volume

import (
	"errors"
	"testing"
	"time"

	"github.com/coda-fs/coda/server/proto"
)

// TestLockStopsUpdatesUntilUnlockOrTimeout: an update waits on a lock
// (reads do not), goes on at unlock, is answered CodeBusy after LockWait,
// and a lock ends by itself at its timeout. LockWrites returns only when
// no update is being applied.
func TestLockStopsUpdatesUntilUnlockOrTimeout(t *testing.T) {
	_, v := newVolume(t)
	r := v.Info().Root
	old := LockWait
	LockWait = 300 * time.Millisecond
	defer func() { LockWait = old }()

	v.LockWrites(time.Minute)
	if held, _ := v.Locked(); !held {
		t.Fatal("not locked")
	}
	if _, err := v.GetAttr(root, r); err != nil {
		t.Fatalf("a read of a locked volume: %v", err)
	}
	start := time.Now()
	_, _, _, err := v.Create(root, CreateArgs{Dir: r, Name: "busy", Type: proto.TypeFile, Mode: 0o644})
	if !errors.Is(err, proto.ErrBusy) || time.Since(start) < LockWait {
		t.Fatalf("an update of a locked volume: %v after %v", err, time.Since(start))
	}
	done := make(chan error, 1)
	go func() {
		_, _, _, err := v.Create(root, CreateArgs{Dir: r, Name: "waits", Type: proto.TypeFile, Mode: 0o644})
		done <- err
	}()
	time.Sleep(50 * time.Millisecond) // the create starts waiting (a later start only waits less)
	if !v.UnlockWrites() {
		t.Fatal("unlock: was not locked")
	}
	if err := <-done; err != nil {
		t.Fatalf("the waiting create: %v", err)
	}
	if v.UnlockWrites() {
		t.Fatal("a second unlock found a lock")
	}

	v.LockWrites(100 * time.Millisecond)
	deadline := time.Now().Add(5 * time.Second)
	for held, _ := v.Locked(); held; held, _ = v.Locked() {
		if time.Now().After(deadline) {
			t.Fatal("the lock did not time out")
		}
		time.Sleep(10 * time.Millisecond) // poll: the timer ends it
	}
	if _, _, _, err := v.Create(root, CreateArgs{Dir: r, Name: "after", Type: proto.TypeFile, Mode: 0o644}); err != nil {
		t.Fatalf("create after the timeout: %v", err)
	}
}
