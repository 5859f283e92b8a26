package venus

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/coda-fs/coda/server/proto"
)

// TestEventsThatMatterAreLogged: a server lost and a conflict make one log
// line each; a fetch makes none (too many for a log).
func TestEventsThatMatterAreLogged(t *testing.T) {
	var buf bytes.Buffer
	l := eventLog{log: slog.New(slog.NewTextHandler(&buf, nil))}
	l.add(newEvent(nil, EventFetch, proto.FID{Volume: 1, Vnode: 2, Unique: 3}, "fetched"))
	l.add(newEvent(nil, EventServerDown, proto.FID{}, "10.0.0.2:2432"))
	l.add(newEvent(nil, EventConflict, proto.FID{Volume: 1, Vnode: 4, Unique: 5}, "stored on both sides"))
	out := buf.String()
	if strings.Count(out, "\n") != 2 || !strings.Contains(out, "event=server-down msg=10.0.0.2:2432") ||
		!strings.Contains(out, "event=conflict") || strings.Contains(out, "fetch") {
		t.Fatalf("logged:\n%s", out)
	}
}
