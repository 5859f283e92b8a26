package fileserver_test

import (
	"errors"
	"testing"

	"github.com/coda-fs/coda/server/proto"
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
