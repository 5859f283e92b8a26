package fileserver

import (
	"context"
	"errors"
	"fmt"

	"github.com/coda-fs/coda/server/proto"
	"github.com/coda-fs/coda/server/rpc"
	"github.com/coda-fs/coda/server/store"
	"github.com/coda-fs/coda/server/volume"
)

// reintegrate applies a batch of a client's logged updates in one volume
// transaction (volume.Reintegrate). The stores' data arrives as one
// stream, each store's bytes in record order; it is received into a
// container (or memory, for small files) per store before the batch is
// applied. A refused record is a reply, not an error: the client learns
// which record and why, and that nothing of the batch was applied.
func (s *Server) reintegrate(ctx context.Context, cl *client, r *rpc.Request, req *proto.Reintegrate) (proto.Message, *rpc.Source, error) {
	items, err := s.decodeBatch(cl, req)
	var v *volume.Volume
	if err == nil {
		v, err = s.cfg.Volumes.ByID(req.Volume)
	}
	if err != nil {
		if r.Data != nil {
			r.Data.Discard()
		}
		return nil, nil, err
	}
	var data []*batchStore
	for _, it := range items {
		if it.data != nil {
			data = append(data, it.data)
		}
	}
	if err := s.receiveBatch(r, data); err != nil {
		return nil, nil, err
	}
	batch := make([]volume.Record, len(items))
	for i, it := range items {
		if batch[i], err = s.batchRecord(cl, it); err != nil {
			for _, d := range data {
				s.cfg.DB.RemoveContainer(d.id)
			}
			return nil, nil, err
		}
	}
	attrs, ch, err := v.Reintegrate(s.cred(cl, r), req.StoreID, batch)
	var refused *volume.RecordError
	if errors.As(err, &refused) {
		return &proto.ReintegrateReply{Refused: uint32(refused.Index) + 1, Code: proto.CodeOf(refused.Err), Msg: refused.Err.Error()}, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	s.finish(cl, ch)
	return &proto.ReintegrateReply{Attrs: attrs}, nil, nil
}

// batchItem is one decoded record of a batch.
type batchItem struct {
	op   proto.Op
	req  proto.Message
	data *batchStore // a store's data
}

// batchStore is the data of one store of a batch, once received.
type batchStore struct {
	size   int64
	id     store.ContainerID
	blocks int64
	inline []byte
	sink   rpc.Sink
	cw     *store.ContainerWriter
}

// decodeBatch decodes a batch's records, checking that each is an update
// of the batch's volume that a batch may carry.
func (s *Server) decodeBatch(cl *client, req *proto.Reintegrate) ([]batchItem, error) {
	if req.StoreID.Client != cl.id {
		return nil, proto.Errorf(proto.CodeAccess, "reintegration of another client's updates")
	}
	bad := func(i int, msg string) error {
		return proto.Errorf(proto.CodeProtocol, fmt.Sprintf("reintegrate record %d: %s", i, msg))
	}
	items := make([]batchItem, len(req.Records))
	for i, rec := range req.Records {
		it := batchItem{op: rec.Op, req: proto.NewLoggedRequest(rec.Op)}
		if it.req == nil {
			return nil, bad(i, fmt.Sprintf("%v cannot be reintegrated", rec.Op))
		}
		if err := proto.Unmarshal(rec.Req, it.req); err != nil {
			return nil, bad(i, fmt.Sprintf("malformed %v: %v", rec.Op, err))
		}
		var fids []proto.FID
		switch m := it.req.(type) {
		case *proto.Create:
			fids = []proto.FID{m.Dir}
			if rec.Op == proto.OpSymlink && m.Target == "" {
				return nil, bad(i, "empty symlink target")
			}
		case *proto.Remove:
			fids = []proto.FID{m.Dir}
		case *proto.Rename:
			fids = []proto.FID{m.FromDir, m.ToDir}
		case *proto.Link:
			fids = []proto.FID{m.Dir, m.Target}
		case *proto.Store:
			fids = []proto.FID{m.FID}
			if m.Size < 0 || m.Size > maxBatchData {
				return nil, bad(i, fmt.Sprintf("a store of %d bytes", m.Size))
			}
			it.data = &batchStore{size: m.Size}
		case *proto.SetAttr:
			fids = []proto.FID{m.FID}
		}
		for _, f := range fids {
			if f.Volume != req.Volume {
				return nil, bad(i, fmt.Sprintf("%v is not in volume %#x", f, req.Volume))
			}
		}
		items[i] = it
	}
	return items, nil
}

// maxBatchData bounds the data of one store of a batch (as a sanity check
// against sums that overflow).
const maxBatchData = 1 << 50

// receiveBatch receives the stores' data, one part after the other in the
// stream, each into a new durable container or, when small, memory.
func (s *Server) receiveBatch(r *rpc.Request, parts []*batchStore) error {
	var total int64
	for _, st := range parts {
		total += st.size
	}
	if total == 0 {
		if r.Data != nil {
			r.Data.Discard()
		}
		for _, st := range parts {
			st.inline = []byte{}
		}
		return nil
	}
	if r.Data == nil {
		return proto.Errorf(proto.CodeProtocol, "reintegrate: stores without data")
	}
	abort := func() {
		for _, st := range parts {
			if st.cw != nil {
				st.cw.Abort()
			}
			if st.id != 0 {
				s.cfg.DB.RemoveContainer(st.id)
			}
		}
	}
	for _, st := range parts {
		if st.size <= volume.InlineMax {
			st.sink = &memSink{max: st.size}
			continue
		}
		w, err := s.cfg.DB.NewContainer()
		if err != nil {
			abort()
			r.Data.Discard()
			return err
		}
		st.cw = w
		st.sink = &containerSink{w: w}
	}
	n, err := r.Data.Receive(&splitSink{parts: parts})
	if err == nil && n != total {
		err = proto.Errorf(proto.CodeProtocol, fmt.Sprintf("reintegrate announced %d bytes of data, sent %d", total, n))
	}
	if err != nil {
		abort()
		return err
	}
	for _, st := range parts {
		switch sk := st.sink.(type) {
		case *memSink:
			b := sk.b
			for len(b) > 0 && b[len(b)-1] == 0 {
				b = b[:len(b)-1]
			}
			st.inline = append([]byte{}, b...)
			st.blocks = (int64(len(st.inline)) + 4095) &^ 4095
		case *containerSink:
			w := st.cw
			st.cw = nil
			if sk.blocks == 0 {
				w.Abort()
				continue
			}
			id, err := w.Commit()
			if err != nil {
				abort()
				return err
			}
			st.id, st.blocks = id, sk.blocks
		}
	}
	return nil
}

// splitSink cuts one stream into consecutive parts, each its own sink.
// Data arrives in offset order, so the part being written only moves on.
type splitSink struct {
	parts []*batchStore
	cur   int
	base  int64 // stream offset of parts[cur]
}

func (s *splitSink) WriteAt(p []byte, off int64) (int, error) {
	n := 0
	for len(p) > 0 {
		for s.cur < len(s.parts) && off >= s.base+s.parts[s.cur].size {
			s.base += s.parts[s.cur].size
			s.cur++
		}
		if s.cur == len(s.parts) || off < s.base {
			return n, errSinkFull
		}
		st := s.parts[s.cur]
		k := min(int64(len(p)), s.base+st.size-off)
		if _, err := st.sink.WriteAt(p[:k], off-s.base); err != nil {
			return n, err
		}
		p, off, n = p[k:], off+k, n+int(k)
	}
	return n, nil
}

func (s *splitSink) Finish(int64) error {
	for _, st := range s.parts {
		if err := st.sink.Finish(st.size); err != nil {
			return err
		}
	}
	return nil
}

// batchRecord makes the volume record of a decoded batch record,
// registering the caller's promises on what it changes (as the handlers of
// single updates do).
func (s *Server) batchRecord(cl *client, it batchItem) (volume.Record, error) {
	switch req := it.req.(type) {
	case *proto.Create:
		typ := proto.TypeFile
		switch it.op {
		case proto.OpMkdir:
			typ = proto.TypeDir
		case proto.OpSymlink:
			typ = proto.TypeSymlink
		}
		s.cb.Add(cl, req.Dir)
		return volume.CreateRecord(volume.CreateArgs{Dir: req.Dir, Name: req.Name, Type: typ,
			Mode: req.Mode, GID: req.GID, Mtime: req.Mtime, Target: req.Target,
			StoreID: req.StoreID, FID: req.FID, Reserve: func(fid proto.FID) { s.cb.Add(cl, fid) }}), nil
	case *proto.Remove:
		s.cb.Add(cl, req.Dir)
		return volume.RemoveRecord(*req, it.op == proto.OpRmdir), nil
	case *proto.Rename:
		s.cb.Add(cl, req.FromDir)
		s.cb.Add(cl, req.ToDir)
		return volume.RenameRecord(*req), nil
	case *proto.Link:
		s.cb.Add(cl, req.Dir)
		s.cb.Add(cl, req.Target)
		return volume.LinkRecord(req.Dir, req.Name, req.Target, req.StoreID), nil
	case *proto.Store:
		s.cb.Add(cl, req.FID)
		d := it.data
		return volume.StoreRecord(volume.StoreArgs{FID: req.FID, Container: d.id, Size: req.Size, Blocks: d.blocks,
			Inline: d.inline, Mtime: req.Mtime, StoreID: req.StoreID, Base: req.Base, HasBase: req.HasBase}), nil
	case *proto.SetAttr:
		s.cb.Add(cl, req.FID)
		return volume.SetAttrRecord(*req)
	}
	return volume.Record{}, proto.Errorf(proto.CodeProtocol, "reintegrate: unexpected record")
}
