package rpc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"

	"github.com/cespare/xxhash/v2"
	"github.com/coda-fs/coda/server/proto"
)

// minDataFrame: a sender waits for at least this much credit (or all it
// needs) rather than sending slivers.
const minDataFrame = 64 << 10

// queuedDataFrames is how many data frames of one stream may wait in the
// writer's queue: enough to keep the socket busy, few enough that other
// frames get in between.
const queuedDataFrames = 2

// errStopped: the sender was told to stop (the reply to an upload came
// before the upload was done).
var errStopped = errors.New("rpc: data stream stopped")

// A loan keeps the bytes of a Data source until every frame holding them
// was written or dropped and the sender is done with them; then it calls
// the source's Release.
type loan struct {
	refs    atomic.Int32
	release func()
}

func newLoan(release func()) *loan {
	l := &loan{release: release}
	l.refs.Store(1) // the sender's
	return l
}

func (l *loan) done() {
	if l.refs.Add(-1) == 0 && l.release != nil {
		l.release()
	}
}

// outStream is the credit of a data stream we send.
type outStream struct {
	mu     sync.Mutex
	credit int64
	wake   chan struct{} // capacity 1
}

func (o *outStream) add(n int64) {
	o.mu.Lock()
	o.credit += n
	o.mu.Unlock()
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// take waits until a frame of up to want payload bytes may be sent and
// returns its size.
func (o *outStream) take(c *connImpl, ctx context.Context, stop <-chan struct{}, want int64) (int64, error) {
	for {
		o.mu.Lock()
		avail := o.credit - proto.DataFrameCost
		if avail >= want || avail >= minDataFrame {
			n := min(want, avail)
			o.credit -= n + proto.DataFrameCost
			o.mu.Unlock()
			return n, nil
		}
		o.mu.Unlock()
		select {
		case <-o.wake:
		case <-stop:
			return 0, errStopped
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-c.done:
			return 0, c.err
		}
	}
}

// openOut registers the credit of the data stream of request id. It must
// be called before the frame that announces the stream is queued, so that
// no credit the receiver grants is missed.
func (c *connImpl) openOut(id uint64) *outStream {
	credit := int64(proto.DownloadWindow)
	if !c.peerID(id) {
		credit = proto.InitialUploadCredit
	}
	o := &outStream{credit: credit, wake: make(chan struct{}, 1)}
	c.mu.Lock()
	c.out[id] = o
	c.mu.Unlock()
	return o
}

func (c *connImpl) closeOut(id uint64) {
	c.mu.Lock()
	delete(c.out, id)
	c.mu.Unlock()
}

// sendStream sends src as the data stream of request id (registered with
// openOut; sendStream unregisters it): Data frames of at most
// proto.DataChunk bytes per extent, in order, then End with the size and
// checksum. When reading src fails, the stream is ended with FlagAbort.
// When ctx ends, stop is closed or the connection dies, it returns without
// an End (the caller sends Cancel when that is needed). The Release of a
// Data source is sendStream's to call (once its frames are written); of
// any other source, the caller's.
func (c *connImpl) sendStream(ctx context.Context, stop <-chan struct{}, id uint64, o *outStream, src *Source) error {
	defer c.closeOut(id)
	var ln *loan
	if src.Data != nil {
		ln = newLoan(src.Release)
		defer ln.done()
	}
	extents, err := sourceExtents(src)
	if err != nil {
		c.sendEnd(id, proto.FlagAbort, proto.EndOfData{})
		return err
	}
	slot := make(chan struct{}, queuedDataFrames)
	var d xxhash.Digest
	d.Reset()
	for _, e := range extents {
		for off, end := e.Off, e.Off+e.Len; off < end; {
			n, err := o.take(c, ctx, stop, min(proto.DataChunk, end-off))
			if err != nil {
				return err
			}
			sum := &d
			if src.Unsummed {
				sum = nil
			}
			if err := c.sendChunk(ctx, stop, id, src, ln, off, n, slot, sum); err != nil {
				return err
			}
			off += n
		}
	}
	if src.Unsummed {
		c.sendEnd(id, proto.FlagNoSum, proto.EndOfData{Size: src.Size})
		return nil
	}
	c.sendEnd(id, 0, proto.EndOfData{Size: src.Size, Sum: d.Sum64()})
	return nil
}

// sendChunk reads n bytes at off from src (or lends them from its Data,
// under ln), adds them to d (unless nil) and queues them as one Data frame.
func (c *connImpl) sendChunk(ctx context.Context, stop <-chan struct{}, id uint64, src *Source, ln *loan,
	off, n int64, slot chan struct{}, d *xxhash.Digest) error {
	var buf []byte
	drop := func() { c.pool.put(buf) }
	if ln != nil {
		buf = src.Data[off : off+n]
		ln.refs.Add(1)
		drop = ln.done
	} else {
		buf = c.pool.get(int(n))
		if got, err := src.R.ReadAt(buf, off); int64(got) < n {
			drop()
			if err == nil || err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			c.sendEnd(id, proto.FlagAbort, proto.EndOfData{})
			return fmt.Errorf("reading data to send at offset %d: %w", off, err)
		}
	}
	if d != nil {
		_, _ = d.Write(buf)
	}
	select {
	case slot <- struct{}{}:
	case <-stop:
		drop()
		return errStopped
	case <-ctx.Done():
		drop()
		return ctx.Err()
	case <-c.done:
		drop()
		return c.err
	}
	if st := c.cfg.Stats; st != nil {
		st.DataOut.Add(n)
	}
	f := outFrame{payload: buf, slot: slot, loan: ln}
	f.hlen = uint8(len(proto.AppendDataHeader(f.hdr[:0], id, off, int(n))))
	if !c.w.push(&c.w.data, f) {
		c.recycle(&f)
		return c.failure()
	}
	return nil
}

// sendEnd queues the End frame of stream id behind its data frames.
func (c *connImpl) sendEnd(id uint64, flags uint8, end proto.EndOfData) {
	var f outFrame
	f.hlen = uint8(len(proto.AppendEnd(f.hdr[:0], id, flags, end)))
	c.w.push(&c.w.data, f)
}

// sourceExtents returns the extents to send: src.Extents checked, or the
// data extents of an *os.File, or the whole of [0, Size).
func sourceExtents(src *Source) ([]Extent, error) {
	if src.Size < 0 || src.R == nil && src.Data == nil && src.Size > 0 ||
		src.Data != nil && (src.R != nil || int64(len(src.Data)) != src.Size) {
		return nil, fmt.Errorf("rpc: bad data source (size %d)", src.Size)
	}
	if src.Extents == nil {
		if f, ok := src.R.(*os.File); ok {
			return FileExtents(f, src.Size)
		}
		if src.Size == 0 {
			return nil, nil
		}
		return []Extent{{0, src.Size}}, nil
	}
	var pos int64
	for _, e := range src.Extents {
		if e.Off < pos || e.Len < 0 || e.Off+e.Len > src.Size {
			return nil, fmt.Errorf("rpc: bad extent [%d, +%d) of a %d-byte source", e.Off, e.Len, src.Size)
		}
		pos = e.Off + e.Len
	}
	return src.Extents, nil
}
