package fileserver_test

import (
	"context"
	"errors"
	"testing"

	"github.com/coda-fs/coda/server/proto"
	"github.com/coda-fs/coda/server/servertest"
)

// TestAllocFIDsAndProposedCreate: a client with a token reserves FIDs and
// creates with them over the wire; anonymous callers may not reserve; a
// FID in use is refused.
func TestAllocFIDsAndProposedCreate(t *testing.T) {
	s, root := setup(t)
	var fids proto.FIDList
	if err := s.AnonClient().Call(proto.OpAllocFIDs, &proto.AllocFIDs{Volume: root.Volume, Count: 2}, &fids, nil); !errors.Is(err, proto.ErrAccess) {
		t.Fatalf("anonymous allocfids: %v", err)
	}
	c := s.Client()
	if err := c.Call(proto.OpAllocFIDs, &proto.AllocFIDs{Volume: root.Volume, Count: 2}, &fids, nil); err != nil || len(fids.FIDs) != 2 {
		t.Fatalf("allocfids: %v %v", fids, err)
	}
	var out proto.DirOpReply
	if err := c.Call(proto.OpCreate, &proto.Create{Dir: root, Name: "f", Mode: 0o644, FID: fids.FIDs[1]}, &out, nil); err != nil || out.Attr.FID != fids.FIDs[1] {
		t.Fatalf("create with a proposed FID: %v %v", out.Attr.FID, err)
	}
	if err := c.Call(proto.OpCreate, &proto.Create{Dir: root, Name: "g", Mode: 0o644, FID: fids.FIDs[1]}, &out, nil); !errors.Is(err, proto.ErrExists) {
		t.Fatalf("a FID in use: %v", err)
	}
	if _, err := c.Lookup(root, "g"); !errors.Is(err, proto.ErrNotFound) {
		t.Fatalf("the refused create left %q: %v", "g", err)
	}
}

// TestCOP2OverTheWire: a client completes its own update; another
// client's COP2 for it is refused.
func TestCOP2OverTheWire(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	adm := s.Admin()
	info, err := adm.CreateVolume(context.Background(), &proto.CreateVolume{Name: "rep", ID: 0x7f000001, ReplicaID: 0x1000001,
		Replicas: []proto.Replica{{ServerID: 1, Addr: s.Addr}, {ServerID: 2, Addr: "127.0.0.1:1", ReplicaID: 0x2000001}}})
	adm.Close()
	if err != nil {
		t.Fatal(err)
	}
	root := info.Root
	c := s.Client()
	sid := c.NextStoreID()
	var out proto.DirOpReply
	if err := c.Call(proto.OpCreate, &proto.Create{Dir: root, Name: "f", Mode: 0o644, StoreID: sid}, &out, nil); err != nil {
		t.Fatal(err)
	}
	other := s.Client()
	cop2 := &proto.COP2{StoreID: sid, Updated: 0b11, FIDs: []proto.FID{root, out.Attr.FID}}
	if err := other.Call(proto.OpCOP2, cop2, &proto.Empty{}, nil); !errors.Is(err, proto.ErrAccess) {
		t.Fatalf("another client's cop2: %v", err)
	}
	bad := *cop2
	bad.Updated = 0b111 // the volume has two replicas
	if err := c.Call(proto.OpCOP2, &bad, &proto.Empty{}, nil); !errors.Is(err, proto.ErrInvalid) {
		t.Fatalf("cop2 naming a third replica: %v", err)
	}
	if err := c.Call(proto.OpCOP2, cop2, &proto.Empty{}, nil); err != nil {
		t.Fatal(err)
	}
	a, err := c.GetAttr(out.Attr.FID)
	if err != nil || a.VV.Counters[0] != 1 || a.VV.Counters[1] != 1 {
		t.Fatalf("after cop2 the file's VV is %v (%v), want slot 1 added", a.VV, err)
	}
}
