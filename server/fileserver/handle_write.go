package fileserver

import (
	"context"
	"fmt"

	"github.com/coda-fs/coda/server/proto"
	"github.com/coda-fs/coda/server/rpc"
	"github.com/coda-fs/coda/server/store"
	"github.com/coda-fs/coda/server/volume"
)

// Every mutation follows one order: the caller's promises on the objects it
// changes are registered first (so a racing change by someone else breaks
// them), the change is applied and made durable, the other holders' promises
// are broken — each break delivered or its holder's connection closed — and
// only then is the change acknowledged.

// finish breaks the callbacks a change requires, except the caller's.
func (s *Server) finish(cl *client, ch *volume.Change) {
	if ch != nil {
		s.cb.Break(ch.FIDs, cl)
	}
}

// store receives a file's new content into a new container, makes it
// durable, then swaps it in.
func (s *Server) store(ctx context.Context, cl *client, r *rpc.Request, req *proto.Store) (proto.Message, *rpc.Source, error) {
	var id store.ContainerID
	var blocks int64
	var inline []byte
	var err error
	if req.Size <= volume.InlineMax {
		inline, err = receiveInline(r, req.Size)
		blocks = (int64(len(inline)) + 4095) &^ 4095
	} else {
		id, blocks, err = s.receive(r, req.Size)
	}
	if err != nil {
		return nil, nil, err
	}
	v, err := s.volume(req.FID)
	if err != nil {
		s.cfg.DB.RemoveContainer(id)
		return nil, nil, err
	}
	s.cb.Add(cl, req.FID)
	a, ch, err := v.Store(s.cred(cl, r), volume.StoreArgs{FID: req.FID, Container: id, Size: req.Size,
		Blocks: blocks, Mtime: req.Mtime, StoreID: req.StoreID, Inline: inline, Base: req.Base, HasBase: req.HasBase})
	if err != nil || ch.Duplicate {
		if id != 0 {
			s.cfg.DB.RemoveContainer(id)
		}
		if err != nil {
			return nil, nil, err
		}
	}
	s.finish(cl, ch)
	return &proto.AttrReply{Attr: a}, nil, nil
}

// receive writes the uploaded data into a new durable container. An upload
// with no data bytes needs no container (id 0).
func (s *Server) receive(r *rpc.Request, size int64) (store.ContainerID, int64, error) {
	if r.Data == nil {
		if size != 0 {
			return 0, 0, proto.Errorf(proto.CodeProtocol, "store without data")
		}
		return 0, 0, nil
	}
	w, err := s.cfg.DB.NewContainer()
	if err != nil {
		r.Data.Discard()
		return 0, 0, err
	}
	sink := &containerSink{w: w}
	n, err := r.Data.Receive(sink)
	if err == nil && n != size {
		err = proto.Errorf(proto.CodeProtocol, fmt.Sprintf("store announced %d bytes, sent %d", size, n))
	}
	if err != nil {
		w.Abort()
		return 0, 0, err
	}
	if sink.blocks == 0 {
		w.Abort()
		return 0, 0, nil
	}
	id, err := w.Commit()
	if err != nil {
		return 0, 0, err
	}
	return id, sink.blocks, nil
}

// receiveInline receives a small file's data into memory; trailing zeros
// are dropped (reads fill them in up to the size).
func receiveInline(r *rpc.Request, size int64) ([]byte, error) {
	if r.Data == nil {
		if size != 0 {
			return nil, proto.Errorf(proto.CodeProtocol, "store without data")
		}
		return []byte{}, nil
	}
	sink := &memSink{max: size}
	n, err := r.Data.Receive(sink)
	if err == nil && n != size {
		err = proto.Errorf(proto.CodeProtocol, fmt.Sprintf("store announced %d bytes, sent %d", size, n))
	}
	if err != nil {
		return nil, err
	}
	b := sink.b
	for len(b) > 0 && b[len(b)-1] == 0 {
		b = b[:len(b)-1]
	}
	return append([]byte{}, b...), nil
}

// errSinkFull: a stream brought more data than announced.
var errSinkFull = proto.Errorf(proto.CodeProtocol, "data beyond the announced size")

// memSink collects at most max bytes in memory.
type memSink struct {
	b   []byte
	max int64
}

func (s *memSink) WriteAt(p []byte, off int64) (int, error) {
	end := off + int64(len(p))
	if off < 0 || end > s.max {
		return 0, errSinkFull
	}
	if end > int64(len(s.b)) {
		s.b = append(s.b, make([]byte, end-int64(len(s.b)))...)
	}
	copy(s.b[off:], p)
	return len(p), nil
}

func (s *memSink) Finish(size int64) error { return nil }

// containerSink adapts a container writer to rpc.Sink and counts the
// allocated bytes (whole 4 KiB blocks touched by data).
type containerSink struct {
	w      *store.ContainerWriter
	blocks int64
	end    int64 // end of the last block counted
}

func (s *containerSink) WriteAt(p []byte, off int64) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	first, last := off&^4095, (off+int64(len(p))+4095)&^4095
	if first < s.end {
		first = s.end
	}
	if last > first {
		s.blocks += last - first
		s.end = last
	}
	return s.w.WriteAt(p, off)
}

func (s *containerSink) Finish(size int64) error { return s.w.Finish(size) }

