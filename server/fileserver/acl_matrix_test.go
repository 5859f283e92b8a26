package fileserver_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/coda-fs/coda/auth/acl"
	"github.com/coda-fs/coda/server/proto"
	"github.com/coda-fs/coda/server/servertest"
)

// The ACL matrix over the wire: alice holds a valid token, and rights
// only through group outer, which holds group staff, which holds her. For
// each row she is granted exactly one right (or none) on directory m-ROW,
// and every operation must succeed exactly when the row's right is one the
// operation takes, and otherwise fail with EACCES from the server itself
// (EPERM for chown, which only administrators may do). No venus is
// involved: nothing but the server can be what refuses.

// wireWorld is what one row works on, built by the admin.
type wireWorld struct {
	alice           *servertest.Client
	m, free         proto.FID
	theirs, mine    proto.FID // files of the admin's and alice's, mode 0666
	sub, link       proto.FID
	row             string
	aliceID, staffG int32
}

type wireOp struct {
	name  string
	allow acl.Rights // any one of these rights allows it
	deny  error
	do    func(w *wireWorld) error
}

func attrCall(c *servertest.Client, op proto.Op, req proto.Message) error {
	var out proto.AttrReply
	return c.Call(op, req, &out, nil)
}

func dirCall(c *servertest.Client, op proto.Op, req proto.Message) error {
	var out proto.DirOpReply
	return c.Call(op, req, &out, nil)
}

var wireOps = []wireOp{
	{"getattr file", acl.Lookup, proto.ErrAccess, func(w *wireWorld) error {
		_, err := w.alice.GetAttr(w.theirs)
		return err
	}},
	{"getattr dir", acl.Lookup, proto.ErrAccess, func(w *wireWorld) error {
		_, err := w.alice.GetAttr(w.sub)
		return err
	}},
	{"lookup", acl.Lookup, proto.ErrAccess, func(w *wireWorld) error {
		_, err := w.alice.Lookup(w.m, "theirs")
		return err
	}},
	{"readdir", acl.Lookup, proto.ErrAccess, func(w *wireWorld) error {
		_, err := w.alice.ReadDir(w.m)
		return err
	}},
	{"readlink", acl.Lookup, proto.ErrAccess, func(w *wireWorld) error {
		var out proto.ReadlinkReply
		return w.alice.Call(proto.OpReadlink, &proto.FIDReq{FID: w.link}, &out, nil)
	}},
	{"getacl", acl.Lookup, proto.ErrAccess, func(w *wireWorld) error {
		var out proto.ACLReply
		return w.alice.Call(proto.OpGetACL, &proto.FIDReq{FID: w.m}, &out, nil)
	}},
	{"fetch theirs", acl.Read, proto.ErrAccess, func(w *wireWorld) error {
		_, _, err := w.alice.Fetch(w.theirs)
		return err
	}},
	{"fetch mine", acl.Read | acl.Write | acl.Insert, proto.ErrAccess, func(w *wireWorld) error {
		_, _, err := w.alice.Fetch(w.mine)
		return err
	}},
	{"store theirs", acl.Write, proto.ErrAccess, func(w *wireWorld) error {
		_, err := w.alice.Store(w.theirs, []byte("x"))
		return err
	}},
	{"store mine", acl.Write | acl.Insert, proto.ErrAccess, func(w *wireWorld) error {
		_, err := w.alice.Store(w.mine, []byte("x"))
		return err
	}},
	{"create", acl.Insert, proto.ErrAccess, func(w *wireWorld) error {
		_, err := w.alice.Create(proto.OpCreate, w.m, "new", 0o644)
		return err
	}},
	{"mkdir", acl.Insert, proto.ErrAccess, func(w *wireWorld) error {
		_, err := w.alice.Create(proto.OpMkdir, w.m, "newdir", 0o755)
		return err
	}},
	{"symlink", acl.Insert, proto.ErrAccess, func(w *wireWorld) error {
		return dirCall(w.alice, proto.OpSymlink, &proto.Create{Dir: w.m, Name: "newlink", Mode: 0o777, Target: "t"})
	}},
	{"link", acl.Insert, proto.ErrAccess, func(w *wireWorld) error {
		return dirCall(w.alice, proto.OpLink, &proto.Link{Dir: w.m, Name: "mine2", Target: w.mine})
	}},
	{"remove", acl.Delete, proto.ErrAccess, func(w *wireWorld) error {
		return w.alice.Remove(w.m, "rm")
	}},
	{"rmdir", acl.Delete, proto.ErrAccess, func(w *wireWorld) error {
		return dirCall(w.alice, proto.OpRmdir, &proto.Remove{Dir: w.m, Name: "rmd"})
	}},
	{"rename out", acl.Delete, proto.ErrAccess, func(w *wireWorld) error {
		return w.alice.Rename(w.m, "mvout", w.free, "out-"+w.row)
	}},
	{"rename in", acl.Insert, proto.ErrAccess, func(w *wireWorld) error {
		return w.alice.Rename(w.free, "in-"+w.row, w.m, "in")
	}},
	{"chmod mine", acl.Write, proto.ErrAccess, func(w *wireWorld) error {
		return attrCall(w.alice, proto.OpSetAttr, &proto.SetAttr{FID: w.mine, Mask: proto.SetMode, Mode: 0o660})
	}},
	{"chgrp mine", acl.Write, proto.ErrAccess, func(w *wireWorld) error {
		return attrCall(w.alice, proto.OpSetAttr, &proto.SetAttr{FID: w.mine, Mask: proto.SetGID, GID: proto.GroupGID(w.staffG)})
	}},
	{"chown mine", acl.None, proto.ErrPerm, func(w *wireWorld) error {
		return attrCall(w.alice, proto.OpSetAttr, &proto.SetAttr{FID: w.mine, Mask: proto.SetUID, UID: uint32(proto.AdminUserID)})
	}},
	{"truncate theirs", acl.Write, proto.ErrAccess, func(w *wireWorld) error {
		return attrCall(w.alice, proto.OpSetAttr, &proto.SetAttr{FID: w.theirs, Mask: proto.SetSize})
	}},
	{"utimes mine", acl.Write | acl.Insert, proto.ErrAccess, func(w *wireWorld) error {
		return attrCall(w.alice, proto.OpSetAttr, &proto.SetAttr{FID: w.mine, Mask: proto.SetMtime, Mtime: 7})
	}},
	{"setacl", acl.Administer, proto.ErrAccess, func(w *wireWorld) error {
		return attrCall(w.alice, proto.OpSetACL, &proto.SetACL{Dir: w.m, Entries: []proto.ACLEntry{{Name: "alice", Rights: uint8(acl.Read)}}})
	}},
}

