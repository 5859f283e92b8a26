package rpc

import (
	"bytes"
	"context"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/coda-fs/coda/server/proto"
)

// serving is a request admitted for service.
type serving struct {
	id       uint64
	handler  Handler
	req      Request
	hard     bool // req.Deadline is the caller's own: the handler's ctx ends there
	ctx      context.Context
	cancel   context.CancelFunc
	started  bool      // its handler runs; guarded by connImpl.mu
	lastBusy time.Time // guarded by connImpl.mu
}

// onRequest (reader side) checks a request and admits it. The deadline is
// checked here, when the frame comes off the socket: a request that waited
// too long (a stopped server resumed, say) is refused, never applied late.
func (c *connImpl) onRequest(h proto.Header, body []byte) error {
	if !c.peerID(h.ID) {
		return proto.Errorf(proto.CodeProtocol, fmt.Sprintf("request id %d of the wrong parity", h.ID))
	}
	head, msg, err := proto.ParseRequest(body)
	if err != nil {
		return err
	}
	if head.Deadline == 0 {
		c.sendErrorNow(h.ID, h.Op, proto.CodeProtocol, "request without a deadline")
		return nil
	}
	now := time.Now()
	deadline := time.Unix(0, head.Deadline-c.offset)
	if late := now.Sub(deadline); late > 0 {
		c.sendErrorNow(h.ID, h.Op, proto.CodeExpired,
			fmt.Sprintf("%v request read %v after its deadline", h.Op, late.Round(time.Millisecond)))
		return nil
	}
	var handler Handler
	if c.mux != nil {
		handler = c.mux.Lookup(h.Op)
	}
	if handler == nil {
		c.sendErrorNow(h.ID, h.Op, proto.CodeNotSupported, fmt.Sprintf("operation %v not supported", h.Op))
		return nil
	}
	sv := &serving{id: h.ID, handler: handler, hard: h.Flags&proto.FlagHardDeadline != 0, lastBusy: now}
	sv.ctx, sv.cancel = context.WithCancel(c.ctx)
	// A fresh copy: decoded []byte fields alias the body, and a handler
	// may keep them.
	sv.req = Request{Conn: c.conn, Op: h.Op, Ident: head.Ident, Deadline: deadline, Body: bytes.Clone(msg)}
	c.admit(sv, h.Flags&proto.FlagHasData != 0)
	return nil
}

// maxQueuedBytes bounds the memory held by requests waiting for a handler
// slot on one connection: their bodies and the upload data their callers
// may send before the handler starts.
const maxQueuedBytes = 64 << 20

// maxQueuedFactor bounds their number: this many times MaxInflight.
const maxQueuedFactor = 16

// queueCost is what a waiting request may hold in memory.
func queueCost(sv *serving) int64 {
	n := int64(len(sv.req.Body)) + 512
	if sv.req.Data != nil {
		n += proto.InitialUploadCredit * 2 // buffers are at most twice the payload
	}
	return n
}

// admit starts sv's handler, queues it when MaxInflight handlers run, or
// refuses it when the queue holds maxQueuedBytes.
func (c *connImpl) admit(sv *serving, hasData bool) {
	var in *inStream
	if hasData {
		in = newInStream(c, sv.id, proto.InitialUploadCredit, proto.StreamWindow-proto.InitialUploadCredit)
		in.ctx = sv.ctx
		sv.req.Data = &Stream{in: in}
	}
	start, refuse := false, false
	c.mu.Lock()
	switch {
	case c.running < c.cfg.MaxInflight:
		c.running++
		start, sv.started = true, true
	case len(c.queue) < maxQueuedFactor*c.cfg.MaxInflight && c.queuedBytes+queueCost(sv) <= maxQueuedBytes:
		c.queue = append(c.queue, sv)
		c.queuedBytes += queueCost(sv)
	default:
		refuse = true
	}
	if !refuse {
		c.serving[sv.id] = sv
		if in != nil {
			c.in[sv.id] = in
		}
	}
	c.mu.Unlock()
	switch {
	case refuse:
		sv.cancel()
		c.sendErrorNow(sv.id, sv.req.Op, proto.CodeBusy, "too many requests in flight on this connection")
	case start:
		c.wg.Add(1)
		go c.runHandlers(sv)
	}
}

