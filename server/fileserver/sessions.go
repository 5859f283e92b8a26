package fileserver

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"sync"
	"time"

	"github.com/coda-fs/coda/server/proto"
	"github.com/coda-fs/coda/server/rpc"
)

// sessions holds the state of operations that span requests (a dump sent
// or a restore received in pieces), by id. A session is used by one
// request at a time; one nobody used for idle is abandoned (its abandon
// method ends it: a dump stops, a restore is undone and unlocks its
// volume) and dropped, by a timer, whether or not other requests come.
type sessions[S interface{ abandon() }] struct {
	what string
	idle time.Duration
	mu   sync.Mutex
	m    map[uint64]*sessionEntry[S]
}

type sessionEntry[S any] struct {
	s     S
	busy  bool
	timer *time.Timer
}

// newSessionID returns a random session id (never 0, which asks for a
// new session).
func newSessionID() uint64 {
	var b [8]byte
	rand.Read(b[:])
	return binary.LittleEndian.Uint64(b[:]) | 1
}

// each calls f for every session, busy or not (without the lock held).
func (ss *sessions[S]) each(f func(S)) {
	ss.mu.Lock()
	all := make([]S, 0, len(ss.m))
	for _, e := range ss.m {
		all = append(all, e.s)
	}
	ss.mu.Unlock()
	for _, s := range all {
		f(s)
	}
}

// endWithConn abandons a session when conn, the one connection its pieces
// travel on, ends before the session does (done closed).
func endWithConn(conn *rpc.Conn, done <-chan struct{}, abandon func()) {
	go func() {
		select {
		case <-conn.Done():
			abandon()
		case <-done:
		}
	}()
}

// take returns session id for a request.
func (ss *sessions[S]) take(id uint64) (S, error) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	e := ss.m[id]
	if e == nil || e.busy {
		var zero S
		return zero, proto.Errorf(proto.CodeInvalid, fmt.Sprintf("no %s session %x here (ended, or abandoned after %v)", ss.what, id, ss.idle))
	}
	e.busy = true
	e.timer.Stop()
	return e.s, nil
}

// put returns session id after a request; end drops it.
func (ss *sessions[S]) put(id uint64, s S, end bool) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if old := ss.m[id]; old != nil && old.timer != nil {
		old.timer.Stop()
	}
	if end {
		delete(ss.m, id)
		return
	}
	if ss.m == nil {
		ss.m = map[uint64]*sessionEntry[S]{}
	}
	e := &sessionEntry[S]{s: s}
	e.timer = time.AfterFunc(ss.idle, func() { ss.expire(id, e) })
	ss.m[id] = e
}

// expire abandons session id if it is still e and idle.
func (ss *sessions[S]) expire(id uint64, e *sessionEntry[S]) {
	ss.mu.Lock()
	if ss.m[id] != e || e.busy {
		ss.mu.Unlock()
		return
	}
	delete(ss.m, id)
	ss.mu.Unlock()
	e.s.abandon()
}
