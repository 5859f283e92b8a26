package fileserver

import (
	"context"
	"fmt"
	"io"

	"github.com/coda-fs/coda/backup"
	"github.com/coda-fs/coda/server/proto"
	"github.com/coda-fs/coda/server/rpc"
	"github.com/coda-fs/coda/server/volume"
)

// A restore arrives in pieces (one request each, all on one connection)
// that a session writes into a pipe; a goroutine reads the chain of dumps
// from it and applies it to the volume. A session ends, failed, when its
// connection ends or nobody sends a piece in dumpIdle.
type restoreSession struct {
	pw     *io.PipeWriter
	done   chan struct{} // closed when the goroutine ended
	err    error         // its result, once done
	dumps  uint32
	volume uint32
}

func (r *restoreSession) abandon() { r.pw.CloseWithError(fmt.Errorf("the restore was abandoned")) }

// pipeSink writes an uploaded piece, in order, into a pipe.
type pipeSink struct {
	w   io.Writer
	off int64
}

func (p *pipeSink) WriteAt(b []byte, off int64) (int, error) {
	if off != p.off {
		return 0, proto.Errorf(proto.CodeProtocol, fmt.Sprintf("restore data at %d, expected %d", off, p.off))
	}
	n, err := p.w.Write(b)
	p.off += int64(n)
	return n, err
}

func (p *pipeSink) Finish(int64) error { return nil }

// restore serves volutil restore (admin key only).
func (s *Server) restore(ctx context.Context, cl *client, r *rpc.Request, req *proto.RestoreChunk) (proto.Message, *rpc.Source, error) {
	if !cl.admin {
		if r.Data != nil {
			r.Data.Discard()
		}
		return nil, nil, proto.Errorf(proto.CodeAccess, "restore needs the admin key")
	}
	id := req.Session
	var sess *restoreSession
	if id == 0 {
		v, err := s.cfg.Volumes.ByID(req.Volume)
		var rs *volume.Restorer
		if err == nil {
			rs, err = v.StartRestore()
		}
		if err != nil {
			if r.Data != nil {
				r.Data.Discard()
			}
			return nil, nil, err
		}
		id = newSessionID()
		pr, pw := io.Pipe()
		sess = &restoreSession{pw: pw, done: make(chan struct{}), volume: req.Volume}
		go func() {
			defer close(sess.done)
			n, err := applyChain(pr, rs)
			sess.dumps = n
			if err == nil {
				err = rs.Finish()
			} else {
				rs.Abort()
			}
			sess.err = err
			pr.CloseWithError(err)
		}()
		endWithConn(r.Conn, sess.done, sess.abandon)
	} else {
		var err error
		if sess, err = s.restores.take(id); err != nil {
			if r.Data != nil {
				r.Data.Discard()
			}
			return nil, nil, err
		}
		if sess.volume != req.Volume {
			s.restores.put(id, sess, false)
			return nil, nil, proto.Errorf(proto.CodeInvalid, "a restore session of another volume")
		}
	}
	var err error
	if r.Data != nil {
		_, err = r.Data.Receive(&pipeSink{w: sess.pw})
	}
	if err == nil && !req.Final {
		s.restores.put(id, sess, false)
		return &proto.RestoreReply{Session: id}, nil, nil
	}
	s.restores.put(id, sess, true)
	if err != nil {
		sess.pw.CloseWithError(err)
	} else {
		sess.pw.Close()
	}
	<-sess.done
	if sess.err != nil {
		return nil, nil, fmt.Errorf("restore: %w", sess.err)
	}
	if err != nil {
		return nil, nil, err
	}
	v, err := s.cfg.Volumes.ByID(req.Volume)
	if err != nil {
		return nil, nil, err
	}
	s.cb.Break([]proto.FID{{Volume: req.Volume}}, nil)
	return &proto.RestoreReply{Session: id, Dumps: sess.dumps, Files: v.Info().Files}, nil, nil
}

// applyChain reads the dumps of a chain from r and applies them.
func applyChain(r io.Reader, rs *volume.Restorer) (uint32, error) {
	rd, err := backup.NewChainReader(r)
	if err != nil {
		return 0, err
	}
	defer rd.Close()
	var dumps uint32
	for {
		for {
			rec, err := rd.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				return dumps, err
			}
			if err := rs.Apply(rec); err != nil {
				return dumps, err
			}
		}
		dumps++
		if err := rd.NextDump(); err == io.EOF {
			return dumps, nil
		} else if err != nil {
			return dumps, err
		}
	}
}
