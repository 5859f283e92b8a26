package volume

import (
	"fmt"
	"sync"
	"time"

	"github.com/coda-fs/coda/server/proto"
)

// # Volume locks
//
// volutil lock stops the updates of a volume replica until volutil unlock
// or the lock's timeout, which ends it by itself (and logs it). An update
// arriving meanwhile waits in transact, up to LockWait; then it is
// answered proto.CodeBusy ("locked"), which venus takes as "wait and send
// again": an application sees its write stall, never an error, and no
// client turns to another replica. Reads go on. Locks live in memory: a
// restarted server holds none.

// DefaultLockTimeout ends a volume lock nobody ended (volutil lock's
// default).
const DefaultLockTimeout = 5 * time.Minute

// LockWait is how long an update waits on a lock before it is answered
// CodeBusy (well inside venus's call timeout).
var LockWait = 10 * time.Second

// volLock is a volume's lock state, guarded by Volume.lockMu.
type volLock struct {
	held     bool
	gen      uint64        // which lock: a timer of an ended one does nothing
	released chan struct{} // closed when this lock ends
	timer    *time.Timer
	until    time.Time
	// inflight counts updates past awaitUnlocked and not done; a new
	// lock waits for them (drained), so that once LockWrites returns no
	// update is being applied.
	inflight int
	drained  *sync.Cond
}

// LockWrites locks v against updates for timeout (DefaultLockTimeout when
// 0) and returns when no update is being applied; locking a locked volume
// renews its timeout.
func (v *Volume) LockWrites(timeout time.Duration) {
	if timeout <= 0 {
		timeout = DefaultLockTimeout
	}
	v.lockMu.Lock()
	defer v.lockMu.Unlock()
	defer func() {
		for v.lock.inflight > 0 {
			v.lockCond().Wait()
		}
	}()
	if !v.lock.held {
		v.lock.held = true
		v.lock.gen++
		v.lock.released = make(chan struct{})
		v.set.log.Info("volume locked", "name", v.hdr.Name, "timeout", timeout)
	} else {
		v.lock.timer.Stop()
	}
	gen := v.lock.gen
	v.lock.until = time.Now().Add(timeout)
	v.lock.timer = time.AfterFunc(timeout, func() {
		if v.unlockGen(gen) {
			v.set.log.Warn("volume lock timed out; the volume is unlocked", "name", v.hdr.Name, "timeout", timeout)
		}
	})
}

// UnlockWrites ends v's lock; it reports whether v was locked.
func (v *Volume) UnlockWrites() bool {
	v.lockMu.Lock()
	gen := v.lock.gen
	v.lockMu.Unlock()
	if !v.unlockGen(gen) {
		return false
	}
	v.set.log.Info("volume unlocked", "name", v.hdr.Name)
	return true
}

// unlockGen ends lock gen if it is still held.
func (v *Volume) unlockGen(gen uint64) bool {
	v.lockMu.Lock()
	defer v.lockMu.Unlock()
	if !v.lock.held || v.lock.gen != gen {
		return false
	}
	v.lock.held = false
	v.lock.timer.Stop()
	close(v.lock.released)
	return true
}

// Locked reports whether v is locked, and until when.
func (v *Volume) Locked() (bool, time.Time) {
	v.lockMu.Lock()
	defer v.lockMu.Unlock()
	return v.lock.held, v.lock.until
}

// lockCond returns the condition LockWrites waits on. Callers hold lockMu.
func (v *Volume) lockCond() *sync.Cond {
	if v.lock.drained == nil {
		v.lock.drained = sync.NewCond(&v.lockMu)
	}
	return v.lock.drained
}

// awaitUnlocked returns once v is not locked, counting the caller among
// the updates in flight until it calls updateDone; or CodeBusy after
// LockWait.
func (v *Volume) awaitUnlocked() error {
	var deadline <-chan time.Time
	for {
		v.lockMu.Lock()
		held, released := v.lock.held, v.lock.released
		if !held {
			v.lock.inflight++
			v.lockMu.Unlock()
			return nil
		}
		v.lockMu.Unlock()
		if deadline == nil {
			t := time.NewTimer(LockWait)
			defer t.Stop()
			deadline = t.C
		}
		select {
		case <-released:
		case <-deadline:
			return proto.Errorf(proto.CodeBusy, fmt.Sprintf("volume %s is locked (volutil lock); send the update again", v.hdr.Name))
		}
	}
}

// updateDone ends an update awaitUnlocked let through.
func (v *Volume) updateDone() {
	v.lockMu.Lock()
	v.lock.inflight--
	if v.lock.inflight == 0 && v.lock.drained != nil {
		v.lock.drained.Broadcast()
	}
	v.lockMu.Unlock()
}
