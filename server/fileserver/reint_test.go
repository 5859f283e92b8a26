package fileserver_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/coda-fs/coda/server/proto"
	"github.com/coda-fs/coda/server/rpc"
)

// TestReintegrateOverTheWire: a batch of creates and stores, their data one
// stream (a file large enough for a container, a small one kept inline, an
// empty one), is applied as one; sent again it changes nothing; a batch
// with a refused record applies nothing and says which record; another
// client's batch is refused.
func TestReintegrateOverTheWire(t *testing.T) {
	s, root := setup(t)
	a := s.Client()
	var fids proto.FIDList
	if err := a.Call(proto.OpAllocFIDs, &proto.AllocFIDs{Volume: root.Volume, Count: 4}, &fids, nil); err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte("reintegrate "), 40000)
	small := []byte("a small file")
	files := []struct {
		name string
		data []byte
	}{{"big", big}, {"small", small}, {"empty", nil}}
	var recs []proto.ReintRecord
	var stream []byte
	for i, f := range files {
		fid := fids.FIDs[i]
		recs = append(recs,
			proto.ReintRecord{Op: proto.OpCreate, Req: proto.Marshal(&proto.Create{Dir: root, Name: f.name, Mode: 0o644, FID: fid, StoreID: a.NextStoreID()})},
			proto.ReintRecord{Op: proto.OpStore, Req: proto.Marshal(&proto.Store{FID: fid, Size: int64(len(f.data)), StoreID: a.NextStoreID()})})
		stream = append(stream, f.data...)
	}
	send := func(c interface {
		Call(proto.Op, proto.Message, proto.Message, *rpc.CallOpts) error
		NextStoreID() proto.StoreID
	}, recs []proto.ReintRecord, data []byte) (proto.ReintegrateReply, error) {
		var out proto.ReintegrateReply
		var opts *rpc.CallOpts
		if len(data) > 0 {
			opts = &rpc.CallOpts{Upload: &rpc.Source{R: bytes.NewReader(data), Size: int64(len(data))}}
		}
		err := c.Call(proto.OpReintegrate, &proto.Reintegrate{Volume: root.Volume, StoreID: c.NextStoreID(), Records: recs}, &out, opts)
		return out, err
	}
	check := func(when string) {
		t.Helper()
		for i, f := range files {
			attr, got, err := a.Fetch(fids.FIDs[i])
			if err != nil || !bytes.Equal(got, f.data) || attr.Size != int64(len(f.data)) {
				t.Fatalf("%s: %s: %v, %d bytes of %d", when, f.name, err, len(got), len(f.data))
			}
		}
	}
	out, err := send(a, recs, stream)
	if err != nil || out.Refused != 0 || len(out.Attrs) != 4 {
		t.Fatalf("batch: %v, refused %d, %d statuses", err, out.Refused, len(out.Attrs))
	}
	check("after the batch")
	dir, _ := a.GetAttr(root)
	if out, err = send(a, recs, stream); err != nil || out.Refused != 0 {
		t.Fatalf("batch sent again: %v, refused %d", err, out.Refused)
	}
	check("after the batch was sent again")
	if again, _ := a.GetAttr(root); again.VV != dir.VV {
		t.Fatalf("the batch sent again changed the directory: %v → %v", dir.VV, again.VV)
	}

	bad := []proto.ReintRecord{
		{Op: proto.OpCreate, Req: proto.Marshal(&proto.Create{Dir: root, Name: "x", Mode: 0o644, FID: fids.FIDs[3], StoreID: a.NextStoreID()})},
		{Op: proto.OpCreate, Req: proto.Marshal(&proto.Create{Dir: root, Name: "big", Mode: 0o644, StoreID: a.NextStoreID()})},
	}
	out, err = send(a, bad, nil)
	if err != nil || out.Refused != 2 || !errors.Is(out.Err(), proto.ErrExists) {
		t.Fatalf("a batch with a refused record: %v, refused %d (%v)", err, out.Refused, out.Err())
	}
	if _, err := a.Lookup(root, "x"); !errors.Is(err, proto.ErrNotFound) {
		t.Fatalf("a refused batch created x: %v", err)
	}

	var other proto.ReintegrateReply
	err = s.Client().Call(proto.OpReintegrate, &proto.Reintegrate{Volume: root.Volume, StoreID: a.NextStoreID(), Records: bad[:1]}, &other, nil)
	if !errors.Is(err, proto.ErrAccess) {
		t.Fatalf("another client's batch: %v, want EACCES", err)
	}
	if _, err := send(a, []proto.ReintRecord{{Op: proto.OpFetch, Req: nil}}, nil); !errors.Is(err, proto.Errorf(proto.CodeProtocol, "")) {
		t.Fatalf("a batch carrying a fetch: %v, want a protocol error", err)
	}
}
