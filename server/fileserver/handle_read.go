package fileserver

import (
	"bytes"
	"context"
	"io"

	"golang.org/x/sys/unix"

	"github.com/coda-fs/coda/server/proto"
	"github.com/coda-fs/coda/server/rpc"
	"github.com/coda-fs/coda/server/store"
	"github.com/coda-fs/coda/server/volume"
)

// Every read that returns an object's status to a venus gives it a callback
// promise on that object. The promise is registered before the state is
// read, so a change that races with the read is broken, never missed.

func (s *Server) getAttr(ctx context.Context, cl *client, r *rpc.Request, req *proto.FIDReq) (proto.Message, *rpc.Source, error) {
	v, err := s.volume(req.FID)
	if err != nil {
		return nil, nil, err
	}
	s.cb.Add(cl, req.FID)
	a, err := v.GetAttr(s.cred(cl, r), req.FID)
	if err != nil {
		return nil, nil, err
	}
	return &proto.AttrReply{Attr: a}, nil, nil
}

// validate answers a batch of cached versions in one round trip.
func (s *Server) validate(ctx context.Context, cl *client, r *rpc.Request, req *proto.Validate) (proto.Message, *rpc.Source, error) {
	out := &proto.ValidateReply{Results: make([]proto.ValidateResult, len(req.Items))}
	c := s.cred(cl, r)
	for i, it := range req.Items {
		v, err := s.volume(it.FID)
		if err == nil {
			s.cb.Add(cl, it.FID)
			out.Results[i].Attr, err = v.GetAttr(c, it.FID)
		}
		out.Results[i].Code = proto.CodeOf(err)
	}
	return out, nil, nil
}

func (s *Server) lookup(ctx context.Context, cl *client, r *rpc.Request, req *proto.Lookup) (proto.Message, *rpc.Source, error) {
	v, err := s.volume(req.Dir)
	if err != nil {
		return nil, nil, err
	}
	a, err := v.Lookup(s.cred(cl, r), req.Dir, req.Name)
	if err != nil {
		return nil, nil, err
	}
	s.cb.Add(cl, a.FID)
	if a, err = v.GetAttr(s.cred(cl, r), a.FID); err != nil { // fresh, now that the promise is held
		return nil, nil, err
	}
	return &proto.AttrReply{Attr: a}, nil, nil
}

func (s *Server) readDir(ctx context.Context, cl *client, r *rpc.Request, req *proto.ReadDir) (proto.Message, *rpc.Source, error) {
	v, err := s.volume(req.Dir)
	if err != nil {
		return nil, nil, err
	}
	s.cb.Add(cl, req.Dir)
	dir, entries, more, err := v.ReadDir(s.cred(cl, r), req.Dir, req.After, int(req.Max))
	if err != nil {
		return nil, nil, err
	}
	return &proto.ReadDirReply{Dir: dir, Entries: entries, More: more}, nil, nil
}

func (s *Server) readlink(ctx context.Context, cl *client, r *rpc.Request, req *proto.FIDReq) (proto.Message, *rpc.Source, error) {
	v, err := s.volume(req.FID)
	if err != nil {
		return nil, nil, err
	}
	target, err := v.Readlink(s.cred(cl, r), req.FID)
	if err != nil {
		return nil, nil, err
	}
	return &proto.ReadlinkReply{Target: target}, nil, nil
}

// getPath returns an object's path inside its volume (cfs getpath).
func (s *Server) getPath(ctx context.Context, cl *client, r *rpc.Request, req *proto.FIDReq) (proto.Message, *rpc.Source, error) {
	v, err := s.volume(req.FID)
	if err != nil {
		return nil, nil, err
	}
	path, err := v.Path(s.cred(cl, r), req.FID)
	if err != nil {
		return nil, nil, err
	}
	return &proto.Text{Text: path}, nil, nil
}

// fetch streams a file's whole content after its status.
func (s *Server) fetch(ctx context.Context, cl *client, r *rpc.Request, req *proto.FIDReq) (proto.Message, *rpc.Source, error) {
	v, err := s.volume(req.FID)
	if err != nil {
		return nil, nil, err
	}
	s.cb.Add(cl, req.FID)
	d, err := v.OpenData(s.cred(cl, r), req.FID)
	if err != nil {
		return nil, nil, err
	}
	return &proto.AttrReply{Attr: d.Attr}, dataSource(d, d.Attr.Size), nil
}

// dataSource streams d (size bytes). The rpc layer reads it after the
// handler returns and calls Release, which closes the container, when it
// is done with it.
func dataSource(d *volume.Data, size int64) *rpc.Source {
	if d.Inline != nil {
		ext := []rpc.Extent{}
		if len(d.Inline) > 0 {
			ext = []rpc.Extent{{Off: 0, Len: int64(len(d.Inline))}}
		}
		return &rpc.Source{R: bytes.NewReader(d.Inline), Size: size, Extents: ext}
	}
	if d.Container == nil {
		return &rpc.Source{R: zeroReader{}, Size: size, Extents: []rpc.Extent{}}
	}
	ct := d.Container
	return &rpc.Source{R: ct.NewReader(size), Size: size,
		Extents: containerExtents(ct, size), Release: func() { ct.Close() }}
}

type zeroReader struct{}

func (zeroReader) ReadAt(p []byte, off int64) (int, error) { return 0, io.EOF }

// containerExtents returns the data extents of a container clipped to size,
// using SEEK_DATA/SEEK_HOLE when the container is a real file; nil (one
// extent: everything) otherwise.
func containerExtents(c *store.Container, size int64) []rpc.Extent {
	fd := c.Fd()
	if fd == ^uintptr(0) || size == 0 {
		return nil
	}
	var out []rpc.Extent
	for off := int64(0); off < size; {
		data, err := unix.Seek(int(fd), off, unix.SEEK_DATA)
		if err != nil || data >= size {
			break // ENXIO: no data past off
		}
		hole, err := unix.Seek(int(fd), data, unix.SEEK_HOLE)
		if err != nil {
			return nil
		}
		if hole > size {
			hole = size
		}
		out = append(out, rpc.Extent{Off: data, Len: hole - data})
		off = hole
	}
	if out == nil {
		out = []rpc.Extent{}
	}
	return out
}
