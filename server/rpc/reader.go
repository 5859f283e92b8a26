package rpc

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/coda-fs/coda/server/proto"
)

// readLoop reads frames until the connection dies. It never blocks on
// anything but the socket: control answers are queued without waiting,
// data frames go to their stream's queue (bounded by the credit granted),
// and requests go to handler goroutines.
func (c *connImpl) readLoop() {
	defer c.ioWG.Done()
	for {
		h, err := proto.ReadHeader(c.br)
		if err == nil {
			c.touch()
			err = c.handleFrame(h)
			c.touch()
		}
		if err != nil {
			c.die(readReason(err))
			return
		}
	}
}

// readReason turns a read error into a reason for die.
func readReason(err error) (string, error) {
	var pe *proto.Error
	switch {
	case errors.Is(err, io.EOF):
		return "peer closed the connection", nil
	case errors.As(err, &pe):
		return "protocol error: " + pe.Error(), nil
	}
	return "read failed", err
}

func (c *connImpl) handleFrame(h proto.Header) error {
	if h.Type == proto.FrameData {
		return c.readData(h)
	}
	body, err := c.readBody(h.Len)
	if err != nil {
		return err
	}
	switch h.Type {
	case proto.FrameRequest:
		return c.onRequest(h, body)
	case proto.FrameReply, proto.FrameError:
		return c.onReply(h, body)
	case proto.FrameEnd:
		return c.onEnd(h, body)
	case proto.FramePing:
		c.sendCtrl(proto.FramePong, proto.OpPing, h.ID)
	case proto.FramePong:
		c.onPong(h.ID)
	case proto.FrameCancel:
		c.onCancel(h.ID)
	case proto.FrameCredit:
		n, err := proto.ParseCredit(body)
		if err != nil {
			return err
		}
		c.onCredit(h.ID, n)
	case proto.FrameBusy:
		// Its arrival (touch) is all that counts.
	}
	return nil
}

// readBody reads a frame body into the reader's buffer, valid until the
// next read. n was checked against the frame type's limit.
func (c *connImpl) readBody(n int) ([]byte, error) {
	if cap(c.rbuf) < n {
		c.rbuf = make([]byte, n)
	}
	b := c.rbuf[:n]
	if _, err := io.ReadFull(c.br, b); err != nil {
		return nil, err
	}
	if cap(c.rbuf) > 1<<20 {
		c.rbuf = make([]byte, 0, 64<<10) // do not keep a rare huge buffer
	}
	return b, nil
}

// readData reads a data frame straight into a pooled buffer and queues it
// on its stream; frames of streams no longer wanted are skipped.
func (c *connImpl) readData(h proto.Header) error {
	n := h.Len - proto.DataHeadSize
	hb, err := c.br.Peek(proto.DataHeadSize)
	if err != nil {
		return err
	}
	off, err := proto.ParseOffset(hb, n)
	if err != nil {
		return err
	}
	_, _ = c.br.Discard(proto.DataHeadSize)
	c.mu.Lock()
	s := c.in[h.ID]
	c.mu.Unlock()
	if s == nil {
		_, err := c.br.Discard(n)
		return err
	}
	buf := c.pool.get(n)
	if _, err := io.ReadFull(c.br, buf); err != nil {
		c.pool.put(buf)
		return err
	}
	if st := c.cfg.Stats; st != nil {
		st.DataIn.Add(int64(n))
	}
	return s.push(off, buf)
}

func (c *connImpl) onEnd(h proto.Header, body []byte) error {
	end, err := proto.ParseEnd(body)
	if err != nil {
		return err
	}
	c.mu.Lock()
	s := c.in[h.ID]
	delete(c.in, h.ID)
	c.mu.Unlock()
	if s != nil {
		s.finish(end, h.Flags&proto.FlagAbort != 0, h.Flags&proto.FlagNoSum != 0)
	}
	return nil
}

// onReply hands a reply or error reply to its pending call. Replies to
// calls already abandoned are dropped.
func (c *connImpl) onReply(h proto.Header, body []byte) error {
	if c.peerID(h.ID) {
		return proto.Errorf(proto.CodeProtocol, fmt.Sprintf("reply to request %d we never sent", h.ID))
	}
	var perr *proto.Error
	if h.Type == proto.FrameError {
		var err error
		if perr, err = proto.ParseError(body); err != nil {
			return err
		}
	}
	c.mu.Lock()
	p := c.calls[h.ID]
	delete(c.calls, h.ID)
	if p != nil && h.Type == proto.FrameReply && h.Flags&proto.FlagHasData != 0 {
		p.in = newInStream(c, h.ID, proto.DownloadWindow, 0)
		c.in[h.ID] = p.in
	}
	c.mu.Unlock()
	if p == nil {
		return nil
	}
	switch {
	case perr != nil:
		p.err = perr
	case p.resp != nil:
		// Decode from a copy: []byte fields alias it, and body is the
		// reader's buffer.
		if err := proto.Unmarshal(bytes.Clone(body), p.resp); err != nil {
			p.err = proto.Errorf(proto.CodeProtocol, fmt.Sprintf("bad %v reply: %v", p.op, err))
		}
	}
	close(p.done)
	return nil
}

func (c *connImpl) onPong(seq uint64) {
	c.mu.Lock()
	ch := c.pings[seq]
	delete(c.pings, seq)
	c.mu.Unlock()
	if ch != nil {
		close(ch)
	}
}

// onCancel: the peer abandons its request id. Its handler's context is
// cancelled, its upload (if any) ends with an error, and a reply data
// stream stops.
func (c *connImpl) onCancel(id uint64) {
	if !c.peerID(id) {
		return
	}
	c.mu.Lock()
	sv := c.serving[id]
	s := c.in[id]
	delete(c.in, id)
	c.mu.Unlock()
	if sv != nil {
		sv.cancel()
	}
	if s != nil {
		s.fail(errCancelled)
	}
}

func (c *connImpl) onCredit(id uint64, n uint32) {
	c.mu.Lock()
	o := c.out[id]
	c.mu.Unlock()
	if o != nil {
		o.add(int64(n))
	}
}
