package rpc

import (
	"errors"
	"fmt"
	"strings"

	"github.com/coda-fs/coda/server/proto"
)

// ConnError is why a connection died. It matches proto.ErrTimeout with
// errors.Is and errors.As (so proto.CodeOf gives CodeTimeout and venus
// treats the server as unreachable) and wraps the underlying cause.
type ConnError struct {
	Addr   string // the peer's address
	Reason string // one line: "closed", "no frame for 2s", …
	Err    error  // the cause, if any
}

func (e *ConnError) Error() string {
	return fmt.Sprintf("connection to %s lost: %s", e.Addr, e.Reason)
}

// Unwrap returns the cause and proto.ErrTimeout.
func (e *ConnError) Unwrap() []error {
	if e.Err != nil {
		return []error{proto.ErrTimeout, e.Err}
	}
	return []error{proto.ErrTimeout}
}

// ErrChecksum is returned (wrapped) when a data stream's checksum or size
// does not match what its sender announced. It is an I/O error.
var ErrChecksum = &proto.Error{Code: proto.CodeIO, Msg: "data checksum mismatch"}

// ErrAborted is returned (wrapped) when the sender of a data stream gave up
// before the end.
var ErrAborted = &proto.Error{Code: proto.CodeIO, Msg: "data stream aborted by its sender"}

// errCancelled ends an upload stream whose caller abandoned the call.
var errCancelled = errors.New("the caller cancelled the request")

// oneLine returns the first line of an error's message, at most 1000
// bytes: what goes into an error reply.
func oneLine(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 1000 {
		s = s[:1000]
	}
	return s
}

// wireError converts a handler's error into the code and message of an
// error reply.
func wireError(err error) (proto.Code, string) {
	return proto.CodeOf(err), oneLine(err)
}
