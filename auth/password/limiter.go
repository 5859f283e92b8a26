package password

import (
	"sync"
	"time"
)

// Throttle policy (issue 3): after Threshold failures within Window, each
// further attempt waits Delay.
const (
	Threshold = 5
	Window    = 60 * time.Second
	Delay     = time.Second
)

// MaxTracked bounds the number of users and of addresses the Limiter
// remembers; beyond it, stale records are swept and then arbitrary ones
// evicted.
const MaxTracked = 1 << 16

// record holds the times of the last Threshold failures (a ring).
type record struct {
	times [Threshold]time.Time
	n     int // failures recorded, saturating at Threshold
	next  int // ring position for the next failure
}

func (r *record) add(now time.Time) {
	r.times[r.next] = now
	r.next = (r.next + 1) % Threshold
	if r.n < Threshold {
		r.n++
	}
}

// limited reports whether the last Threshold failures all fall within
// Window before now.
func (r *record) limited(now time.Time) bool {
	if r == nil || r.n < Threshold {
		return false
	}
	oldest := r.times[r.next] // ring is full: next is the oldest slot
	return now.Sub(oldest) < Window
}

func (r *record) stale(now time.Time) bool {
	last := r.times[(r.next+Threshold-1)%Threshold]
	return now.Sub(last) >= Window
}

// Limiter throttles failed logins per user and per address. The zero
// value is not usable; use NewLimiter.
type Limiter struct {
	mu    sync.Mutex
	users map[string]*record
	addrs map[string]*record
}

// NewLimiter returns an empty Limiter.
func NewLimiter() *Limiter {
	return &Limiter{users: map[string]*record{}, addrs: map[string]*record{}}
}

// Wait returns how long an attempt for user from addr at now must wait
// before the password is checked: Delay when the user or the address has
// had Threshold failures within Window, else 0. Empty user or addr is not
// tracked.
func (l *Limiter) Wait(user, addr string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if (user != "" && l.users[user].limited(now)) || (addr != "" && l.addrs[addr].limited(now)) {
		return Delay
	}
	return 0
}

// Failed records a failed attempt for user from addr.
func (l *Limiter) Failed(user, addr string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if user != "" {
		bump(l.users, user, now)
	}
	if addr != "" {
		bump(l.addrs, addr, now)
	}
}

// Succeeded records a successful login: the user's failures are
// forgotten. The address's are kept, so that one valid account does not
// reset throttling of guesses against others from the same address.
func (l *Limiter) Succeeded(user, addr string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.users, user)
}

func bump(m map[string]*record, key string, now time.Time) {
	r := m[key]
	if r == nil {
		if len(m) >= MaxTracked {
			sweep(m, now)
		}
		r = &record{}
		m[key] = r
	}
	r.add(now)
}

// sweep drops stale records; if none are stale, it evicts arbitrary ones
// until there is room for one more.
func sweep(m map[string]*record, now time.Time) {
	for k, r := range m {
		if r.stale(now) {
			delete(m, k)
		}
	}
	for k := range m {
		if len(m) < MaxTracked {
			break
		}
		delete(m, k)
	}
}
