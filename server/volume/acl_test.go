package volume

import (
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/coda-fs/coda/auth/acl"
	"github.com/coda-fs/coda/server/proto"
)

// The principals of the ACL tests: alice (1000) is in group staff, which
// is nested in group outer; her CPS holds both, as the auth service
// computes it.
const (
	aliceID int32 = 1000
	staff   int32 = -300
	outer   int32 = -301
)

var alice = user(aliceID, staff, outer)

// mk creates an object in dir as admin and returns its status; owner, when
// not 0, becomes its owner.
func mk(t *testing.T, v *Volume, dir proto.FID, name string, typ proto.ObjType, mode uint32, owner uint32) proto.Attr {
	t.Helper()
	_, a, _, err := v.Create(root, CreateArgs{Dir: dir, Name: name, Type: typ, Mode: mode, Target: "target"})
	if err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	if owner != 0 {
		if a, _, err = v.SetAttr(root, proto.SetAttr{FID: a.FID, Mask: proto.SetUID, UID: owner}); err != nil {
			t.Fatalf("chown %s: %v", name, err)
		}
	}
	return a
}

// setACL replaces dir's ACL (as admin) with edits.
func setACL(t *testing.T, v *Volume, dir proto.FID, edits ...Edit) {
	t.Helper()
	if _, _, err := v.SetACL(root, dir, true, edits, proto.StoreID{}); err != nil {
		t.Fatalf("set ACL: %v", err)
	}
}

// matrixDir is the world of one row of the ACL matrix: directory m where
// staff holds exactly the row's rights (admins hold all, to build it),
// and free, where alice may do anything.
type matrixDir struct {
	v       *Volume
	m, free proto.FID
	theirs  proto.FID // a file of admin's, mode 0666
	mine    proto.FID // a file of alice's, mode 0666
	sub     proto.FID // a directory, mode 0777
	link    proto.FID // a symlink
}

// newMatrixDir builds directory m-ROW and free/in-ROW.
func newMatrixDir(t *testing.T, v *Volume, free proto.FID, row string, rights acl.Rights) *matrixDir {
	r := v.Info().Root
	x := &matrixDir{v: v, free: free}
	x.m = mk(t, v, r, "m-"+row, proto.TypeDir, 0777, 0).FID
	setACL(t, v, x.m, Edit{ID: staff, Rights: rights}, Edit{ID: proto.AdministratorsID, Rights: acl.All})
	x.theirs = mk(t, v, x.m, "theirs", proto.TypeFile, 0666, 0).FID
	x.mine = mk(t, v, x.m, "mine", proto.TypeFile, 0666, uint32(aliceID)).FID
	x.sub = mk(t, v, x.m, "sub", proto.TypeDir, 0777, 0).FID
	x.link = mk(t, v, x.m, "link", proto.TypeSymlink, 0777, 0).FID
	mk(t, v, x.m, "rm", proto.TypeFile, 0666, 0)
	mk(t, v, x.m, "rmd", proto.TypeDir, 0777, 0)
	mk(t, v, x.m, "mvout", proto.TypeFile, 0666, 0)
	mk(t, v, free, "in-"+row, proto.TypeFile, 0666, 0)
	return x
}

// matrixOp is one operation alice tries in m; it must succeed exactly when
// she holds one of the rights in allow and fail with deny otherwise.
type matrixOp struct {
	name  string
	allow acl.Rights
	deny  error
	do    func(x *matrixDir, row string) error
}

var none = proto.StoreID{}