// groupID returns the id pdbtool printed for a group it created.
func groupID(t *testing.T, out string) int32 {
	t.Helper()
	var name, owner string
	var id int32
	if _, err := fmt.Sscanf(out, "created group %s (id %d) owned by %s", &name, &id, &owner); err != nil || id >= 0 {
		t.Fatalf("pdbtool ng said %q", out)
	}
	return id
}

func TestACLMatrixOverTheWire(t *testing.T) {
	s, root := setup(t)
	adm := s.Client()
	aliceID := s.AddUser("alice", "alice-password")
	staff := groupID(t, s.PDB("ng", "admin:staff", "admin"))
	outer := groupID(t, s.PDB("ng", "admin:outer", "admin"))
	s.PDB("ag", "admin:staff", "alice")
	s.PDB("ag", "admin:outer", "admin:staff")
	alice := s.AnonClient()
	if err := alice.LoginAs("alice", "alice-password"); err != nil {
		t.Fatal(err)
	}

	mk := func(dir proto.FID, op proto.Op, name string, mode uint32) proto.FID {
		t.Helper()
		var out proto.DirOpReply
		req := &proto.Create{Dir: dir, Name: name, Mode: mode, Target: "target"}
		if err := adm.Call(op, req, &out, nil); err != nil {
			t.Fatalf("%v %s: %v", op, name, err)
		}
		return out.Attr.FID
	}
	setACL := func(dir proto.FID, entries ...proto.ACLEntry) {
		t.Helper()
		entries = append(entries, proto.ACLEntry{ID: proto.AdministratorsID, Rights: uint8(acl.All)})
		if err := attrCall(adm, proto.OpSetACL, &proto.SetACL{Dir: dir, Clear: true, Entries: entries}); err != nil {
			t.Fatalf("setacl: %v", err)
		}
	}
	free := mk(root, proto.OpMkdir, "free", 0o777)
	setACL(free, proto.ACLEntry{ID: aliceID, Rights: uint8(acl.All)})

	type row struct {
		name     string
		entries  []proto.ACLEntry
		effected acl.Rights
	}
	var rows []row
	for _, r := range []acl.Rights{acl.None, acl.Read, acl.Lookup, acl.Insert, acl.Delete, acl.Write, acl.Lock, acl.Administer} {
		rows = append(rows, row{r.String(), []proto.ACLEntry{{ID: outer, Rights: uint8(r)}}, r})
	}
	// Negative rights win over every positive grant, however reached.
	rows = append(rows, row{"negative", []proto.ACLEntry{
		{ID: outer, Rights: uint8(acl.All)}, {ID: aliceID, Rights: uint8(acl.All), Negative: true}}, acl.None})
	rows = append(rows, row{"negative-group", []proto.ACLEntry{
		{ID: aliceID, Rights: uint8(acl.All)}, {ID: staff, Rights: uint8(acl.All &^ acl.Insert), Negative: true}}, acl.Insert})

	for _, r := range rows {
		w := &wireWorld{alice: alice, free: free, row: r.name, aliceID: aliceID, staffG: staff}
		w.m = mk(root, proto.OpMkdir, "m-"+r.name, 0o777)
		setACL(w.m, r.entries...)
		w.theirs = mk(w.m, proto.OpCreate, "theirs", 0o666)
		w.mine = mk(w.m, proto.OpCreate, "mine", 0o666)
		if err := attrCall(adm, proto.OpSetAttr, &proto.SetAttr{FID: w.mine, Mask: proto.SetUID, UID: uint32(aliceID)}); err != nil {
			t.Fatal(err)
		}
		w.sub = mk(w.m, proto.OpMkdir, "sub", 0o777)
		w.link = mk(w.m, proto.OpSymlink, "link", 0o777)
		mk(w.m, proto.OpCreate, "rm", 0o666)
		mk(w.m, proto.OpMkdir, "rmd", 0o777)
		mk(w.m, proto.OpCreate, "mvout", 0o666)
		mk(free, proto.OpCreate, "in-"+r.name, 0o666)
		for _, op := range wireOps {
			err := op.do(w)
			switch {
			case r.effected&op.allow != 0 && err != nil:
				t.Errorf("row %s: %s: %v, want success", r.name, op.name, err)
			case r.effected&op.allow == 0 && !errors.Is(err, op.deny):
				t.Errorf("row %s: %s: %v, want %v from the server", r.name, op.name, err, op.deny)
			}
		}
	}
}
