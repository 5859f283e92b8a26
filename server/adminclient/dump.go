package adminclient

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/coda-fs/coda/server/proto"
	"github.com/coda-fs/coda/server/rpc"
)

// seqSink writes a data stream that arrives in offset order to w.
type seqSink struct {
	w   io.Writer
	off int64 // of the stream so far
	at  int64 // the chunk's start in the stream
	n   int64
}

func (s *seqSink) WriteAt(p []byte, off int64) (int, error) {
	if s.at+off != s.off {
		return 0, fmt.Errorf("dump data at %d, expected %d", s.at+off, s.off)
	}
	n, err := s.w.Write(p)
	s.off += int64(n)
	s.n += int64(n)
	return n, err
}

// Unsummed: a dump checks itself (every record has a CRC-32C).
func (s *seqSink) Unsummed() {}

func (s *seqSink) Finish(size int64) error {
	if s.n != size {
		return fmt.Errorf("a dump piece of %d bytes, %d arrived", size, s.n)
	}
	return nil
}

// Dump streams a dump of clone vol at level to w, piece by piece, and
// returns the level written (0 when no base was found for the level asked)
// and the base's level (-1: none). progress, when set, is told the bytes
// written so far after each piece.
func (c *Client) Dump(ctx context.Context, vol string, level uint8, w io.Writer, progress func(int64)) (written uint8, base int8, err error) {
	sink := &seqSink{w: w}
	req := &proto.DumpRequest{Volume: vol, Level: level}
	for {
		var r proto.DumpChunk
		sink.at, sink.n = sink.off, 0
		cctx, cancel := withTimeout(ctx)
		err := c.conn.Call(cctx, proto.OpDump, req, &r, &rpc.CallOpts{Ident: c.ident, Download: sink})
		cancel()
		if err != nil {
			return 0, 0, err
		}
		if progress != nil {
			progress(sink.off)
		}
		if r.Done {
			return r.Level, r.BaseLevel, nil
		}
		req.Session = r.Session
	}
}

// Ancient marks the last dump of a clone of vol written on the server good
// on every replica, and returns what each said.
func (c *Client) Ancient(ctx context.Context, vol string) (string, error) {
	var r proto.Text
	if err := c.call(ctx, proto.OpAncient, &proto.Ancient{Volume: vol}, &r); err != nil {
		return "", err
	}
	return r.Text, nil
}

// DumpEstimate returns the estimated bytes of a dump of clone vol at each
// level 0-9, as one line.
func (c *Client) DumpEstimate(ctx context.Context, vol string) (string, error) {
	var r proto.Text
	if err := c.call(ctx, proto.OpDumpEstimate, &proto.VolumeRef{Name: vol}, &r); err != nil {
		return "", err
	}
	return r.Text, nil
}

// restoreChunk is the size of the pieces Restore sends.
const restoreChunk = 8 << 20

// Restore sends the dump chain read from r to the server, to be restored
// into its empty replica of group id, and returns how many dumps it held
// and the objects the replica has.
func (c *Client) Restore(ctx context.Context, id uint32, r io.Reader) (dumps uint32, files uint64, err error) {
	req := &proto.RestoreChunk{Volume: id}
	buf := make([]byte, restoreChunk)
	for {
		n, rerr := io.ReadFull(r, buf)
		if rerr != nil && rerr != io.EOF && rerr != io.ErrUnexpectedEOF {
			return 0, 0, rerr
		}
		req.Final = rerr != nil
		var reply proto.RestoreReply
		opts := &rpc.CallOpts{Ident: c.ident}
		if n > 0 {
			opts.Upload = &rpc.Source{R: bytes.NewReader(buf[:n]), Size: int64(n)}
		}
		cctx, cancel := withTimeout(ctx)
		err := c.conn.Call(cctx, proto.OpRestore, req, &reply, opts)
		cancel()
		if err != nil {
			return 0, 0, err
		}
		if req.Final {
			return reply.Dumps, reply.Files, nil
		}
		req.Session = reply.Session
	}
}
