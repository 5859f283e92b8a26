package fileserver

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/coda-fs/coda/server/proto"
	"github.com/coda-fs/coda/server/rpc"
	"github.com/coda-fs/coda/server/volume"
)

// A dump goes to volutil in pieces (dumpChunk bytes each, one request
// each): a session's goroutine runs volume.Dump, cutting its output into
// pieces queued up to dumpAhead ahead, so that reading the volume overlaps
// with sending; each request takes the next piece, and the request after
// the last learns that the dump is done. A session nobody asks for a
// piece of in dumpIdle ends.
const (
	dumpChunk = 8 << 20
	dumpAhead = 3
	dumpIdle  = 10 * time.Minute
)

type dumpSession struct {
	chunks chan []byte   // closed when the dump ended
	free   chan []byte   // pieces sent, for reuse
	stop   chan struct{} // closed when the session is abandoned
	ended  chan struct{} // closed after chunks
	once   sync.Once
	info   volume.DumpInfo // once chunks is closed
	err    error
}

func (d *dumpSession) abandon() { d.once.Do(func() { close(d.stop) }) }

// chunkWriter cuts what is written into pieces of at most dumpChunk bytes
// for a session. It is a backup.Reserver: file data is read straight into
// the piece that is sent.
type chunkWriter struct {
	buf  []byte
	sess *dumpSession
}

// room makes sure the current piece has n bytes free (n ≤ dumpChunk),
// sending it if not.
func (w *chunkWriter) room(n int) error {
	if w.buf != nil && dumpChunk-len(w.buf) >= n {
		return nil
	}
	if err := w.send(); err != nil {
		return err
	}
	select {
	case w.buf = <-w.sess.free:
	default:
		w.buf = make([]byte, 0, dumpChunk)
	}
	return nil
}

// Reserve lends the next n bytes of the current piece (a new piece when
// they do not fit); a Write of them commits them.
func (w *chunkWriter) Reserve(n int) []byte {
	if err := w.room(n); err != nil {
		return make([]byte, n) // the Write after it fails the same way
	}
	return w.buf[len(w.buf) : len(w.buf)+n]
}

func (w *chunkWriter) Write(p []byte) (int, error) {
	n := len(p)
	if n > 0 && w.buf != nil && len(w.buf)+n <= cap(w.buf) && &w.buf[:len(w.buf)+1][len(w.buf)] == &p[0] {
		w.buf = w.buf[:len(w.buf)+n] // reserved: already in place
		return n, nil
	}
	for len(p) > 0 {
		if err := w.room(1); err != nil {
			return 0, err
		}
		k := copy(w.buf[len(w.buf):dumpChunk], p)
		w.buf, p = w.buf[:len(w.buf)+k], p[k:]
	}
	return n, nil
}

func (w *chunkWriter) send() error {
	if len(w.buf) == 0 {
		return nil
	}
	select {
	case w.sess.chunks <- w.buf:
		w.buf = nil
		return nil
	case <-w.sess.stop:
		return errors.New("the dump was abandoned")
	}
}

