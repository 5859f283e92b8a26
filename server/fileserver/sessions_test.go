package fileserver

import (
	"sync/atomic"
	"testing"
	"time"
)

type fakeSession struct{ abandoned atomic.Bool }

func (f *fakeSession) abandon() { f.abandoned.Store(true) }

// TestIdleSessionIsAbandoned: a session nobody uses is abandoned after its
// idle time without any other request; one in use is not, and a taken
// session cannot be taken twice.
func TestIdleSessionIsAbandoned(t *testing.T) {
	ss := sessions[*fakeSession]{what: "test", idle: 50 * time.Millisecond}
	idle, busy := &fakeSession{}, &fakeSession{}
	ss.put(1, idle, false)
	ss.put(2, busy, false)
	if _, err := ss.take(2); err != nil {
		t.Fatal(err)
	}
	if _, err := ss.take(2); err == nil {
		t.Fatal("a session taken twice")
	}
	deadline := time.Now().Add(5 * time.Second)
	for !idle.abandoned.Load() {
		if time.Now().After(deadline) {
			t.Fatal("the idle session was not abandoned")
		}
		time.Sleep(10 * time.Millisecond) // poll: the timer fires by itself
	}
	if _, err := ss.take(1); err == nil {
		t.Fatal("an abandoned session was taken")
	}
	time.Sleep(3 * ss.idle) // the busy session's idle time passes (its timer must not fire)
	if busy.abandoned.Load() {
		t.Fatal("a session in use was abandoned")
	}
	ss.put(2, busy, true)
}
