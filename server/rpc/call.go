package rpc

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/coda-fs/coda/server/proto"
)

// pendingCall is a call waiting for its reply. The reader removes it from
// connImpl.calls, fills err (and in, when data follows) and closes done.
type pendingCall struct {
	op   proto.Op
	resp proto.Message
	done chan struct{}
	err  error
	in   *inStream
}

// Call sends a request and waits for its reply, decoded into resp (nil:
// ignore the body). Many calls may run at once on one connection.
//
// opts.Upload streams file data after the request; opts.Download receives
// data the handler streams after its reply (WriteAt per frame, Finish once
// the checksum matched; a mismatch returns an error matching ErrChecksum).
// An error reply is returned as a *proto.Error. The call does not time out
// while the connection lives (the server sends BUSY keepalives while it
// works); cancelling ctx abandons it (the server is told) and returns
// ctx.Err(); a dead connection returns a *ConnError matching
// proto.ErrTimeout. The request carries the deadline min(ctx deadline,
// now+StartBy), on the server's clock: a server that reads it later
// refuses it with proto.CodeExpired.
func (c *Conn) Call(ctx context.Context, op proto.Op, req, resp proto.Message, opts *CallOpts) (err error) {
	ci := c.impl
	if st := ci.cfg.Stats; st != nil {
		began := time.Now()
		defer func() { st.called(op, time.Since(began), err != nil) }()
	}
	var o CallOpts
	if opts != nil {
		o = *opts
	}
	release := func() {}
	if o.Upload != nil && o.Upload.Release != nil {
		release = o.Upload.Release
	}
	defer func() { release() }()
	if err := ctx.Err(); err != nil {
		return err
	}
	id := ci.newID()
	b, err := ci.encodeRequest(ctx, id, op, req, &o)
	if err != nil {
		return err
	}
	p := &pendingCall{op: op, resp: resp, done: make(chan struct{})}
	ci.mu.Lock()
	if ci.dead {
		ci.mu.Unlock()
		ci.pool.put(b)
		return ci.failure()
	}
	ci.calls[id] = p
	ci.mu.Unlock()
	var out *outStream
	if o.Upload != nil {
		out = ci.openOut(id)
	}
	ci.sendMsg(b)
	if out != nil {
		if o.Upload.Data != nil {
			release = func() {} // sendStream's, once the bytes are written
		}
		err := ci.sendStream(ctx, p.done, id, out, o.Upload)
		switch {
		case errors.Is(err, errStopped):
			ci.sendCtrl(proto.FrameCancel, op, id) // replied early: stop the upload there
		case err != nil:
			ci.abandon(id, p)
			return err
		}
	}
	if err := ci.wait(ctx, id, p); err != nil {
		return err
	}
	if p.in != nil {
		return ci.download(ctx, id, p, o.Download)
	}
	return p.err
}

// encodeRequest encodes the request frame with its deadline.
func (c *connImpl) encodeRequest(ctx context.Context, id uint64, op proto.Op, req proto.Message, o *CallOpts) ([]byte, error) {
	deadline, hard := c.wireDeadline(ctx)
	var flags uint8
	if hard {
		flags |= proto.FlagHardDeadline
	}
	if o.Upload != nil {
		flags |= proto.FlagHasData
	}
	b := proto.AppendRequest(c.pool.encBuf(), id, op, flags, deadline, o.Ident, req)
	if len(b) > proto.FrameHeaderSize+proto.MaxFrame {
		c.pool.put(b)
		return nil, proto.Errorf(proto.CodeInvalid, fmt.Sprintf("%v request of %d bytes is too large", op, len(b)))
	}
	return b, nil
}

// wireDeadline is min(ctx deadline, now+StartBy) in unix ns on the
// server's clock, and whether it is the caller's own deadline.
func (c *connImpl) wireDeadline(ctx context.Context) (int64, bool) {
	d := time.Now().Add(c.cfg.StartBy)
	hard := false
	if cd, ok := ctx.Deadline(); ok && !cd.After(d) {
		d, hard = cd, true
	}
	return d.UnixNano() + c.offset, hard
}

// wait waits for the reply of call id.
func (c *connImpl) wait(ctx context.Context, id uint64, p *pendingCall) error {
	select {
	case <-p.done:
		return nil
	case <-c.done:
		select {
		case <-p.done: // delivered just before the end
			return nil
		default:
			return c.err
		}
	case <-ctx.Done():
		if c.abandon(id, p) {
			return ctx.Err()
		}
		<-p.done // the reader is delivering the reply right now
		return nil
	}
}

// abandon forgets call id and tells the peer, unless its reply is already
// being delivered (then it returns false).
func (c *connImpl) abandon(id uint64, p *pendingCall) bool {
	c.mu.Lock()
	mine := c.calls[id] == p
	if mine {
		delete(c.calls, id)
	}
	c.mu.Unlock()
	if mine {
		c.sendCtrl(proto.FrameCancel, p.op, id)
	}
	return mine
}

// download receives the data that follows a reply into sink (nil or a
// failed reply: discard it).
func (c *connImpl) download(ctx context.Context, id uint64, p *pendingCall, sink Sink) error {
	if p.err != nil {
		sink = nil
	}
	_, err := p.in.receive(ctx, sink)
	if !p.in.close() {
		c.sendCtrl(proto.FrameCancel, p.op, id) // stop the sender
	}
	if p.err != nil {
		return p.err
	}
	if err != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}
