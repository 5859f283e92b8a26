package control

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

func TestCallRoundTripsSeveralRequestsOnOneConnection(t *testing.T) {
	s := startServer(t, testHandler)
	c := dial(t, s.Path())
	ctx := testCtx(t)
	for i := range 3 {
		var got map[string]any
		if err := c.Call(ctx, "echo", map[string]any{"n": i, "s": "a b\nc"}, &got); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		if got["n"] != float64(i) || got["s"] != "a b\nc" {
			t.Fatalf("call %d: got %v", i, got)
		}
	}
	var who whoami
	if err := c.Call(ctx, "whoami", nil, &who); err != nil {
		t.Fatal(err)
	}
	if who.UID != uint32(os.Getuid()) || who.GID != uint32(os.Getgid()) || who.PID != uint32(os.Getpid()) {
		t.Fatalf("peer %+v, want uid %d gid %d pid %d", who, os.Getuid(), os.Getgid(), os.Getpid())
	}
}

func TestConcurrentCallsOnOneClient(t *testing.T) {
	s := startServer(t, testHandler)
	c := dial(t, s.Path())
	ctx := testCtx(t)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Go(func() {
			var got map[string]any
			if err := c.Call(ctx, "echo", map[string]int{"n": i}, &got); err != nil {
				errs <- err
			} else if got["n"] != float64(i) {
				errs <- errors.New("reply for another call")
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestHandlerErrorReachesCallerAsOneLine(t *testing.T) {
	s := startServer(t, testHandler)
	c := dial(t, s.Path())
	ctx := testCtx(t)
	err := c.Call(ctx, "fail", nil, nil)
	want := "no tokens for uid " + strconv.Itoa(os.Getuid()) + " in realm example.org"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %q", err, want)
	}
	var re *ReplyError
	if !errors.As(err, &re) || re.Op != "fail" {
		t.Fatalf("err %T is not a *ReplyError for fail", err)
	}
	// The connection stays usable after a handler error.
	if err := c.Call(ctx, "echo", map[string]int{}, nil); err != nil {
		t.Fatal(err)
	}
}

func TestHandlerPanicIsAnsweredAndServerGoesOn(t *testing.T) {
	s := startServer(t, testHandler)
	c := dial(t, s.Path())
	ctx := testCtx(t)
	err := c.Call(ctx, "panic", nil, nil)
	if err == nil || !strings.Contains(err.Error(), "internal error") {
		t.Fatalf("err = %v, want an internal error", err)
	}
	if err := c.Call(ctx, "echo", map[string]int{}, nil); err != nil {
		t.Fatal(err)
	}
}

// TestHandlerSeesTheChildsUID runs a copy of the test binary as nobody
// (65534); its request claims uid 0, and the handler must see 65534.
func TestHandlerSeesTheChildsUID(t *testing.T) {
	needRoot(t, "running a child as another uid")
	s := startServer(t, testHandler)
	// nobody must reach the socket and the binary: make the temp dirs
	// searchable and copy the test binary (its build dir is 0700) there.
	dir := filepath.Dir(s.Path())
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(dir, "child.test")
	copyFile(t, bin)
	cmd := exec.CommandContext(testCtx(t), bin)
	cmd.Env = []string{childEnv + "=" + s.Path()}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("child: %v: %s", err, stderr.String())
	}
	var who whoami
	if err := json.Unmarshal(out, &who); err != nil {
		t.Fatalf("child printed %q: %v", out, err)
	}
	if who.UID != 65534 || who.GID != 65534 || who.Claimed != 0 {
		t.Fatalf("handler saw %+v, want uid 65534 gid 65534 (claimed 0 ignored)", who)
	}
	if who.PID == 0 || who.PID == uint32(os.Getpid()) {
		t.Fatalf("handler saw pid %d, want the child's", who.PID)
	}
}

func copyFile(t *testing.T, dst string) {
	t.Helper()
	src, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o755); err != nil {
		t.Fatal(err)
	}
}

func TestListenMakesSocketAndDirectoryReachable(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	path := filepath.Join(dir, "c.sock")
	old := syscall.Umask(0o077)
	s, err := Listen(path, testHandler, nil)
	syscall.Umask(old)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for p, want := range map[string]fs.FileMode{dir: fs.ModeDir | 0o755, path: fs.ModeSocket | 0o666} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != want {
			t.Errorf("%s: mode %v, want %v", p, fi.Mode(), want)
		}
	}
}

func TestListenRemovesStaleSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	_ = ln.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the stale socket should exist: %v", err)
	}
	if _, err := Dial(path); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("Dial on a stale socket: %v, want ErrNotRunning", err)
	}
	s, err := Listen(path, testHandler, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := dial(t, path).Call(testCtx(t), "echo", map[string]int{}, nil); err != nil {
		t.Fatal(err)
	}
}

func TestSecondListenOnLiveSocketFails(t *testing.T) {
	s := startServer(t, testHandler)
	_, err := Listen(s.Path(), testHandler, nil)
	if err == nil || !strings.Contains(err.Error(), "another venus serves "+s.Path()) {
		t.Fatalf("second Listen: %v", err)
	}
	// The first server's socket is untouched.
	if err := dial(t, s.Path()).Call(testCtx(t), "echo", map[string]int{}, nil); err != nil {
		t.Fatal(err)
	}
}

func TestListenRefusesToReplaceNonSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.sock")
	if err := os.WriteFile(path, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Listen(path, testHandler, nil); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Fatalf("Listen over a file: %v", err)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "keep" {
		t.Fatalf("the file was touched: %q, %v", b, err)
	}
}

func TestCloseWaitsForInFlightRequestAndRemovesSocket(t *testing.T) {
	entered := make(chan struct{})
	var finished atomic.Bool
	h := func(ctx context.Context, p Peer, op string, args json.RawMessage) (any, error) {
		close(entered)
		<-ctx.Done()
		finished.Store(true)
		return nil, errors.New("venus is shutting down")
	}
	s, err := Listen(filepath.Join(t.TempDir(), "c.sock"), h, nil)
	if err != nil {
		t.Fatal(err)
	}
	busy := dial(t, s.Path())
	idle := dial(t, s.Path())
	callErr := make(chan error, 1)
	go func() { callErr <- busy.Call(testCtx(t), "wait", nil, nil) }()
	<-entered
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if !finished.Load() {
		t.Fatal("Close returned before the handler in flight")
	}
	if err := <-callErr; err == nil || err.Error() != "venus is shutting down" {
		t.Fatalf("in-flight call: %v, want its reply", err)
	}
	if _, err := os.Stat(s.Path()); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("socket after Close: %v", err)
	}
	if err := idle.Call(testCtx(t), "x", nil, nil); err == nil || !strings.Contains(err.Error(), "venus closed the control connection") {
		t.Fatalf("call on a connection Close ended: %v", err)
	}
	if _, err := Dial(s.Path()); !errors.Is(err, ErrNotRunning) ||
		err.Error() != "venus is not running (no control socket at "+s.Path()+")" {
		t.Fatalf("Dial after Close: %v", err)
	}
}

func TestIdleConnectionIsClosed(t *testing.T) {
	s, err := listen(filepath.Join(t.TempDir(), "c.sock"), testHandler, nil, 50*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c, err := net.Dial("unix", s.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	if n, err := c.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("read on an idle connection: %d, %v; want EOF from the server", n, err)
	}
}

func TestOversizedRequestIsRefused(t *testing.T) {
	var calls atomic.Int32
	h := func(ctx context.Context, p Peer, op string, args json.RawMessage) (any, error) {
		calls.Add(1)
		return nil, nil
	}
	s := startServer(t, h)
	c, err := net.Dial("unix", s.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Minute))
	big := `{"Op":"x","Args":"` + strings.Repeat("a", MaxRequest) + "\"}\n"
	go func() { _, _ = io.WriteString(c, big) }()
	r := bufio.NewReader(c)
	line, err := r.ReadBytes('\n')
	if err != nil {
		t.Fatal(err)
	}
	var rep Reply
	if err := json.Unmarshal(line, &rep); err != nil || !strings.Contains(rep.Error, "request too large") {
		t.Fatalf("reply %q (%v), want request too large", line, err)
	}
	if _, err := r.ReadByte(); err != io.EOF {
		t.Fatalf("after an oversized request: %v, want the server to hang up", err)
	}
	if calls.Load() != 0 {
		t.Fatal("the handler ran for an oversized request")
	}
}

func TestClientRefusesOversizedRequestAndStaysUsable(t *testing.T) {
	s := startServer(t, testHandler)
	c := dial(t, s.Path())
	err := c.Call(testCtx(t), "echo", map[string]string{"s": strings.Repeat("a", MaxRequest)}, nil)
	if err == nil || !strings.Contains(err.Error(), "request too large") {
		t.Fatalf("oversized call: %v", err)
	}
	if err := c.Call(testCtx(t), "echo", map[string]int{}, nil); err != nil {
		t.Fatal(err)
	}
}

func TestBadRequestLineIsAnsweredAndConnectionGoesOn(t *testing.T) {
	s := startServer(t, testHandler)
	c, err := net.Dial("unix", s.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Minute))
	if _, err := io.WriteString(c, "not json\n\n{\"Args\":{}}\n{\"Op\":\"echo\",\"Args\":{\"k\":1}}\n"); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(c)
	for _, want := range []string{`{"Error":"bad request: `, `{"Error":"bad request: no op"`, `{"Result":{"k":1}}`} {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(line, want) {
			t.Fatalf("reply %q, want prefix %q", line, want)
		}
	}
}

func TestCallHonoursContextAndLeavesClientUnusable(t *testing.T) {
	release := make(chan struct{})
	h := func(ctx context.Context, p Peer, op string, args json.RawMessage) (any, error) {
		select {
		case <-release:
		case <-ctx.Done():
		}
		return nil, nil
	}
	s := startServer(t, h)
	defer close(release)
	c := dial(t, s.Path())
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := c.Call(ctx, "wait", nil, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("call past its deadline: %v", err)
	}
	if err := c.Call(testCtx(t), "wait", nil, nil); err == nil || !strings.Contains(err.Error(), "unusable") {
		t.Fatalf("call after a timeout: %v", err)
	}
}

func TestDialWithoutVenusSaysSo(t *testing.T) {
	path := filepath.Join(t.TempDir(), "none.sock")
	_, err := Dial(path)
	if !errors.Is(err, ErrNotRunning) || err.Error() != "venus is not running (no control socket at "+path+")" {
		t.Fatalf("Dial: %v", err)
	}
}