var matrixOps = []matrixOp{
	{"getattr file", acl.Lookup, proto.ErrAccess, func(x *matrixDir, _ string) error {
		_, err := x.v.GetAttr(alice, x.theirs)
		return err
	}},
	{"getattr dir", acl.Lookup, proto.ErrAccess, func(x *matrixDir, _ string) error {
		_, err := x.v.GetAttr(alice, x.sub)
		return err
	}},
	{"lookup", acl.Lookup, proto.ErrAccess, func(x *matrixDir, _ string) error {
		_, err := x.v.Lookup(alice, x.m, "theirs")
		return err
	}},
	{"readdir", acl.Lookup, proto.ErrAccess, func(x *matrixDir, _ string) error {
		_, _, _, err := x.v.ReadDir(alice, x.m, "", 0)
		return err
	}},
	{"readlink", acl.Lookup, proto.ErrAccess, func(x *matrixDir, _ string) error {
		_, err := x.v.Readlink(alice, x.link)
		return err
	}},
	{"getacl", acl.Lookup, proto.ErrAccess, func(x *matrixDir, _ string) error {
		_, _, err := x.v.GetACL(alice, x.m)
		return err
	}},
	{"fetch theirs", acl.Read, proto.ErrAccess, func(x *matrixDir, _ string) error {
		_, err := x.v.OpenData(alice, x.theirs)
		return err
	}},
	{"fetch mine", acl.Read | acl.Write | acl.Insert, proto.ErrAccess, func(x *matrixDir, _ string) error {
		_, err := x.v.OpenData(alice, x.mine)
		return err
	}},
	{"store theirs", acl.Write, proto.ErrAccess, func(x *matrixDir, _ string) error {
		_, _, err := x.v.Store(alice, StoreArgs{FID: x.theirs, Inline: []byte("x"), Size: 1})
		return err
	}},
	{"store mine", acl.Write | acl.Insert, proto.ErrAccess, func(x *matrixDir, _ string) error {
		_, _, err := x.v.Store(alice, StoreArgs{FID: x.mine, Inline: []byte("x"), Size: 1})
		return err
	}},
	{"create", acl.Insert, proto.ErrAccess, func(x *matrixDir, _ string) error {
		_, _, _, err := x.v.Create(alice, CreateArgs{Dir: x.m, Name: "new", Type: proto.TypeFile, Mode: 0644})
		return err
	}},
	{"mkdir", acl.Insert, proto.ErrAccess, func(x *matrixDir, _ string) error {
		_, _, _, err := x.v.Create(alice, CreateArgs{Dir: x.m, Name: "newdir", Type: proto.TypeDir, Mode: 0755})
		return err
	}},
	{"symlink", acl.Insert, proto.ErrAccess, func(x *matrixDir, _ string) error {
		_, _, _, err := x.v.Create(alice, CreateArgs{Dir: x.m, Name: "newlink", Type: proto.TypeSymlink, Target: "t"})
		return err
	}},
	{"link", acl.Insert, proto.ErrAccess, func(x *matrixDir, _ string) error {
		_, _, _, err := x.v.Link(alice, x.m, "mine2", x.mine, none)
		return err
	}},
	{"remove", acl.Delete, proto.ErrAccess, func(x *matrixDir, _ string) error {
		_, _, _, err := x.v.Remove(alice, x.m, "rm", false, none)
		return err
	}},
	{"rmdir", acl.Delete, proto.ErrAccess, func(x *matrixDir, _ string) error {
		_, _, _, err := x.v.Remove(alice, x.m, "rmd", true, none)
		return err
	}},
	{"rename out", acl.Delete, proto.ErrAccess, func(x *matrixDir, row string) error {
		_, _, err := x.v.Rename(alice, proto.Rename{FromDir: x.m, FromName: "mvout", ToDir: x.free, ToName: "out-" + row})
		return err
	}},
	{"rename in", acl.Insert, proto.ErrAccess, func(x *matrixDir, row string) error {
		_, _, err := x.v.Rename(alice, proto.Rename{FromDir: x.free, FromName: "in-" + row, ToDir: x.m, ToName: "in"})
		return err
	}},
	{"chmod mine", acl.Write, proto.ErrAccess, func(x *matrixDir, _ string) error {
		_, _, err := x.v.SetAttr(alice, proto.SetAttr{FID: x.mine, Mask: proto.SetMode, Mode: 0660})
		return err
	}},
	{"chgrp mine", acl.Write, proto.ErrAccess, func(x *matrixDir, _ string) error {
		_, _, err := x.v.SetAttr(alice, proto.SetAttr{FID: x.mine, Mask: proto.SetGID, GID: proto.GroupGID(staff)})
		return err
	}},
	{"chown mine", acl.None, proto.ErrPerm, func(x *matrixDir, _ string) error {
		_, _, err := x.v.SetAttr(alice, proto.SetAttr{FID: x.mine, Mask: proto.SetUID, UID: 1001})
		return err
	}},
	{"truncate theirs", acl.Write, proto.ErrAccess, func(x *matrixDir, _ string) error {
		_, _, err := x.v.SetAttr(alice, proto.SetAttr{FID: x.theirs, Mask: proto.SetSize, Size: 0})
		return err
	}},
	{"truncate mine", acl.Write | acl.Insert, proto.ErrAccess, func(x *matrixDir, _ string) error {
		_, _, err := x.v.SetAttr(alice, proto.SetAttr{FID: x.mine, Mask: proto.SetSize, Size: 0})
		return err
	}},
	{"utimes mine", acl.Write | acl.Insert, proto.ErrAccess, func(x *matrixDir, _ string) error {
		_, _, err := x.v.SetAttr(alice, proto.SetAttr{FID: x.mine, Mask: proto.SetMtime, Mtime: 7})
		return err
	}},
	{"setacl", acl.Administer, proto.ErrAccess, func(x *matrixDir, _ string) error {
		_, _, err := x.v.SetACL(alice, x.m, false, []Edit{{ID: 1001, Rights: acl.Read}}, none)
		return err
	}},
}

