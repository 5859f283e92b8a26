package control

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// maxSocketPath is the longest path a Unix socket address holds (sun_path
// is 108 bytes including the terminating NUL).
const maxSocketPath = 107

// Handler serves one request: op and its JSON arguments (the JSON null
// when the request had none) from peer p. Its result is sent back as
// JSON; its error becomes Reply.Error (the message, flattened to one line).
// ctx is cancelled when the server closes. Handlers run concurrently, one
// goroutine per connection, and must decide from p alone what the caller
// may do.
type Handler func(ctx context.Context, p Peer, op string, args json.RawMessage) (any, error)

// Server serves a Handler on a Unix socket. Close stops it.
type Server struct {
	path   string
	ln     *net.UnixListener
	h      Handler
	log    *slog.Logger
	idle   time.Duration
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex // guards closing and conns
	closing bool
	conns   map[*net.UnixConn]struct{}

	closeOnce sync.Once
	closeErr  error
}

// Listen creates the control socket at path (mode 0666; its directory is
// created 0755 when missing) and serves h on it until Close. A stale socket
// left by a venus that died is removed; if a live one answers at path,
// Listen fails ("another venus serves …"). A nil log discards.
func Listen(path string, h Handler, log *slog.Logger) (*Server, error) {
	return listen(path, h, log, IdleTimeout)
}

// listen is Listen with the idle timeout as a parameter, for tests.
func listen(path string, h Handler, log *slog.Logger, idle time.Duration) (*Server, error) {
	if h == nil {
		return nil, errors.New("control socket: nil handler")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if len(path) > maxSocketPath {
		return nil, fmt.Errorf("control socket path %s is too long (%d bytes, the limit is %d)", path, len(path), maxSocketPath)
	}
	if err := makeDir(filepath.Dir(path)); err != nil {
		return nil, err
	}
	if err := removeStale(path); err != nil {
		return nil, err
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("control socket %s: %w", path, innermost(err))
	}
	// Every local user may connect; the handler decides what each may do.
	if err := os.Chmod(path, 0o666); err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("control socket %s: %w", path, innermost(err))
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{path: path, ln: ln, h: h, log: log, idle: idle, ctx: ctx, cancel: cancel,
		conns: map[*net.UnixConn]struct{}{}}
	s.wg.Add(1)
	go s.acceptLoop()
	return s, nil
}

// makeDir creates the socket's directory when it is missing, mode 0755
// whatever the umask, so that every local user can reach the socket. An
// existing directory is left as it is.
func makeDir(dir string) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("control socket directory: %w", err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return fmt.Errorf("control socket directory: %w", err)
	}
	return nil
}

// removeStale removes a socket at path that nobody listens on. It refuses
// to touch anything that is not a socket, and fails when a server answers.
func removeStale(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("control socket %s: %w", path, innermost(err))
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("control socket %s: the path exists and is not a socket", path)
	}
	c, err := net.DialTimeout("unix", path, 5*time.Second)
	if err == nil {
		_ = c.Close()
		return fmt.Errorf("another venus serves %s (its control socket answers)", path)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("control socket %s: %w", path, innermost(err))
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing stale control socket: %w", err)
	}
	return nil
}

// Path is the socket's path.
func (s *Server) Path() string { return s.path }

// Close stops accepting, closes idle connections, cancels the context of
// the requests in flight and waits until each has sent its reply, then
// removes the socket. It is idempotent.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closing = true
		for c := range s.conns {
			// Wakes a connection blocked waiting for its next request; one
			// in a handler sees closing before it reads again.
			_ = c.SetReadDeadline(time.Now())
		}
		s.mu.Unlock()
		s.cancel()
		s.closeErr = s.ln.Close() // also unlinks the socket
		s.wg.Wait()
	})
	return s.closeErr
}

func (s *Server) acceptLoop() {
	defer s.wg.Done()
	for {
		c, err := s.ln.AcceptUnix()
		if err != nil {
			if s.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: back off, do not spin.
			s.log.Warn("control socket: accept failed", "err", err)
			select {
			case <-s.ctx.Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		s.mu.Lock()
		if s.closing {
			s.mu.Unlock()
			_ = c.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go s.serveConn(c)
	}
}

// serveConn answers the requests of one connection, one at a time, until
// the peer hangs up, idles out, sends an oversized request, or the server
// closes.
func (s *Server) serveConn(c *net.UnixConn) {
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		_ = c.Close()
	}()
	peer, err := peerCred(c)
	if err != nil {
		s.log.Warn("control socket: connection refused", "err", err)
		return
	}
	r := bufio.NewReader(c)
	for s.armRead(c) {
		line, err := readLine(r, MaxRequest)
		if errors.Is(err, errTooLong) {
			s.log.Debug("control socket: request too large", "peer", peer)
			_ = s.write(c, Reply{Error: fmt.Sprintf("request too large (the limit is %d bytes)", MaxRequest)})
			return
		}
		if err != nil {
			return // hang-up, idle timeout or Close
		}
		if line = bytes.TrimSpace(line); len(line) == 0 {
			continue
		}
		if err := s.write(c, s.handle(peer, line)); err != nil {
			s.log.Debug("control socket: writing reply", "peer", peer, "err", err)
			return
		}
	}
}

// armRead sets the idle deadline for reading the next request; it reports
// false once the server is closing. Under s.mu, so that Close's deadline
// always wins.
func (s *Server) armRead(c *net.UnixConn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	_ = c.SetReadDeadline(time.Now().Add(s.idle))
	return true
}

func (s *Server) write(c *net.UnixConn, rep Reply) error {
	b, err := encodeLine(rep)
	if err != nil {
		return err
	}
	_ = c.SetWriteDeadline(time.Now().Add(WriteTimeout))
	_, err = c.Write(b)
	return err
}
