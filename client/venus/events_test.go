package venus

import (
	"context"
	"testing"
	"time"

	"github.com/coda-fs/coda/server/proto"
)

// TestEventRing: a reader gets the events after the last one it saw, in
// order; one that fell more than the ring behind is told how many it
// missed; a reader waiting for an event wakes when one comes; users other
// than root read only their own events and those of no one.
func TestEventRing(t *testing.T) {
	var l eventLog
	for i := 0; i < eventRing+904; i++ {
		l.add(Event{Kind: EventFetch})
	}
	evs, missed, last, _ := l.since(0)
	if missed != 904 || len(evs) != eventRing || evs[0].Seq != 905 || evs[len(evs)-1].Seq != last || last != eventRing+904 {
		t.Fatalf("since(0): %d events from %d, missed %d, last %d", len(evs), evs[0].Seq, missed, last)
	}
	if evs, missed, _, _ := l.since(last - 2); len(evs) != 2 || missed != 0 || evs[0].Seq != last-1 {
		t.Fatalf("since(last-2): %d events, missed %d", len(evs), missed)
	}

	v := &Venus{closing: make(chan struct{})}
	done := make(chan EventBatch)
	go func() {
		b, _ := v.Events(context.Background(), Caller{UID: 1000}, 0, false, time.Minute)
		done <- b
	}()
	v.event(&Caller{UID: 1001}, EventStore, proto.FID{}, "not for uid 1000")
	v.event(&Caller{UID: 1000}, EventStore, proto.FID{}, "for uid 1000")
	select {
	case b := <-done:
		if len(b.Events) != 1 || b.Events[0].Msg != "for uid 1000" || b.Last != 2 {
			t.Fatalf("uid 1000 read %+v", b)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a waiting reader was not woken by an event")
	}
	v.event(nil, EventServerDown, proto.FID{}, "anyone's")
	if b, _ := v.Events(context.Background(), Caller{UID: 1000}, 2, false, 0); len(b.Events) != 1 || b.Events[0].UID != -1 {
		t.Fatalf("uid 1000 read %+v, want the server event", b)
	}
	if b, _ := v.Events(context.Background(), Caller{UID: 0}, 0, false, 0); len(b.Events) != 3 {
		t.Fatalf("root read %d events, want 3", len(b.Events))
	}
}
