package control

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// childEnv switches the test binary into the child mode of
// TestHandlerSeesTheChildsUID: it holds the socket to call.
const childEnv = "CODA_CONTROL_TEST_CHILD"

func TestMain(m *testing.M) {
	if sock := os.Getenv(childEnv); sock != "" {
		os.Exit(runChild(sock))
	}
	os.Exit(m.Run())
}

// runChild dials sock, calls "whoami" claiming uid 0 in its arguments and
// prints the result as JSON.
func runChild(sock string) int {
	c, err := Dial(sock)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var res whoami
	if err := c.Call(ctx, "whoami", whoami{UID: 0}, &res); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := json.NewEncoder(os.Stdout).Encode(res); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// whoami is the argument and result of the test handler's "whoami" op.
type whoami struct {
	UID, GID, PID uint32
	Claimed       uint32 // the UID the arguments claimed
}

// needRoot skips a test that needs root, unless CODA_TEST_DISALLOW_SKIP is
// set (make test runs as root).
func needRoot(t *testing.T, why string) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CODA_TEST_DISALLOW_SKIP") != "" {
		t.Fatalf("%s needs root", why)
	}
	t.Skipf("%s needs root", why)
}

// testHandler serves "echo" (returns its arguments), "whoami" (the peer),
// "fail" (an error) and "panic".
func testHandler(_ context.Context, p Peer, op string, args json.RawMessage) (any, error) {
	switch op {
	case "echo":
		var v map[string]any
		if err := json.Unmarshal(args, &v); err != nil {
			return nil, err
		}
		return v, nil
	case "whoami":
		var claim whoami
		if err := json.Unmarshal(args, &claim); err != nil {
			return nil, err
		}
		return whoami{UID: p.UID, GID: p.GID, PID: p.PID, Claimed: claim.UID}, nil
	case "fail":
		return nil, fmt.Errorf("no tokens for uid %d\nin realm example.org", p.UID)
	case "panic":
		panic("handler bug")
	}
	return nil, fmt.Errorf("unknown op %q", op)
}

// startServer listens on a socket in a fresh temp dir and closes the
// server when the test ends.
func startServer(t *testing.T, h Handler) *Server {
	t.Helper()
	s, err := Listen(filepath.Join(t.TempDir(), "c.sock"), h, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func dial(t *testing.T, path string) *Client {
	t.Helper()
	c, err := Dial(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}
