package fileserver

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/coda-fs/coda/server/proto"
	"github.com/coda-fs/coda/server/rpc"
	"github.com/coda-fs/coda/server/volume"
)

// A dump goes to volutil in pieces (dumpChunk bytes each, one request
// each): a session runs volume.Dump into a pipe, and each request reads
// the next piece. A session nobody asks for a piece of in dumpIdle ends.
const (
	dumpChunk = 8 << 20
	dumpIdle  = 10 * time.Minute
)

type dumpSession struct {
	pr   *io.PipeReader
	info volume.DumpInfo // once the pipe ended
}

func (d *dumpSession) abandon() { d.pr.CloseWithError(errors.New("the dump was abandoned")) }

// dump serves volutil dump (admin key only): the next piece of a dump of
// a clone held here.
func (s *Server) dump(ctx context.Context, cl *client, r *rpc.Request, req *proto.DumpRequest) (proto.Message, *rpc.Source, error) {
	if !cl.admin {
		return nil, nil, proto.Errorf(proto.CodeAccess, "dump needs the admin key")
	}
	id := req.Session
	var sess *dumpSession
	if id == 0 {
		v, err := s.cfg.Volumes.ByName(req.Volume)
		if err != nil {
			return nil, nil, err
		}
		if _, _, ok := v.IsClone(); !ok {
			return nil, nil, proto.Errorf(proto.CodeInvalid, fmt.Sprintf("volume %s is read-write and changes under a dump: back it up first (volutil backup %s) and dump %s.backup", req.Volume, req.Volume, req.Volume))
		}
		var b [8]byte
		rand.Read(b[:])
		id = binary.LittleEndian.Uint64(b[:]) | 1
		pr, pw := io.Pipe()
		sess = &dumpSession{pr: pr}
		go func() {
			info, err := v.Dump(pw, req.Level, s.cfg.ServerID, time.Now().UnixNano())
			sess.info = info // read after the pipe's end, which orders it
			if err != nil {
				s.log.Warn("dump failed", "volume", req.Volume, "err", err)
			}
			pw.CloseWithError(err)
		}()
	} else {
		var err error
		if sess, err = s.dumps.take(id); err != nil {
			return nil, nil, err
		}
	}
	buf := make([]byte, dumpChunk)
	n, err := io.ReadFull(sess.pr, buf)
	done := err == io.EOF || err == io.ErrUnexpectedEOF
	if err != nil && !done {
		s.dumps.put(id, sess, true)
		return nil, nil, fmt.Errorf("dump %s: %w", req.Volume, err)
	}
	s.dumps.put(id, sess, done)
	reply := &proto.DumpChunk{Session: id, Done: done}
	if done {
		reply.Level, reply.BaseLevel = sess.info.Level, sess.info.BaseLevel
	}
	return reply, &rpc.Source{R: bytes.NewReader(buf[:n]), Size: int64(n)}, nil
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
	level, frozen, ok := v.LastDump()
	if !ok {
		return nil, nil, proto.Errorf(proto.CodeNotFound, fmt.Sprintf("no dump of a clone of %s was written on this server: run ancient against the server that dumped it (-h)", req.Volume))
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