// TestACLMatrix: a caller granted exactly one right (through a group in
// its CPS) can do exactly the operations of that right; every other
// operation fails with EACCES (EPERM for chown, which is admin-only).
func TestACLMatrix(t *testing.T) {
	_, v := newVolume(t)
	r := v.Info().Root
	free := mk(t, v, r, "free", proto.TypeDir, 0777, 0).FID
	setACL(t, v, free, Edit{ID: staff, Rights: acl.All}, Edit{ID: proto.AdministratorsID, Rights: acl.All})
	rows := []acl.Rights{acl.None, acl.Read, acl.Lookup, acl.Insert, acl.Delete, acl.Write, acl.Lock, acl.Administer}
	for _, right := range rows {
		row := right.String()
		x := newMatrixDir(t, v, free, row, right)
		for _, op := range matrixOps {
			err := op.do(x, row)
			switch {
			case right&op.allow != 0 && err != nil:
				t.Errorf("right %s: %s: %v, want success", row, op.name, err)
			case right&op.allow == 0 && !errors.Is(err, op.deny):
				t.Errorf("right %s: %s: %v, want %v", row, op.name, err, op.deny)
			}
		}
	}
}

// TestRenameNeedsInsertAndDelete: a rename within one directory needs both
// 'd' and 'i'; replacing a name needs 'd' on the target directory too.
func TestRenameNeedsInsertAndDelete(t *testing.T) {
	_, v := newVolume(t)
	r := v.Info().Root
	free := mk(t, v, r, "free", proto.TypeDir, 0777, 0).FID
	setACL(t, v, free, Edit{ID: staff, Rights: acl.All}, Edit{ID: proto.AdministratorsID, Rights: acl.All})
	for _, c := range []struct {
		rights acl.Rights
		within bool // m/a → m/b
		over   bool // free/x → m/victim
	}{
		{acl.Insert, false, false},
		{acl.Delete, false, false},
		{acl.Insert | acl.Delete, true, true},
	} {
		name := c.rights.String()
		x := newMatrixDir(t, v, free, name, c.rights)
		mk(t, v, x.m, "a", proto.TypeFile, 0666, 0)
		mk(t, v, x.m, "victim", proto.TypeFile, 0666, 0)
		mk(t, v, free, "x-"+name, proto.TypeFile, 0666, 0)
		_, _, err := v.Rename(alice, proto.Rename{FromDir: x.m, FromName: "a", ToDir: x.m, ToName: "b"})
		if (err == nil) != c.within || (err != nil && !errors.Is(err, proto.ErrAccess)) {
			t.Errorf("%s: rename within: %v", c.rights, err)
		}
		_, _, err = v.Rename(alice, proto.Rename{FromDir: free, FromName: "x-" + name, ToDir: x.m, ToName: "victim"})
		if (err == nil) != c.over || (err != nil && !errors.Is(err, proto.ErrAccess)) {
			t.Errorf("%s: rename over a name: %v", c.rights, err)
		}
	}
}

