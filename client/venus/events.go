package venus

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/coda-fs/coda/server/proto"
)

// Venus announces what it does as events, for coda codacon: files fetched
// and stored, servers lost and found, conflicts found, resolved by the
// servers and repaired. The last eventRing events stay in memory; a
// reader asks for those after the last one it saw and waits for more.
// Each event carries the uid whose access caused it (or none): root reads
// every event, other users only their own and those of no one in
// particular (servers coming and going).

// eventRing is how many events venus keeps for readers.
const eventRing = 4096

// Event kinds.
const (
	EventFetch      = "fetch"
	EventStore      = "store"
	EventServerDown = "server-down"
	EventServerUp   = "server-up"
	EventConflict   = "conflict"
	EventResolved   = "resolved"
	EventRepaired   = "repaired"
	// EventReintegrated: updates logged while disconnected went to the
	// servers (or reintegration waits, and why).
	EventReintegrated = "reintegrated"
	// EventHoardWalk: a hoard walk ended (what it fetched).
	EventHoardWalk = "hoard-walk"
	// EventVolume: a volume was disconnected (no replica reachable) or
	// connected again.
	EventVolume = "volume"
	// EventReintegrating: reintegration of a volume's log started, or
	// went on (progress between batches).
	EventReintegrating = "reintegrating"
	// EventTokenExpired: a user's token expired.
	EventTokenExpired = "token-expired"
)

// Event is one thing venus did or found.
type Event struct {
	Seq  uint64    `json:"seq"`
	Time time.Time `json:"time"`
	Kind string    `json:"kind"`
	FID  proto.FID `json:"fid,omitzero"`
	Path string    `json:"path,omitempty"` // the object's path in its volume, when known
	Msg  string    `json:"msg,omitempty"`
	UID  int64     `json:"uid"` // the local uid whose access caused it; -1: none
}

// eventLog is the ring of recent events.
type eventLog struct {
	mu   sync.Mutex
	ring [eventRing]Event
	last uint64        // seq of the newest event (0: none yet)
	wake chan struct{} // closed at the next event
	log  *slog.Logger  // events that matter to an operator go here too
}

// logged are the kinds of event that also make a log line: servers lost
// and back, conflicts found, resolved and repaired, volumes changing
// state, logs reintegrated, tokens expiring (not every fetch and store).
var logged = map[string]bool{EventServerDown: true, EventServerUp: true, EventConflict: true, EventResolved: true,
	EventRepaired: true, EventReintegrated: true, EventVolume: true, EventTokenExpired: true}

func (l *eventLog) add(e Event) {
	if l.log != nil && logged[e.Kind] {
		args := []any{"event", e.Kind, "msg", e.Msg}
		if !e.FID.IsZero() {
			args = append(args, "fid", e.FID.String())
		}
		if e.Path != "" {
			args = append(args, "path", e.Path)
		}
		l.log.Info("event", args...)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.last++
	e.Seq, e.Time = l.last, time.Now()
	l.ring[l.last%eventRing] = e
	if l.wake != nil {
		close(l.wake)
		l.wake = nil
	}
}

// since returns the events after seq after that are still kept, how many
// after it are gone, and a channel closed at the next event.
func (l *eventLog) since(after uint64) (evs []Event, missed, last uint64, wake <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if after > l.last {
		after = l.last
	}
	first := after + 1
	if l.last >= eventRing && first <= l.last-eventRing {
		missed = l.last - eventRing + 1 - first
		first = l.last - eventRing + 1
	}
	for s := first; s <= l.last; s++ {
		evs = append(evs, l.ring[s%eventRing])
	}
	if l.wake == nil {
		l.wake = make(chan struct{})
	}
	return evs, missed, l.last, l.wake
}

// event records an event caused by c (nil: by no one in particular).
func (v *Venus) event(c *Caller, kind string, fid proto.FID, msg string) {
	v.events.add(newEvent(c, kind, fid, msg))
}

// newEvent makes an event caused by c (nil: by no one in particular); a
// message starting with the FID loses that prefix.
func newEvent(c *Caller, kind string, fid proto.FID, msg string) Event {
	e := Event{Kind: kind, FID: fid, Msg: strings.TrimPrefix(msg, fid.String()+": "), UID: -1}
	if c != nil {
		e.UID = int64(c.UID)
	}
	return e
}

// announceConflict announces a conflict object venus sees for the first
// time, wherever the servers made it (resolving one directory may merge
// others). Its path is looked up in the background, as root, and only
// root reads the event (whose access found it is not known here). Callers
// hold v.mu.
func (v *Venus) announceConflict(fid proto.FID) {
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		root := Caller{}
		e := newEvent(&root, EventConflict, fid, "changed differently on both sides of a partition: cfs expand shows each version, cfs repair settles it")
		e.Path, _ = v.Path(ctx, root, fid)
		v.events.add(e)
	}()
}

// EventBatch is what Events returns.
type EventBatch struct {
	Events []Event `json:"events"`
	Missed uint64  `json:"missed,omitempty"` // events gone from the ring before they were read
	Last   uint64  `json:"last"`             // ask for the events after this one next
}

// Events returns the events after seq after that uid may read (all for
// root), waiting up to wait for one when there are none yet. With latest
// set it returns none, only where the stream stands.
func (v *Venus) Events(ctx context.Context, c Caller, after uint64, latest bool, wait time.Duration) (EventBatch, error) {
	var b EventBatch
	if latest {
		_, _, b.Last, _ = v.events.since(^uint64(0))
		return b, nil
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		evs, missed, last, wake := v.events.since(after)
		b.Missed += missed
		b.Last = last
		for _, e := range evs {
			if c.UID == 0 || e.UID < 0 || e.UID == int64(c.UID) {
				b.Events = append(b.Events, e)
			}
		}
		if len(b.Events) > 0 {
			break
		}
		after = last
		select {
		case <-wake:
			continue
		case <-t.C:
		case <-ctx.Done():
		case <-v.closing:
		}
		break
	}
	return b, nil
}

// String is the line codacon prints for e.
func (e Event) String() string {
	s := e.Time.Format("15:04:05") + " " + e.Kind
	if !e.FID.IsZero() {
		s += " " + e.FID.String()
	}
	if e.Path != "" {
		s += " " + e.Path
	}
	if e.Msg != "" {
		s += ": " + e.Msg
	}
	return s
}
