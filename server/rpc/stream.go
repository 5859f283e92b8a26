package rpc

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/cespare/xxhash/v2"
	"github.com/coda-fs/coda/server/proto"
)

// chunk is one received data frame.
type chunk struct {
	off int64
	b   []byte // from the connection's pool
}

// inStream is a data stream being received: an upload to a handler, or
// the data after a reply to one of our calls. The reader pushes frames
// (never blocking: the sender may only send what we granted); one consumer
// takes them and grants credit back as it goes.
type inStream struct {
	c     *connImpl
	id    uint64
	ctx   context.Context // uploads: the request's context
	wake  chan struct{}   // capacity 1
	topUp int64           // credit to grant when consumption starts

	mu      sync.Mutex
	q       []chunk
	head    int
	credit  int64 // bytes (with per-frame cost) the sender may still send
	ended   bool  // End received
	end     proto.EndOfData
	aborted bool  // the End said the sender gave up
	noSum   bool  // the End carries no checksum (FlagNoSum)
	err     error // cancelled by the caller
	closed  bool  // the consumer is gone; drop what arrives

	// consumer-only state
	owed int64 // consumed credit not yet granted back
	used bool
}

func newInStream(c *connImpl, id uint64, credit, topUp int64) *inStream {
	return &inStream{c: c, id: id, credit: credit, topUp: topUp, wake: make(chan struct{}, 1)}
}

func (s *inStream) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// push queues a data frame (reader side). Exceeding the credit granted is
// a protocol error that closes the connection.
func (s *inStream) push(off int64, b []byte) error {
	cost := int64(len(b)) + proto.DataFrameCost
	s.mu.Lock()
	if s.closed || s.ended {
		s.mu.Unlock()
		s.c.pool.put(b)
		return nil
	}
	if cost > s.credit {
		s.mu.Unlock()
		s.c.pool.put(b)
		return proto.Errorf(proto.CodeProtocol, fmt.Sprintf("peer sent data beyond its credit on stream %d", s.id))
	}
	s.credit -= cost
	s.q = append(s.q, chunk{off, b})
	s.mu.Unlock()
	s.signal()
	return nil
}

// finish records the End frame (reader side).
func (s *inStream) finish(end proto.EndOfData, aborted, noSum bool) {
	s.mu.Lock()
	s.ended, s.end, s.aborted, s.noSum = true, end, aborted, noSum
	s.mu.Unlock()
	s.signal()
}

// fail ends the stream with err unless it already ended.
func (s *inStream) fail(err error) {
	s.mu.Lock()
	if !s.ended && s.err == nil {
		s.err = err
	}
	s.mu.Unlock()
	s.signal()
}

// next returns the next chunk, or ok false once the End frame was taken.
func (s *inStream) next(ctx context.Context) (ch chunk, ok bool, err error) {
	for {
		s.mu.Lock()
		if s.head < len(s.q) {
			ch = s.q[s.head]
			s.q[s.head] = chunk{}
			if s.head++; s.head == len(s.q) {
				s.q, s.head = s.q[:0], 0
			}
			s.mu.Unlock()
			return ch, true, nil
		}
		ended, err := s.ended, s.err
		if s.closed && !ended && err == nil {
			err = errors.New("rpc: data stream was discarded")
		}
		s.mu.Unlock()
		if err != nil {
			return chunk{}, false, err
		}
		if ended {
			return chunk{}, false, nil
		}
		s.grant() // nothing queued: give back what we owe before waiting
		select {
		case <-s.wake:
		case <-ctx.Done():
			return chunk{}, false, ctx.Err()
		case <-s.c.done:
			return chunk{}, false, s.c.err
		}
	}
}

// grant gives the sender back the credit consumed so far.
func (s *inStream) grant() {
	if s.owed <= 0 {
		return
	}
	n := s.owed
	s.owed = 0
	s.mu.Lock()
	s.credit += n
	ended := s.ended || s.closed
	s.mu.Unlock()
	if !ended {
		s.c.sendCredit(s.id, n)
	}
}

// close drops the stream (consumer side) and reports whether the sender
// had finished it; if not, frames still arriving are skipped.
func (s *inStream) close() (ended bool) {
	s.mu.Lock()
	s.closed = true
	ended = s.ended
	q := s.q[s.head:]
	s.q, s.head = nil, 0
	s.mu.Unlock()
	for _, ch := range q {
		s.c.pool.put(ch.b)
	}
	s.c.mu.Lock()
	if s.c.in[s.id] == s {
		delete(s.c.in, s.id)
	}
	s.c.mu.Unlock()
	return ended
}

// receive consumes the stream into sink (nil: discard): WriteAt per data
// frame, then, once the size and checksum match the End frame, Finish.
// The checksum is left out when the sender sent none (FlagNoSum) or the
// sink is an UnsummedSink.
func (s *inStream) receive(ctx context.Context, sink Sink) (int64, error) {
	if s.used {
		return 0, errors.New("rpc: data stream already consumed")
	}
	s.used = true
	if s.topUp > 0 {
		s.owed, s.topUp = s.topUp, 0
		s.grant()
	}
	var d xxhash.Digest
	d.Reset()
	sum := &d
	if _, ok := sink.(UnsummedSink); ok {
		sum = nil
	}
	var pos int64
	for {
		ch, ok, err := s.next(ctx)
		if err != nil {
			return 0, err
		}
		if !ok {
			break
		}
		err = s.consume(ch, pos, sink, sum)
		pos = ch.off + int64(len(ch.b))
		s.c.pool.put(ch.b)
		if err != nil {
			return 0, err
		}
	}
	if s.aborted {
		return 0, fmt.Errorf("%w after %d bytes", ErrAborted, pos)
	}
	if s.end.Size < pos || sum != nil && !s.noSum && s.end.Sum != d.Sum64() {
		return 0, fmt.Errorf("%w: received data up to offset %d with sum %016x; sender announced size %d, sum %016x",
			ErrChecksum, pos, d.Sum64(), s.end.Size, s.end.Sum)
	}
	if sink != nil {
		if err := sink.Finish(s.end.Size); err != nil {
			return 0, err
		}
	}
	return s.end.Size, nil
}

// consume writes one chunk to sink and adds it to d (unless nil).
func (s *inStream) consume(ch chunk, pos int64, sink Sink, d *xxhash.Digest) error {
	if ch.off < pos {
		return proto.Errorf(proto.CodeProtocol, fmt.Sprintf("data at offset %d overlaps data before %d", ch.off, pos))
	}
	if sink != nil {
		if _, err := sink.WriteAt(ch.b, ch.off); err != nil {
			return fmt.Errorf("writing received data at offset %d: %w", ch.off, err)
		}
	}
	if d != nil {
		_, _ = d.Write(ch.b)
	}
	s.owed += int64(len(ch.b)) + proto.DataFrameCost
	if s.owed >= proto.StreamWindow/4 {
		s.grant()
	}
	return nil
}

// Receive consumes the upload into sink: WriteAt for each data frame in
// offset order, then Finish(size) once the checksum matched. It returns the
// size. A checksum mismatch returns an error matching ErrChecksum; a
// cancelled call or dead connection returns that error. Receive may be
// called once.
func (s *Stream) Receive(sink Sink) (int64, error) {
	defer s.in.close()
	return s.in.receive(s.in.ctx, sink)
}

// Discard drops the rest of the upload. The caller stops sending once it
// gets the reply.
func (s *Stream) Discard() { s.in.close() }
