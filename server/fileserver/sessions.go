package fileserver

import (
	"fmt"
	"sync"
	"time"

	"github.com/coda-fs/coda/server/proto"
)

// sessions holds the state of operations that span requests (a dump sent
// or a restore received in pieces), by id. A session is used by one
// request at a time; one nobody used for idle is abandoned (its abandon
// method ends it) and dropped.
type sessions[S interface{ abandon() }] struct {
	what string
	idle time.Duration
	mu   sync.Mutex
	m    map[uint64]*sessionEntry[S]
}

type sessionEntry[S any] struct {
	s    S
	last time.Time
	busy bool
}

// take returns session id for a request, after dropping idle ones.
func (ss *sessions[S]) take(id uint64) (S, error) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for k, e := range ss.m {
		if !e.busy && time.Since(e.last) > ss.idle {
			e.s.abandon()
			delete(ss.m, k)
		}
	}
	e := ss.m[id]
	if e == nil || e.busy {
		var zero S
		return zero, proto.Errorf(proto.CodeInvalid, fmt.Sprintf("no %s session %x here (ended, or abandoned after %v)", ss.what, id, ss.idle))
	}
	e.busy = true
	return e.s, nil
}

// put returns session id after a request; end drops it.
func (ss *sessions[S]) put(id uint64, s S, end bool) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if end {
		delete(ss.m, id)
		return
	}
	if ss.m == nil {
		ss.m = map[uint64]*sessionEntry[S]{}
	}
	ss.m[id] = &sessionEntry[S]{s: s, last: time.Now()}
}
