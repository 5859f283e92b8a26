// Package progress reports a long operation's progress (volutil dump to a
// file, volutil restore): on a terminal one line redrawn in place with the
// share done, the rate and the time left; elsewhere (a log, cron's mail) a
// plain line every Interval. Reports go to stderr, never into the data.
package progress

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Interval is how often a report is written when not on a terminal.
var Interval = 10 * time.Second

// redraw is how often the terminal line is redrawn at most.
const redraw = 200 * time.Millisecond

// Bar reports the progress of one operation; safe for concurrent use.
type Bar struct {
	w     io.Writer
	what  string
	total int64  // 0: unknown
	unit  string // counted things ("changes"); "" for bytes
	tty   bool
	start time.Time

	mu   sync.Mutex
	done int64
	last time.Time // of the last report
}

// New returns a bar for an operation on total bytes (0 when unknown),
// reporting to w; tty says whether w is a terminal (see IsTerminal).
func New(w io.Writer, what string, total int64, tty bool) *Bar {
	now := time.Now()
	return &Bar{w: w, what: what, total: total, tty: tty, start: now, last: now}
}

// NewCount is New for an operation on total things of unit ("changes"),
// not bytes.
func NewCount(w io.Writer, what string, total int64, unit string, tty bool) *Bar {
	b := New(w, what, total, tty)
	b.unit = unit
	return b
}

// amount formats n of the bar's unit.
func (b *Bar) amount(n int64) string {
	if b.unit == "" {
		return human(n)
	}
	return fmt.Sprintf("%d %s", n, b.unit)
}

// IsTerminal reports whether w is a terminal.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// Set records that done bytes are done, and reports if it is time.
func (b *Bar) Set(done int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.done = done
	now := time.Now()
	every := Interval
	if b.tty {
		every = redraw
	}
	if now.Sub(b.last) < every {
		return
	}
	b.last = now
	b.report(now, false)
}

// Terminal reports whether the bar draws on a terminal.
func (b *Bar) Terminal() bool { return b.tty }

// Clear erases the terminal line (for a caller that reports the end
// itself); elsewhere it does nothing.
func (b *Bar) Clear() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.tty {
		fmt.Fprint(b.w, "\r\x1b[K")
	}
}

// Finish writes the last report (ending the terminal line).
func (b *Bar) Finish() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.report(time.Now(), true)
}

func (b *Bar) report(now time.Time, final bool) {
	elapsed := now.Sub(b.start)
	rate := 0.0
	if elapsed > 0 {
		rate = float64(b.done) / elapsed.Seconds()
	}
	line := fmt.Sprintf("%s: %s", b.what, b.amount(b.done))
	if b.total > 0 {
		line = fmt.Sprintf("%s: %3.0f%% %s of %s", b.what, 100*float64(min(b.done, b.total))/float64(b.total), b.amount(b.done), b.amount(b.total))
	}
	line += fmt.Sprintf(", %s/s", b.amount(int64(rate)))
	switch {
	case final:
		line += fmt.Sprintf(", %v", elapsed.Round(100*time.Millisecond))
	case b.total > b.done && rate > 0:
		line += fmt.Sprintf(", %v left", time.Duration(float64(b.total-b.done)/rate*float64(time.Second)).Round(time.Second))
	}
	if b.tty {
		end := ""
		if final {
			end = "\n"
		}
		fmt.Fprintf(b.w, "\r\x1b[K%s%s", line, end)
		return
	}
	fmt.Fprintln(b.w, line)
}

// human formats n bytes for people: 1.5 GB, 300 MB, 12 KB.
func human(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	d, e := float64(n), 0
	for d >= unit && e < 4 {
		d /= unit
		e++
	}
	return fmt.Sprintf("%.1f %cB", d, "KMGT"[e-1])
}