// runHandlers serves sv, then queued requests while there are any.
func (c *connImpl) runHandlers(sv *serving) {
	defer c.wg.Done()
	for sv != nil {
		c.serve(sv)
		c.mu.Lock()
		delete(c.serving, sv.id)
		sv = nil
		if len(c.queue) > 0 {
			sv = c.queue[0]
			c.queue[0] = nil
			c.queue = c.queue[1:]
			c.queuedBytes -= queueCost(sv)
			sv.started, sv.lastBusy = true, time.Now()
		} else {
			c.running--
		}
		c.mu.Unlock()
	}
}

// serve runs one handler and sends its reply and reply data.
func (c *connImpl) serve(sv *serving) {
	defer sv.cancel()
	if sv.ctx.Err() != nil {
		return // the caller abandoned it while it was queued, or the connection died
	}
	ctx := sv.ctx
	if sv.hard {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, sv.req.Deadline)
		defer cancel()
	}
	began := time.Now()
	reply, data, err := c.callHandler(ctx, sv)
	c.cfg.Stats.served(sv.req.Op, time.Since(began), err != nil)
	release := func() {}
	if data != nil && data.Release != nil {
		release = data.Release
	}
	defer func() { release() }()
	if sv.req.Data != nil {
		sv.req.Data.in.close() // discard what the handler left
	}
	op := sv.req.Op
	if c.cfg.FaultHook != nil && c.cfg.FaultHook(op) {
		return
	}
	if err != nil {
		code, msg := wireError(err)
		c.sendMsg(proto.AppendError(c.pool.encBuf(), sv.id, op, code, msg))
		return
	}
	var flags uint8
	if data != nil {
		flags = proto.FlagHasData
	}
	b := proto.AppendReply(c.pool.encBuf(), sv.id, op, flags, reply)
	if len(b) > proto.FrameHeaderSize+proto.MaxFrame {
		c.pool.put(b)
		c.log.Error("rpc reply too large", "op", op, "bytes", len(b))
		c.sendMsg(proto.AppendError(c.pool.encBuf(), sv.id, op, proto.CodeIO, "reply too large"))
		return
	}
	if data == nil {
		c.sendMsg(b)
		return
	}
	out := c.openOut(sv.id)
	c.sendMsg(b)
	if data.Data != nil {
		release = func() {} // sendStream's, once the bytes are written
	}
	if err := c.sendStream(sv.ctx, nil, sv.id, out, data); err != nil {
		c.log.Debug("rpc reply data not sent", "op", op, "peer", c.addr, "err", err)
	}
}

// callHandler runs the handler, turning a panic into an error reply.
func (c *connImpl) callHandler(ctx context.Context, sv *serving) (reply proto.Message, data *Source, err error) {
	defer func() {
		if r := recover(); r != nil {
			c.log.Error("rpc handler panicked", "op", sv.req.Op, "panic", r, "stack", string(debug.Stack()))
			reply, data, err = nil, nil, proto.Errorf(proto.CodeIO, "internal server error")
		}
	}()
	return sv.handler(ctx, &sv.req)
}

// Decode decodes the request body into m. A malformed body gives a
// proto.CodeProtocol error (or the code the decoder chose, such as
// CodeInvalid for a bad name), ready to be returned by the handler.
func (r *Request) Decode(m proto.Message) error {
	err := proto.Unmarshal(r.Body, m)
	if err == nil {
		return nil
	}
	if _, ok := err.(*proto.Error); ok {
		return err
	}
	return proto.Errorf(proto.CodeProtocol, fmt.Sprintf("malformed %v request: %v", r.Op, err))
}