// dump serves volutil dump (admin key only): the next piece of a dump of
// a clone held here.
func (s *Server) dump(ctx context.Context, cl *client, r *rpc.Request, req *proto.DumpRequest) (proto.Message, *rpc.Source, error) {
	if !cl.admin {
		return nil, nil, proto.Errorf(proto.CodeAccess, "dump needs the admin key")
	}
	id := req.Session
	var sess *dumpSession
	if id == 0 {
		v, err := s.cfg.Volumes.ByName(req.Volume) // Dump refuses a read-write one
		if err != nil {
			return nil, nil, err
		}
		id = newSessionID()
		sess = &dumpSession{chunks: make(chan []byte, dumpAhead), free: make(chan []byte, dumpAhead+2),
			stop: make(chan struct{}), ended: make(chan struct{})}
		go func() {
			w := &chunkWriter{sess: sess}
			o := volume.DumpOptions{Level: req.Level, Server: s.cfg.ServerID, Now: time.Now().UnixNano()}
			if s.cfg.Names != nil {
				o.Names = s.cfg.Names.Name
			}
			info, err := v.Dump(w, o)
			if err == nil {
				err = w.send()
			}
			if err != nil {
				s.log.Warn("dump failed", "volume", req.Volume, "err", err)
			}
			sess.info, sess.err = info, err // read after chunks is closed, which orders it
			close(sess.chunks)
			close(sess.ended)
		}()
		endWithConn(r.Conn, sess.ended, sess.abandon) // a dump its connection left stops
	} else {
		var err error
		if sess, err = s.dumps.take(id); err != nil {
			return nil, nil, err
		}
	}
	var chunk []byte
	var ok bool
	select {
	case chunk, ok = <-sess.chunks:
	case <-ctx.Done():
		s.dumps.put(id, sess, false)
		return nil, nil, ctx.Err()
	}
	if !ok {
		s.dumps.put(id, sess, true)
		if sess.err != nil {
			return nil, nil, fmt.Errorf("dump %s: %w", req.Volume, sess.err)
		}
		return &proto.DumpChunk{Session: id, Done: true, Level: sess.info.Level, BaseLevel: sess.info.BaseLevel}, nil, nil
	}
	s.dumps.put(id, sess, false)
	release := func() {
		select {
		case sess.free <- chunk[:0]:
		default:
		}
	}
	return &proto.DumpChunk{Session: id}, &rpc.Source{Data: chunk, Size: int64(len(chunk)), Unsummed: true, Release: release}, nil
}

// ancient serves volutil ancient (admin key only). With Local it marks
// the named dump on this server's replica; else it names the last dump
// written here and has every replica mark it.
func (s *Server) ancient(ctx context.Context, cl *client, r *rpc.Request, req *proto.Ancient) (proto.Message, *rpc.Source, error) {
	if !cl.admin {
		return nil, nil, proto.Errorf(proto.CodeAccess, "ancient needs the admin key")
	}
	if req.Local {
		v, err := s.cfg.Volumes.ByID(req.ID)
		if err != nil {
			return nil, nil, err
		}
		level, err := v.Ancient(req.Level, req.Frozen)
		if err != nil {
			return nil, nil, err
		}
		return &proto.Text{Text: fmt.Sprintf("level %d marked good", level)}, nil, nil
	}
	v, err := s.cfg.Volumes.ByName(req.Volume)
	if err != nil {
		return nil, nil, err
	}
	level, frozen, err := v.LastDump()
	if proto.CodeOf(err) == proto.CodeNotFound {
		return nil, nil, proto.Errorf(proto.CodeNotFound, err.Error()+": run ancient against the server that dumped it (-h)")
	}
	if err != nil {
		return nil, nil, err
	}
	info := v.Info()
	lines, err := s.onReplicas(ctx, info, func(v *volume.Volume) (string, error) {
		l, err := v.Ancient(level, frozen)
		return fmt.Sprintf("level %d marked good", l), err
	}, func(ctx context.Context, conn *rpc.Conn, rep proto.Replica) (string, error) {
		var out proto.Text
		err := conn.Call(ctx, proto.OpAncient, &proto.Ancient{ID: info.ID, Level: level, Frozen: frozen, Local: true}, &out, nil)
		return out.Text, err
	})
	if err != nil {
		return nil, nil, err
	}
	return &proto.Text{Text: strings.Join(lines, "\n")}, nil, nil
}

// dumpEstimate serves volutil dumpestimate: the estimated bytes of a dump
// of a clone at each level 0-9, on one line.
func (s *Server) dumpEstimate(ctx context.Context, cl *client, r *rpc.Request, req *proto.VolumeRef) (proto.Message, *rpc.Source, error) {
	if !cl.admin {
		return nil, nil, proto.Errorf(proto.CodeAccess, "dumpestimate needs the admin key")
	}
	v, err := s.cfg.Volumes.ByName(req.Name)
	if err != nil {
		return nil, nil, err
	}
	est, err := v.Estimate()
	if err != nil {
		return nil, nil, err
	}
	f := make([]string, len(est))
	for i, n := range est {
		f[i] = fmt.Sprint(n)
	}
	return &proto.Text{Text: strings.Join(f, " ")}, nil, nil
}