// TestNegativeRightsAndNestedGroups: a negative entry wins over any
// positive one, whichever of the caller's ids carries it; a right given to
// a group the caller is in only through nesting counts.
func TestNegativeRightsAndNestedGroups(t *testing.T) {
	_, v := newVolume(t)
	r := v.Info().Root
	d := mk(t, v, r, "d", proto.TypeDir, 0777, 0).FID
	f := mk(t, v, d, "f", proto.TypeFile, 0666, 0).FID
	setACL(t, v, d, Edit{ID: staff, Rights: acl.Read | acl.Lookup}, Edit{ID: outer, Rights: acl.Insert},
		Edit{ID: proto.AdministratorsID, Rights: acl.All})
	if _, _, _, err := v.Create(alice, CreateArgs{Dir: d, Name: "n", Type: proto.TypeFile, Mode: 0644}); err != nil {
		t.Fatalf("insert through the nested group: %v", err)
	}
	_, _, _, err := v.Create(user(1001, staff), CreateArgs{Dir: d, Name: "n2", Type: proto.TypeFile})
	wantErr(t, err, proto.ErrAccess) // staff alone lacks 'i'
	if _, err := v.OpenData(alice, f); err != nil {
		t.Fatal(err)
	}
	// Negative for alice herself: lookup goes, read stays.
	if _, _, err := v.SetACL(root, d, false, []Edit{{ID: aliceID, Rights: acl.Lookup, Negative: true}}, none); err != nil {
		t.Fatal(err)
	}
	_, err = v.Lookup(alice, d, "f")
	wantErr(t, err, proto.ErrAccess)
	if _, err := v.OpenData(alice, f); err != nil {
		t.Fatalf("read after a negative l: %v", err)
	}
	// Negative for the nested group: read goes too.
	if _, _, err := v.SetACL(root, d, false, []Edit{{ID: outer, Rights: acl.Read, Negative: true}}, none); err != nil {
		t.Fatal(err)
	}
	_, err = v.OpenData(alice, f)
	wantErr(t, err, proto.ErrAccess)
	// Negative for System:AnyUser hits everyone, admins included.
	if _, _, err := v.SetACL(root, d, false, []Edit{{ID: proto.AnyUserID, Rights: acl.Insert, Negative: true}}, none); err != nil {
		t.Fatal(err)
	}
	_, _, _, err = v.Create(root, CreateArgs{Dir: d, Name: "n3", Type: proto.TypeFile})
	wantErr(t, err, proto.ErrAccess)
	_, got, err := v.GetACL(root, d)
	if err != nil {
		t.Fatal(err)
	}
	if p, n := got.Get(proto.AnyUserID); p != acl.None || n != acl.Insert {
		t.Fatalf("AnyUser entries %v/%v, want none/i", p, n)
	}
}

