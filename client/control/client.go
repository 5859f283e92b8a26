package control

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
)

// ErrNotRunning is in the chain of Dial's error when nothing serves the
// socket: no socket file, or a stale one.
var ErrNotRunning = errors.New("venus is not running")

// ReplyError is an error venus's handler returned; its text is exactly
// the handler's message.
type ReplyError struct {
	Op  string
	Msg string
}

func (e *ReplyError) Error() string { return e.Msg }

// Client is one connection to a venus control socket. Its methods are safe
// for concurrent use; calls are sent one at a time.
type Client struct {
	path string

	mu     sync.Mutex // guards the connection's stream and broken
	conn   *net.UnixConn
	r      *bufio.Reader
	broken error // set when a call left the stream in an unknown state
}

// Dial connects to the control socket at path.
func Dial(path string) (*Client, error) {
	c, err := net.DialTimeout("unix", path, 5*time.Second)
	if err != nil {
		return nil, dialError(path, err)
	}
	uc := c.(*net.UnixConn)
	return &Client{path: path, conn: uc, r: bufio.NewReader(uc)}, nil
}

// DialPath connects to the venus serving path ("" = $CODA_MOUNT, else
// DefaultMount; see Locate).
func DialPath(path string) (*Client, error) {
	sock, _, err := Locate(path)
	if err != nil {
		return nil, err
	}
	return Dial(sock)
}

// dialError words a failed connect for the user.
func dialError(path string, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%w (no control socket at %s)", ErrNotRunning, path)
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("%w (nothing answers on the control socket %s)", ErrNotRunning, path)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("control socket %s: permission denied", path)
	}
	return fmt.Errorf("control socket %s: %w", path, innermost(err))
}

// Call sends op with args (marshalled as JSON; nil sends none) and decodes
// the reply's result into result (a pointer; nil ignores it). An error the
// handler returned comes back as a *ReplyError with its text. A ctx without
// a deadline gets CallTimeout. After a transport error, a timeout or a
// cancellation the connection is unusable and later calls fail.
func (c *Client) Call(ctx context.Context, op string, args any, result any) error {
	req := Request{Op: op}
	if args != nil {
		b, err := json.Marshal(args)
		if err != nil {
			return fmt.Errorf("%s: encoding the arguments: %w", op, err)
		}
		req.Args = b
	}
	line, err := encodeLine(req)
	if err != nil {
		return fmt.Errorf("%s: encoding the request: %w", op, err)
	}
	if len(line) > MaxRequest {
		return fmt.Errorf("%s: request too large (%d bytes, the limit is %d)", op, len(line), MaxRequest)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.broken != nil {
		return fmt.Errorf("%s: control connection unusable after an earlier error: %w", op, c.broken)
	}
	raw, err := c.roundTrip(ctx, line)
	if err != nil {
		c.broken = err
		return fmt.Errorf("%s: %w", op, err)
	}
	var rep Reply
	if err := json.Unmarshal(raw, &rep); err != nil {
		return fmt.Errorf("%s: bad reply from venus: %w", op, err)
	}
	if rep.Error != "" {
		return &ReplyError{Op: op, Msg: rep.Error}
	}
	if result != nil && len(rep.Result) > 0 {
		if err := json.Unmarshal(rep.Result, result); err != nil {
			return fmt.Errorf("%s: decoding the reply: %w", op, err)
		}
	}
	return nil
}

// roundTrip writes one request line and reads one reply line, within ctx.
// Called with c.mu held.
func (c *Client) roundTrip(ctx context.Context, line []byte) ([]byte, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, CallTimeout)
		defer cancel()
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	dl, _ := ctx.Deadline()
	_ = c.conn.SetDeadline(dl)
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		_ = c.conn.SetDeadline(time.Unix(1, 0)) // wake the blocked read or write
		close(fired)
	})
	defer func() {
		if !stop() {
			<-fired // never let it move the deadline of a later call
		}
	}()
	_, err := c.conn.Write(line)
	var reply []byte
	if err == nil {
		reply, err = readLine(c.r, MaxReply)
	}
	switch {
	case err == nil:
		return reply, nil
	case ctx.Err() != nil:
		return nil, ctx.Err()
	case errors.Is(err, os.ErrDeadlineExceeded):
		return nil, context.DeadlineExceeded
	case errors.Is(err, errTooLong):
		return nil, fmt.Errorf("reply from venus too large (the limit is %d bytes)", MaxReply)
	case errors.Is(err, io.EOF), errors.Is(err, syscall.EPIPE), errors.Is(err, syscall.ECONNRESET):
		return nil, errors.New("venus closed the control connection")
	}
	return nil, fmt.Errorf("control socket %s: %w", c.path, innermost(err))
}

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }

// innermost drops the wrappers of net and os errors (they repeat the path
// and the operation) and keeps the system error, for one short line.
func innermost(err error) error {
	var se *os.SyscallError
	if errors.As(err, &se) {
		return se.Err
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
