package password

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

func TestLimiter(t *testing.T) {
	t0 := time.Unix(1_000_000, 0)
	sec := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	type step struct {
		op         string // "fail", "ok", "wait"
		user, addr string
		at         float64
		want       time.Duration
	}
	cases := []struct {
		name  string
		steps []step
	}{
		{"four failures do not throttle", []step{
			{"fail", "u", "a1", 0, 0}, {"fail", "u", "a2", 1, 0}, {"fail", "u", "a3", 2, 0}, {"fail", "u", "a4", 3, 0},
			{"wait", "u", "a5", 4, 0},
		}},
		{"five failures for a user throttle every address", []step{
			{"fail", "u", "a1", 0, 0}, {"fail", "u", "a2", 1, 0}, {"fail", "u", "a3", 2, 0}, {"fail", "u", "a4", 3, 0},
			{"fail", "u", "a5", 4, 0},
			{"wait", "u", "a9", 5, Delay}, {"wait", "v", "a9", 5, 0}, {"wait", "u", "a9", 59.9, Delay},
			{"wait", "u", "a9", 60.5, 0}, // first failure left the window
		}},
		{"five failures from an address throttle every user", []step{
			{"fail", "u1", "a", 0, 0}, {"fail", "u2", "a", 1, 0}, {"fail", "u3", "a", 2, 0}, {"fail", "u4", "a", 3, 0},
			{"fail", "u5", "a", 4, 0},
			{"wait", "new", "a", 10, Delay}, {"wait", "new", "b", 10, 0},
		}},
		{"failures spread over more than the window do not throttle", []step{
			{"fail", "u", "a", 0, 0}, {"fail", "u", "a", 20, 0}, {"fail", "u", "a", 40, 0}, {"fail", "u", "a", 60, 0},
			{"fail", "u", "a", 80, 0},
			{"wait", "u", "a", 81, 0},
		}},
		{"further failures keep it throttled", []step{
			{"fail", "u", "", 0, 0}, {"fail", "u", "", 1, 0}, {"fail", "u", "", 2, 0}, {"fail", "u", "", 3, 0},
			{"fail", "u", "", 4, 0}, {"fail", "u", "", 30, 0}, {"fail", "u", "", 50, 0},
			{"wait", "u", "", 55, Delay}, {"wait", "u", "", 62.5, 0},
		}},
		{"success resets the user but not the address", []step{
			{"fail", "u", "a", 0, 0}, {"fail", "u", "a", 1, 0}, {"fail", "u", "a", 2, 0}, {"fail", "u", "a", 3, 0},
			{"fail", "u", "a", 4, 0}, {"ok", "u", "a", 5, 0},
			{"wait", "u", "b", 6, 0}, {"wait", "u", "a", 6, Delay},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := NewLimiter()
			for i, s := range tc.steps {
				switch s.op {
				case "fail":
					l.Failed(s.user, s.addr, sec(s.at))
				case "ok":
					l.Succeeded(s.user, s.addr, sec(s.at))
				case "wait":
					if got := l.Wait(s.user, s.addr, sec(s.at)); got != s.want {
						t.Fatalf("step %d: Wait(%q,%q,+%vs) = %v, want %v", i, s.user, s.addr, s.at, got, s.want)
					}
				}
			}
		})
	}
}

func TestLimiterBounded(t *testing.T) {
	l := NewLimiter()
	t0 := time.Unix(0, 0)
	for i := 0; i < MaxTracked+10; i++ {
		l.Failed(fmt.Sprint("u", i), "", t0)
	}
	if n := len(l.users); n > MaxTracked {
		t.Fatalf("tracking %d users, bound %d", n, MaxTracked)
	}
	// Stale records are swept first.
	l.Failed("late", "", t0.Add(2*Window))
	if _, ok := l.users["late"]; !ok {
		t.Fatal("new record missing after sweep")
	}
}

func TestLimiterConcurrent(t *testing.T) {
	l := NewLimiter()
	now := time.Unix(0, 0)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				l.Failed("u", "a", now)
				l.Wait("u", "a", now)
			}
		}()
	}
	wg.Wait()
	if l.Wait("u", "a", now) != Delay {
		t.Fatal("not throttled after 800 failures")
	}
}