// TestAdminBypassesModeNotACL: an admin ignores mode bits but needs ACL
// rights like anyone, except to change ACLs and owners.
func TestAdminBypassesModeNotACL(t *testing.T) {
	_, v := newVolume(t)
	r := v.Info().Root
	d := mk(t, v, r, "d", proto.TypeDir, 0, 0).FID // mode 000
	f := mk(t, v, d, "f", proto.TypeFile, 0, uint32(aliceID)).FID
	if _, err := v.OpenData(root, f); err != nil {
		t.Fatalf("admin read of a mode 000 file: %v", err)
	}
	setACL(t, v, d, Edit{ID: staff, Rights: acl.Lookup})
	_, err := v.OpenData(root, f)
	wantErr(t, err, proto.ErrAccess)
	_, _, _, err = v.Create(root, CreateArgs{Dir: d, Name: "x", Type: proto.TypeFile})
	wantErr(t, err, proto.ErrAccess)
	if _, _, err := v.SetAttr(root, proto.SetAttr{FID: f, Mask: proto.SetUID | proto.SetGID, UID: 5, GID: 77}); err != nil {
		t.Fatalf("admin chown without rights: %v", err)
	}
	if _, _, err := v.SetACL(root, d, false, []Edit{{ID: proto.AdministratorsID, Rights: acl.All}}, none); err != nil {
		t.Fatalf("admin setacl without 'a': %v", err)
	}
}

// TestAnonymousIsOther: an anonymous caller's creations belong to 65534,
// and mode bits always judge it as "other", even on its own files and
// on files of System:AnyUser's group.
func TestAnonymousIsOther(t *testing.T) {
	_, v := newVolume(t)
	r := v.Info().Root
	pub := mk(t, v, r, "pub", proto.TypeDir, 0777, 0).FID
	setACL(t, v, pub, Edit{ID: proto.AnyUserID, Rights: acl.Read | acl.Lookup | acl.Insert | acl.Write})
	_, a, _, err := v.Create(Anonymous, CreateArgs{Dir: pub, Name: "a", Type: proto.TypeFile, Mode: 0600, GID: 101})
	if err != nil {
		t.Fatal(err)
	}
	if a.UID != proto.AnonymousUID || a.GID != proto.GroupGID(proto.AdministratorsID) {
		t.Fatalf("anonymous creation owned by %d:%d, want %d and the directory's group", a.UID, a.GID, proto.AnonymousUID)
	}
	_, err = v.OpenData(Anonymous, a.FID)
	wantErr(t, err, proto.ErrAccess)
	_, _, err = v.Store(Anonymous, StoreArgs{FID: a.FID})
	wantErr(t, err, proto.ErrAccess)
	_, _, err = v.SetAttr(Anonymous, proto.SetAttr{FID: a.FID, Mask: proto.SetMode, Mode: 0666})
	wantErr(t, err, proto.ErrPerm) // not the owner
	// Group bits of System:AnyUser's group: users are in it, anonymous is not.
	g := mk(t, v, pub, "g", proto.TypeFile, 0040, 0).FID
	if _, _, err := v.SetAttr(root, proto.SetAttr{FID: g, Mask: proto.SetGID, GID: proto.GroupGID(proto.AnyUserID)}); err != nil {
		t.Fatal(err)
	}
	_, err = v.OpenData(Anonymous, g)
	wantErr(t, err, proto.ErrAccess)
	if _, err := v.OpenData(alice, g); err != nil {
		t.Fatalf("a user through System:AnyUser's group bits: %v", err)
	}
	o := mk(t, v, pub, "o", proto.TypeFile, 0604, 0).FID
	if _, err := v.OpenData(Anonymous, o); err != nil {
		t.Fatalf("anonymous read through the other bits: %v", err)
	}
}