// create serves create, mkdir and symlink.
func (s *Server) create(typ proto.ObjType) func(context.Context, *client, *rpc.Request, *proto.Create) (proto.Message, *rpc.Source, error) {
	return func(ctx context.Context, cl *client, r *rpc.Request, req *proto.Create) (proto.Message, *rpc.Source, error) {
		v, err := s.volume(req.Dir)
		if err != nil {
			return nil, nil, err
		}
		if typ == proto.TypeSymlink && req.Target == "" {
			return nil, nil, proto.Errorf(proto.CodeInvalid, "empty symlink target")
		}
		s.cb.Add(cl, req.Dir)
		dir, obj, ch, err := v.Create(s.cred(cl, r), volume.CreateArgs{Dir: req.Dir, Name: req.Name, Type: typ,
			Mode: req.Mode, GID: req.GID, Mtime: req.Mtime, Target: req.Target,
			StoreID: req.StoreID, FID: req.FID, Reserve: func(fid proto.FID) { s.cb.Add(cl, fid) }})
		if err != nil {
			return nil, nil, err
		}
		s.finish(cl, ch)
		return &proto.DirOpReply{Dir: dir, Attr: obj}, nil, nil
	}
}

// remove serves remove and rmdir.
func (s *Server) remove(rmdir bool) func(context.Context, *client, *rpc.Request, *proto.Remove) (proto.Message, *rpc.Source, error) {
	return func(ctx context.Context, cl *client, r *rpc.Request, req *proto.Remove) (proto.Message, *rpc.Source, error) {
		v, err := s.volume(req.Dir)
		if err != nil {
			return nil, nil, err
		}
		s.cb.Add(cl, req.Dir)
		dir, obj, ch, err := v.RemoveLogged(s.cred(cl, r), *req, rmdir)
		if err != nil {
			return nil, nil, err
		}
		s.finish(cl, ch)
		return &proto.DirOpReply{Dir: dir, Attr: obj}, nil, nil
	}
}

func (s *Server) rename(ctx context.Context, cl *client, r *rpc.Request, req *proto.Rename) (proto.Message, *rpc.Source, error) {
	if req.FromDir.Volume != req.ToDir.Volume {
		return nil, nil, proto.ErrCrossDevice
	}
	v, err := s.volume(req.FromDir)
	if err != nil {
		return nil, nil, err
	}
	s.cb.Add(cl, req.FromDir)
	s.cb.Add(cl, req.ToDir)
	res, ch, err := v.Rename(s.cred(cl, r), *req)
	if err != nil {
		return nil, nil, err
	}
	s.finish(cl, ch)
	return &proto.RenameReply{FromDir: res.FromDir, ToDir: res.ToDir, Attr: res.Obj, Replaced: res.Replaced}, nil, nil
}

func (s *Server) link(ctx context.Context, cl *client, r *rpc.Request, req *proto.Link) (proto.Message, *rpc.Source, error) {
	v, err := s.volume(req.Dir)
	if err != nil {
		return nil, nil, err
	}
	s.cb.Add(cl, req.Dir)
	s.cb.Add(cl, req.Target)
	dir, obj, ch, err := v.Link(s.cred(cl, r), req.Dir, req.Name, req.Target, req.StoreID)
	if err != nil {
		return nil, nil, err
	}
	s.finish(cl, ch)
	return &proto.DirOpReply{Dir: dir, Attr: obj}, nil, nil
}

func (s *Server) setAttr(ctx context.Context, cl *client, r *rpc.Request, req *proto.SetAttr) (proto.Message, *rpc.Source, error) {
	v, err := s.volume(req.FID)
	if err != nil {
		return nil, nil, err
	}
	s.cb.Add(cl, req.FID)
	a, ch, err := v.SetAttr(s.cred(cl, r), *req)
	if err != nil {
		return nil, nil, err
	}
	s.finish(cl, ch)
	return &proto.AttrReply{Attr: a}, nil, nil
}

// allocFIDs reserves FIDs of this replica for creates a client will
// propose to every replica of the volume. Anonymous callers may not: each
// call spends vnode numbers.
func (s *Server) allocFIDs(ctx context.Context, cl *client, r *rpc.Request, req *proto.AllocFIDs) (proto.Message, *rpc.Source, error) {
	if c := s.cred(cl, r); c.UID <= 0 && !c.Admin {
		return nil, nil, proto.Errorf(proto.CodeAccess, "allocfids needs a token")
	}
	v, err := s.cfg.Volumes.ByID(req.Volume)
	if err != nil {
		return nil, nil, err
	}
	fids, err := v.AllocFIDs(int(min(req.Count, proto.MaxAllocFIDs)))
	if err != nil {
		return nil, nil, err
	}
	return &proto.FIDList{FIDs: fids}, nil, nil
}

// cop2 completes a replicated update the caller made (its store id names
// the caller's client): the other replicas that applied it join the
// version vectors of what it changed.
func (s *Server) cop2(ctx context.Context, cl *client, r *rpc.Request, req *proto.COP2) (proto.Message, *rpc.Source, error) {
	if req.StoreID.Client != cl.id {
		return nil, nil, proto.Errorf(proto.CodeAccess, "cop2 of another client's update")
	}
	if len(req.FIDs) == 0 {
		return &proto.Empty{}, nil, nil
	}
	v, err := s.volume(req.FIDs[0])
	if err != nil {
		return nil, nil, err
	}
	if err := v.COP2Confirmed(req.StoreID, req.Updated, req.Confirmed, req.FIDs); err != nil {
		return nil, nil, err
	}
	return &proto.Empty{}, nil, nil
}
