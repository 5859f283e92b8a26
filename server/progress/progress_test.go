package progress

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestReports(t *testing.T) {
	defer func(old time.Duration) { Interval = old }(Interval)
	Interval = 0 // every Set reports
	var buf bytes.Buffer
	b := New(&buf, "dump web.backup", 2000, false)
	b.Set(500)
	b.Set(2000)
	b.Finish()
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "dump web.backup:  25% 500 B of 2.0 KB, ") ||
		!strings.HasPrefix(lines[2], "dump web.backup: 100% 2.0 KB of 2.0 KB, ") || strings.Contains(buf.String(), "\r") {
		t.Fatalf("plain reports:\n%s", buf.String())
	}

	buf.Reset()
	b = New(&buf, "restore", 0, true)
	b.last = time.Time{} // the first Set draws
	b.Set(3_500_000)
	b.Finish()
	if out := buf.String(); !strings.HasPrefix(out, "\r\x1b[Krestore: 3.5 MB, ") || !strings.HasSuffix(out, "\n") || strings.Count(out, "\r") != 2 {
		t.Fatalf("terminal reports: %q", out)
	}
	buf.Reset()
	b = NewCount(&buf, "cfs fr", 400, "changes", false)
	b.Finish()
	if out := buf.String(); !strings.HasPrefix(out, "cfs fr:   0% 0 changes of 400 changes, 0 changes/s, ") {
		t.Fatalf("a count: %q", out)
	}
	if IsTerminal(&buf) {
		t.Fatal("a buffer is no terminal")
	}
}