// TestMkdirInheritsACL: a new directory starts with a copy of its
// parent's ACL, and changing one leaves the other alone.
func TestMkdirInheritsACL(t *testing.T) {
	_, v := newVolume(t)
	r := v.Info().Root
	_, rootACL, err := v.GetACL(root, r)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(rootACL, acl.DefaultRoot()) {
		t.Fatalf("new volume's root ACL %+v, want %+v", rootACL, acl.DefaultRoot())
	}
	ra, _ := v.GetAttr(root, r)
	if ra.UID != uint32(proto.AdminUserID) || ra.GID != proto.GroupGID(proto.AdministratorsID) {
		t.Fatalf("root owned by %d:%d", ra.UID, ra.GID)
	}
	p := mk(t, v, r, "p", proto.TypeDir, 0777, 0).FID
	setACL(t, v, p, Edit{ID: staff, Rights: acl.Lookup | acl.Insert}, Edit{ID: 1001, Rights: acl.Read, Negative: true})
	_, want, err := v.GetACL(alice, p)
	if err != nil {
		t.Fatal(err)
	}
	_, sub, _, err := v.Create(alice, CreateArgs{Dir: p, Name: "sub", Type: proto.TypeDir, Mode: 0755})
	if err != nil {
		t.Fatal(err)
	}
	_, got, err := v.GetACL(alice, sub.FID)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("inherited ACL %+v (%v), want %+v", got, err, want)
	}
	setACL(t, v, sub.FID, Edit{ID: staff, Rights: acl.All})
	if _, again, _ := v.GetACL(alice, p); !reflect.DeepEqual(again, want) {
		t.Fatalf("parent's ACL changed with the child's: %+v", again)
	}
}

// TestSetACLWhoMay: the owner of a directory may change its ACL without
// 'a', anyone else needs 'a', an admin always may; a change bumps the
// directory's version and names it for callbacks; a retry applies once.
func TestSetACLWhoMay(t *testing.T) {
	_, v := newVolume(t)
	r := v.Info().Root
	p := mk(t, v, r, "p", proto.TypeDir, 0777, 0).FID
	setACL(t, v, p, Edit{ID: staff, Rights: acl.Lookup | acl.Insert})
	_, own, _, err := v.Create(alice, CreateArgs{Dir: p, Name: "own", Type: proto.TypeDir, Mode: 0755})
	if err != nil {
		t.Fatal(err)
	}
	bob := user(1001, staff)
	grant := []Edit{{ID: 1001, Rights: acl.Read | acl.Lookup}}
	_, _, err = v.SetACL(bob, own.FID, false, grant, none)
	wantErr(t, err, proto.ErrAccess)
	sid := proto.StoreID{Client: 3, Seq: 1}
	a, ch, err := v.SetACL(alice, own.FID, false, grant, sid)
	if err != nil {
		t.Fatalf("owner setacl without 'a': %v", err)
	}
	if len(ch.FIDs) != 1 || ch.FIDs[0] != own.FID || a.VV.Counters[0] != own.VV.Counters[0]+1 || a.VV.Store != sid {
		t.Fatalf("setacl change %v, vv %v -> %v", ch.FIDs, own.VV, a.VV)
	}
	if a2, ch, err := v.SetACL(alice, own.FID, false, grant, sid); err != nil || !ch.Duplicate || a2.VV != a.VV {
		t.Fatalf("retried setacl: %v %+v", err, ch)
	}
	if _, _, err := v.SetACL(bob, own.FID, false, grant, none); !errors.Is(err, proto.ErrAccess) {
		t.Fatalf("bob with rl setacl: %v", err)
	}
	if _, _, err := v.SetACL(root, own.FID, false, []Edit{{ID: 1001, Rights: acl.Administer}}, none); err != nil {
		t.Fatalf("admin setacl: %v", err)
	}
	if _, _, err := v.SetACL(bob, own.FID, true, []Edit{{ID: 1001, Rights: acl.All}}, none); err != nil {
		t.Fatalf("setacl with 'a': %v", err)
	}
	_, got, _ := v.GetACL(bob, own.FID)
	if !reflect.DeepEqual(got, acl.ACL{Positive: []acl.Entry{{ID: 1001, Rights: acl.All}}}) {
		t.Fatalf("after clear: %+v", got)
	}
	_, _, err = v.SetACL(root, own.FID, false, []Edit{{ID: 0, Rights: acl.Read}}, none)
	wantErr(t, err, proto.ErrInvalid)
	_, _, err = v.SetACL(root, mk(t, v, r, "file", proto.TypeFile, 0644, 0).FID, false, grant, none)
	wantErr(t, err, proto.ErrNotDir)
}

