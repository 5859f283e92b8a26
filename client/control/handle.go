package control

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime/debug"
)

// handle decodes one request line, runs the handler and builds the reply.
func (s *Server) handle(peer Peer, line []byte) Reply {
	var req Request
	if err := json.Unmarshal(line, &req); err != nil {
		return Reply{Error: "bad request: " + oneLine(err.Error())}
	}
	if req.Op == "" {
		return Reply{Error: "bad request: no op"}
	}
	if len(req.Args) == 0 {
		req.Args = json.RawMessage("null")
	}
	res, err := s.call(s.ctx, peer, req)
	if err != nil {
		s.log.Debug("control request failed", "op", req.Op, "peer", peer, "err", err)
		msg := oneLine(err.Error())
		if msg == "" {
			msg = req.Op + " failed"
		}
		return Reply{Error: msg}
	}
	b, err := json.Marshal(res)
	if err != nil {
		s.log.Error("control socket: encoding reply", "op", req.Op, "err", err)
		return Reply{Error: fmt.Sprintf("%s: encoding the reply: %s", req.Op, oneLine(err.Error()))}
	}
	if len(b) > MaxReply-64 {
		return Reply{Error: fmt.Sprintf("%s: reply too large (%d bytes)", req.Op, len(b))}
	}
	s.log.Debug("control request", "op", req.Op, "peer", peer)
	return Reply{Result: b}
}

// call runs the handler, turning a panic into an error so that one bad
// request cannot take venus down.
func (s *Server) call(ctx context.Context, peer Peer, req Request) (res any, err error) {
	defer func() {
		if v := recover(); v != nil {
			s.log.Error("control handler panicked", "op", req.Op, "peer", peer, "panic", v, "stack", string(debug.Stack()))
			res, err = nil, fmt.Errorf("%s: internal error in venus (see its log)", req.Op)
		}
	}()
	return s.h(ctx, peer, req.Op, req.Args)
}
