package rpc

import (
	"bufio"
	"sync"

	"github.com/coda-fs/coda/server/proto"
)

// maxCtrlQueue bounds control frames (pongs, credits, error replies made by
// the reader) waiting to be written. A peer that keeps sending while not
// reading our answers gets its connection closed rather than our memory.
const maxCtrlQueue = 1 << 14

// outFrame is a frame waiting to be written: hdr[:hlen] (a whole small
// frame, or the header of a data frame), then b (an encoded request or
// reply from the pool), then payload (data bytes from the pool). slot, if
// set, is a data sender's queue slot, released once the frame is written.
type outFrame struct {
	hdr     [32]byte
	hlen    uint8
	b       []byte
	payload []byte
	loan    *loan // payload is lent from a Data source, not the pool's
	slot    chan struct{}
}

// writer owns the write side of a connection. Frames are queued by any
// goroutine without blocking and written by one goroutine (writeLoop) in
// priority order: control frames, then requests and replies, then one data
// frame, so bulk data never holds a small call back by more than one data
// frame.
type writer struct {
	mu       sync.Mutex
	ctrl     []outFrame
	msgs     []outFrame
	data     []outFrame // a FIFO from dataHead on
	dataHead int
	dead     bool
	wake     chan struct{} // capacity 1
	bw       *bufio.Writer
	live     *liveConn // gathers TLS's writes; nil in some tests
}

// flush writes out everything buffered, in the bufio.Writer and under TLS.
func (w *writer) flush() error {
	if err := w.bw.Flush(); err != nil {
		return err
	}
	if w.live != nil {
		return w.live.flush()
	}
	return nil
}

// buffered reports whether anything waits in a buffer.
func (w *writer) buffered() bool {
	return w.bw.Buffered() > 0 || w.live != nil && w.live.pending()
}

// push appends f to *q and wakes the writer. It returns false when the
// connection is dead (the frame is dropped) or the control queue is full.
func (w *writer) push(q *[]outFrame, f outFrame) bool {
	w.mu.Lock()
	if w.dead || (q == &w.ctrl && len(w.ctrl) >= maxCtrlQueue) {
		w.mu.Unlock()
		return false
	}
	*q = append(*q, f)
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
	return true
}

// take moves every control frame and message, and at most one data frame,
// into batch.
func (w *writer) take(batch []outFrame) []outFrame {
	w.mu.Lock()
	defer w.mu.Unlock()
	batch = append(batch, w.ctrl...)
	clear(w.ctrl)
	w.ctrl = w.ctrl[:0]
	batch = append(batch, w.msgs...)
	clear(w.msgs)
	w.msgs = w.msgs[:0]
	if w.dataHead < len(w.data) {
		batch = append(batch, w.data[w.dataHead])
		w.data[w.dataHead] = outFrame{}
		if w.dataHead++; w.dataHead == len(w.data) {
			w.data, w.dataHead = w.data[:0], 0
		}
	}
	return batch
}

// kill marks the writer dead and returns the frames still queued.
func (w *writer) kill() []outFrame {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.dead = true
	left := append(append(append([]outFrame(nil), w.ctrl...), w.msgs...), w.data[w.dataHead:]...)
	w.ctrl, w.msgs, w.data, w.dataHead = nil, nil, nil, 0
	return left
}

func (w *writer) write(f *outFrame) error {
	if f.hlen > 0 {
		if _, err := w.bw.Write(f.hdr[:f.hlen]); err != nil {
			return err
		}
	}
	if len(f.b) > 0 {
		if _, err := w.bw.Write(f.b); err != nil {
			return err
		}
	}
	if len(f.payload) > 0 {
		if _, err := w.bw.Write(f.payload); err != nil {
			return err
		}
	}
	return nil
}

// recycle returns f's buffers to the pool and releases its slot.
func (c *connImpl) recycle(f *outFrame) {
	if f.b != nil {
		c.pool.put(f.b)
	}
	if f.loan != nil {
		f.loan.done()
	} else if f.payload != nil {
		c.pool.put(f.payload)
	}
	if f.slot != nil {
		select {
		case <-f.slot:
		default:
		}
	}
	*f = outFrame{}
}

// writeLoop writes queued frames until the connection dies, flushing when
// nothing more is queued.
func (c *connImpl) writeLoop() {
	defer c.ioWG.Done()
	w := &c.w
	var batch []outFrame
	for {
		batch = w.take(batch[:0])
		if len(batch) == 0 {
			if w.buffered() {
				if err := w.flush(); err != nil {
					c.die("write failed", err)
					return
				}
				continue
			}
			select {
			case <-w.wake:
			case <-c.done:
				return
			}
			continue
		}
		for i := range batch {
			err := w.write(&batch[i])
			if err != nil {
				for j := i; j < len(batch); j++ {
					c.recycle(&batch[j])
				}
				c.die("write failed", err)
				return
			}
			c.recycle(&batch[i])
		}
	}
}

// sendCtrl queues a small frame without a body (ping, pong, busy, cancel)
// ahead of everything else. It never blocks.
func (c *connImpl) sendCtrl(t proto.FrameType, op proto.Op, id uint64) {
	var f outFrame
	f.hlen = uint8(len(proto.AppendHeader(f.hdr[:0], t, 0, op, id, 0)))
	c.pushCtrl(f)
}

// sendCredit grants the peer n more bytes on stream id.
func (c *connImpl) sendCredit(id uint64, n int64) {
	for n > 0 {
		k := min(n, 1<<30)
		var f outFrame
		f.hlen = uint8(len(proto.AppendCredit(f.hdr[:0], id, uint32(k))))
		c.pushCtrl(f)
		n -= k
	}
}

// sendErrorNow queues an error reply ahead of everything else (the reader
// uses it for requests it refuses itself). It never blocks.
func (c *connImpl) sendErrorNow(id uint64, op proto.Op, code proto.Code, msg string) {
	c.pushCtrl(outFrame{b: proto.AppendError(c.pool.encBuf(), id, op, code, msg)})
}

func (c *connImpl) pushCtrl(f outFrame) {
	if !c.w.push(&c.w.ctrl, f) {
		c.recycle(&f)
		c.die("peer is not reading its answers", nil)
	}
}

// sendMsg queues an encoded request or reply.
func (c *connImpl) sendMsg(b []byte) {
	f := outFrame{b: b}
	if !c.w.push(&c.w.msgs, f) {
		c.recycle(&f)
	}
}