// TestRightsInAttrs: every status handed to a caller carries its rights
// and System:AnyUser's on the governing ACL: a directory's own, a file's
// directory's, which follows the file when it moves.
func TestRightsInAttrs(t *testing.T) {
	_, v := newVolume(t)
	r := v.Info().Root
	rl := uint8(acl.Read | acl.Lookup)
	all := uint8(acl.All)
	d := mk(t, v, r, "d", proto.TypeDir, 0777, 0).FID
	if _, _, err := v.SetACL(root, d, false, []Edit{{ID: staff, Rights: acl.All}}, none); err != nil {
		t.Fatal(err)
	}
	want := func(what string, a proto.Attr, err error, mine, anyone uint8) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if a.Rights != mine || a.AnyRights != anyone {
			t.Errorf("%s: rights %v any %v, want %v and %v", what,
				acl.Rights(a.Rights), acl.Rights(a.AnyRights), acl.Rights(mine), acl.Rights(anyone))
		}
	}
	dir, f, _, err := v.Create(alice, CreateArgs{Dir: d, Name: "f", Type: proto.TypeFile, Mode: 0644})
	want("create: dir", dir, err, all, rl)
	want("create: file", f, nil, all, rl)
	_, sub, _, err := v.Create(alice, CreateArgs{Dir: d, Name: "sub", Type: proto.TypeDir, Mode: 0755})
	want("mkdir", sub, err, all, rl)
	bob := user(1001)
	a, err := v.GetAttr(bob, f.FID)
	want("getattr by bob", a, err, rl, rl)
	a, err = v.Lookup(bob, d, "f")
	want("lookup by bob", a, err, rl, rl)
	a, _, _, err = v.ReadDir(bob, d, "", 0)
	want("readdir by bob", a, err, rl, rl)
	data, err := v.OpenData(alice, f.FID)
	if err != nil {
		t.Fatal(err)
	}
	want("fetch", data.Attr, nil, all, rl)
	a, _, err = v.Store(alice, StoreArgs{FID: f.FID, Inline: []byte("x"), Size: 1})
	want("store", a, err, all, rl)
	a, _, err = v.SetAttr(alice, proto.SetAttr{FID: f.FID, Mask: proto.SetMode, Mode: 0600})
	want("setattr", a, err, all, rl)
	_, a, _, err = v.Link(alice, d, "f2", f.FID, none)
	want("link", a, err, all, rl)
	a, _, err = v.SetACL(alice, d, false, []Edit{{ID: proto.AnyUserID, Rights: acl.Lookup}}, none)
	want("setacl", a, err, all, uint8(acl.Lookup))
	a, err = v.GetAttr(bob, f.FID)
	want("getattr after setacl", a, err, uint8(acl.Lookup), uint8(acl.Lookup))
	a, err = v.GetAttr(bob, sub.FID) // its own ACL, inherited before the change
	want("getattr of the subdirectory", a, err, rl, rl)
	if _, _, err := v.SetAttr(root, proto.SetAttr{FID: r, Mask: proto.SetMode, Mode: 0777}); err != nil {
		t.Fatal(err)
	}
	ilk, lk := uint8(acl.Insert|acl.Lookup|acl.Lock), uint8(acl.Lookup|acl.Lock)
	setACL(t, v, r, Edit{ID: staff, Rights: acl.Insert | acl.Lookup}, Edit{ID: proto.AnyUserID, Rights: acl.Lookup | acl.Lock},
		Edit{ID: proto.AdministratorsID, Rights: acl.All})
	res, _, err := v.Rename(alice, proto.Rename{FromDir: d, FromName: "sub", ToDir: r, ToName: "sub"})
	want("rename: from", res.FromDir, err, all, uint8(acl.Lookup))
	want("rename: to", res.ToDir, nil, ilk, lk)
	want("rename: obj", res.Obj, nil, all, rl) // a directory: its own ACL
	// A file moved to another directory is governed by its new one.
	if _, _, _, err := v.Remove(alice, d, "f2", false, none); err != nil {
		t.Fatal(err)
	}
	res, _, err = v.Rename(alice, proto.Rename{FromDir: d, FromName: "f", ToDir: r, ToName: "f"})
	want("rename of a file: obj", res.Obj, err, ilk, lk)
	a, err = v.GetAttr(alice, f.FID)
	want("getattr of the moved file", a, err, ilk, lk)
	dir, obj, _, err := v.Remove(root, r, "f", false, none)
	want("remove: dir", dir, err, all, lk)
	want("remove: file", obj, nil, all, lk)
	if obj.Nlink != 0 {
		t.Fatalf("removed file nlink %d", obj.Nlink)
	}
}

