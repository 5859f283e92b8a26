package control

import (
	"bufio"
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// Limits of the channel.
const (
	// MaxRequest bounds one request line, newline included; a longer
	// request is answered with an error and the connection is closed.
	MaxRequest = 1 << 20
	// MaxReply bounds one reply line as the client reads it.
	MaxReply = 16 << 20
	// IdleTimeout is how long the server waits for the next request (or the
	// rest of one) before it closes a connection.
	IdleTimeout = 60 * time.Second
	// WriteTimeout bounds writing one reply to a client that does not read.
	WriteTimeout = 10 * time.Second
	// CallTimeout bounds a Call whose ctx has no deadline.
	CallTimeout = 2 * time.Minute
)

// Request is one line a client sends: the operation and its arguments.
type Request struct {
	Op   string
	Args json.RawMessage
}

// Reply is the one line the server sends back for each request: either
// Error (one line) or Result, the handler's result as JSON.
type Reply struct {
	Error  string `json:",omitempty"`
	Result json.RawMessage
}

// errTooLong is returned by readLine when a line exceeds its limit.
var errTooLong = errors.New("line too long")

// readLine reads one newline-terminated line of at most max bytes (newline
// included) and returns it without the newline. A line longer than max
// gives errTooLong; the reader is then in the middle of that line.
func readLine(r *bufio.Reader, max int) ([]byte, error) {
	var line []byte
	for {
		chunk, err := r.ReadSlice('\n')
		if len(line)+len(chunk) > max {
			return nil, errTooLong
		}
		line = append(line, chunk...)
		switch {
		case err == nil:
			return line[:len(line)-1], nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		default:
			return line, err
		}
	}
}

// encodeLine marshals v as one JSON line. encoding/json escapes newlines
// inside strings, so the only newline is the terminator.
func encodeLine(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// oneLine flattens an error message to one line for Reply.Error.
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	return strings.Join(strings.Fields(s), " ")
}
