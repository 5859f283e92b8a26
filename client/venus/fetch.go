package venus

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/coda-fs/coda/server/proto"
	"github.com/coda-fs/coda/server/rpc"
)

// fileSink writes a fetched stream into a container: only the data extents
// are written and Finish sets the size, so holes stay holes.
type fileSink struct {
	f *os.File
	n int64
}

func (s *fileSink) WriteAt(p []byte, off int64) (int, error) {
	n, err := s.f.WriteAt(p, off)
	s.n += int64(n)
	return n, err
}

func (s *fileSink) Finish(size int64) error { return s.f.Truncate(size) }

// Reset empties the container for a fetch retried on another replica.
func (s *fileSink) Reset() error {
	s.n = 0
	return s.f.Truncate(0)
}

// fetch reads o's whole current content into a new container, makes it
// durable, and records it. Called with o.io held and o not open.
func (v *Venus) fetch(ctx context.Context, c Caller, o *object) (*os.File, error) {
	f, name, err := v.conts.create()
	if err != nil {
		return nil, err
	}
	sink := &fileSink{f: f}
	var r proto.AttrReply
	start := time.Now()
	st, err := v.callVol(ctx, c, o.fid.Volume, proto.OpFetch, &proto.FIDReq{FID: o.fid}, &r, &rpc.CallOpts{Download: sink})
	if err == nil {
		v.noteTransfer(r.Attr.Size, time.Since(start))
		err = v.conts.commit(f, name)
	}
	var cst fileStat
	var blocks int64
	if err == nil {
		cst, blocks, err = fstat(f)
	}
	if err != nil {
		v.conts.abort(f, name)
		return nil, v.forgetIfGone(o, err)
	}
	v.stats.fetchedBytes.Add(sink.n)
	v.event(&c, EventFetch, o.fid, fmt.Sprintf("%d bytes", r.Attr.Size))
	v.mu.Lock()
	v.applyAttr(o, r.Attr, st)
	v.dropContainer(o)
	o.cont, o.contVV, o.contStat, o.pending = name, r.Attr.VV, cst, false
	v.markUnsynced(o)
	v.setContBytes(o, blocks)
	o.lastUse = time.Now().UnixNano()
	v.meta.putObject(o)
	v.mu.Unlock()
	return f, nil
}