// TestDirectoryVisibleThroughParent: a directory whose own ACL hides it
// still shows its status to whoever may list its parent (ls -l), but
// cannot be entered; the volume root answers to its own ACL only.
func TestDirectoryVisibleThroughParent(t *testing.T) {
	_, v := newVolume(t)
	r := v.Info().Root
	d := mk(t, v, r, "d", proto.TypeDir, 0777, 0).FID
	setACL(t, v, d, Edit{ID: proto.AdministratorsID, Rights: acl.All})
	a, err := v.GetAttr(alice, d)
	if err != nil || a.Rights != 0 || a.AnyRights != 0 {
		t.Fatalf("getattr through the parent: %v, rights %v", err, acl.Rights(a.Rights))
	}
	_, err = v.Lookup(alice, d, "x")
	wantErr(t, err, proto.ErrAccess)
	inner := mk(t, v, d, "inner", proto.TypeDir, 0777, 0).FID
	setACL(t, v, inner, Edit{ID: proto.AnyUserID, Rights: acl.Lookup})
	if _, err := v.GetAttr(alice, inner); err != nil {
		t.Fatalf("own 'l' under a hidden parent: %v", err)
	}
	setACL(t, v, r, Edit{ID: proto.AdministratorsID, Rights: acl.All})
	_, err = v.GetAttr(alice, r)
	wantErr(t, err, proto.ErrAccess)
	_, err = v.GetAttr(alice, d)
	wantErr(t, err, proto.ErrAccess)
}

// TestDropBox: with only 'i' a user creates files, fills and reads back
// its own, and cannot touch anyone else's.
func TestDropBox(t *testing.T) {
	_, v := newVolume(t)
	r := v.Info().Root
	box := mk(t, v, r, "box", proto.TypeDir, 0777, 0).FID
	setACL(t, v, box, Edit{ID: proto.AnyUserID, Rights: acl.Insert})
	var files []proto.FID
	for i, c := range []Cred{alice, user(1001)} {
		_, f, _, err := v.Create(c, CreateArgs{Dir: box, Name: fmt.Sprint("f", i), Type: proto.TypeFile, Mode: 0444})
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f.FID)
		if _, _, err := v.Store(c, StoreArgs{FID: f.FID, Inline: []byte("secret"), Size: 6}); err != nil {
			t.Fatalf("store into one's own new file: %v", err)
		}
		if _, err := v.OpenData(c, f.FID); err != nil {
			t.Fatalf("read back: %v", err)
		}
	}
	_, err := v.OpenData(alice, files[1])
	wantErr(t, err, proto.ErrAccess)
	_, _, err = v.Store(alice, StoreArgs{FID: files[1]})
	wantErr(t, err, proto.ErrAccess)
	_, err = v.Lookup(root, box, "f1")
	wantErr(t, err, proto.ErrAccess) // nobody, not even an admin, may look
}
