package venus

import (
	"testing"

	"github.com/coda-fs/coda/server/proto"
)

// TestCMLRecordRoundTripAndRemap: a log record survives encoding, and
// renaming a local FID to the servers' FID reaches its request, its subject
// and the objects it names.
func TestCMLRecordRoundTripAndRemap(t *testing.T) {
	local := proto.FID{Volume: 7, Vnode: localVnodeBase + 3, Unique: 1}
	real := proto.FID{Volume: 7, Vnode: 0x204, Unique: 0x99}
	dir := proto.FID{Volume: 7, Vnode: 1, Unique: 1}
	req := &proto.Store{FID: local, Size: 5, StoreID: proto.StoreID{Client: 1, Seq: 2}}
	r := &cmlRecord{seq: 4, uid: 1000, who: 12, op: proto.OpStore, sid: req.StoreID, req: proto.Marshal(req),
		subject: local, fids: []proto.FID{local}, size: 5, cont: "00000000000000ab", base: proto.VV{Counters: [8]uint32{1}}, hasBase: true}
	got, err := decodeCMLRecord(4, r.encode())
	if err != nil {
		t.Fatal(err)
	}
	if got.uid != 1000 || got.who != 12 || got.op != proto.OpStore || got.subject != local || got.cont != r.cont || !got.hasBase || got.base != r.base || got.size != 5 {
		t.Fatalf("round trip: %+v", got)
	}
	if !got.remap(map[proto.FID]proto.FID{local: real}) {
		t.Fatal("remap changed nothing")
	}
	m, err := got.request()
	if err != nil {
		t.Fatal(err)
	}
	if m.(*proto.Store).FID != real || got.subject != real || got.fids[0] != real {
		t.Fatalf("after remap: request %+v, subject %v, fids %v", m, got.subject, got.fids)
	}
	cr := &cmlRecord{op: proto.OpCreate, req: proto.Marshal(&proto.Create{Dir: local, Name: "x", FID: proto.FID{Volume: 7, Vnode: 5, Unique: 5}}), fids: []proto.FID{local}}
	if !cr.remap(map[proto.FID]proto.FID{local: real}) {
		t.Fatal("remap of a create in a local directory changed nothing")
	}
	if m, _ := cr.request(); m.(*proto.Create).Dir != real {
		t.Fatalf("create's directory after remap: %v", m.(*proto.Create).Dir)
	}
	if (&cmlRecord{op: proto.OpRemove, req: proto.Marshal(&proto.Remove{Dir: dir, Name: "y"}), fids: []proto.FID{dir}}).remap(map[proto.FID]proto.FID{local: real}) {
		t.Fatal("remap changed a record that does not name the FID")
	}
}
