package volume

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/coda-fs/coda/auth/acl"
	"github.com/coda-fs/coda/server/proto"
	"github.com/coda-fs/coda/server/store"
)

// root is the admin user: a member of System:Administrators.
var root = Cred{UID: proto.AdminUserID, CPS: []int32{proto.AdminUserID, proto.AdministratorsID, proto.AnyUserID}, Admin: true}

func newVolume(t *testing.T) (*Set, *Volume) {
	t.Helper()
	db, err := store.Open(store.Options{Dir: t.TempDir(), NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	set, err := Open(db, nil)
	if err != nil {
		t.Fatal(err)
	}
	v, err := set.Create("test", 0, 0, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	return set, v
}

func mustCreate(t *testing.T, v *Volume, dir proto.FID, name string, typ proto.ObjType) proto.Attr {
	t.Helper()
	_, a, _, err := v.Create(root, CreateArgs{Dir: dir, Name: name, Type: typ, Mode: 0644})
	if err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	return a
}

func wantErr(t *testing.T, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("got error %v, want %v", err, want)
	}
}

func TestCreateLookupReadDir(t *testing.T) {
	_, v := newVolume(t)
	rootFID := v.Info().Root
	f := mustCreate(t, v, rootFID, "a", proto.TypeFile)
	d := mustCreate(t, v, rootFID, "d", proto.TypeDir)
	if d.Nlink != 2 || f.Nlink != 1 {
		t.Fatalf("nlink file %d dir %d", f.Nlink, d.Nlink)
	}
	_, _, _, err := v.Create(root, CreateArgs{Dir: rootFID, Name: "a", Type: proto.TypeFile})
	wantErr(t, err, proto.ErrExists)
	got, err := v.Lookup(root, rootFID, "a")
	if err != nil || got.FID != f.FID {
		t.Fatalf("lookup: %v %v", got.FID, err)
	}
	_, err = v.Lookup(root, rootFID, "nope")
	wantErr(t, err, proto.ErrNotFound)
	_, err = v.Lookup(root, f.FID, "x")
	wantErr(t, err, proto.ErrNotDir)
	rd, ents, more, err := v.ReadDir(root, rootFID, "", 0)
	if err != nil || more || len(ents) != 2 || ents[0].Name != "a" || ents[1].Name != "d" {
		t.Fatalf("readdir: %v %v %v", ents, more, err)
	}
	if rd.Nlink != 3 {
		t.Fatalf("root nlink %d, want 3", rd.Nlink)
	}
	_, ents, more, _ = v.ReadDir(root, rootFID, "", 1)
	if len(ents) != 1 || !more {
		t.Fatalf("paged readdir: %v %v", ents, more)
	}
	_, ents, more, _ = v.ReadDir(root, rootFID, "a", 1)
	if len(ents) != 1 || ents[0].Name != "d" || more {
		t.Fatalf("second page: %v %v", ents, more)
	}
}

func TestVersionVectorsBump(t *testing.T) {
	_, v := newVolume(t)
	rootFID := v.Info().Root
	before, _ := v.GetAttr(root, rootFID)
	sid := proto.StoreID{Client: 7, Seq: 9}
	_, _, ch, err := v.Create(root, CreateArgs{Dir: rootFID, Name: "a", Type: proto.TypeFile, StoreID: sid})
	if err != nil {
		t.Fatal(err)
	}
	after, _ := v.GetAttr(root, rootFID)
	if after.VV.Counters[0] != before.VV.Counters[0]+1 || after.VV.Store != sid {
		t.Fatalf("vv %v -> %v", before.VV, after.VV)
	}
	if len(ch.FIDs) != 2 {
		t.Fatalf("change names %v, want dir and file", ch.FIDs)
	}
}

func TestRemoveRmdir(t *testing.T) {
	_, v := newVolume(t)
	r := v.Info().Root
	mustCreate(t, v, r, "f", proto.TypeFile)
	d := mustCreate(t, v, r, "d", proto.TypeDir)
	mustCreate(t, v, d.FID, "inner", proto.TypeFile)
	_, _, _, err := v.Remove(root, r, "d", false, proto.StoreID{})
	wantErr(t, err, proto.ErrIsDir)
	_, _, _, err = v.Remove(root, r, "f", true, proto.StoreID{})
	wantErr(t, err, proto.ErrNotDir)
	_, _, _, err = v.Remove(root, r, "d", true, proto.StoreID{})
	wantErr(t, err, proto.ErrNotEmpty)
	if _, _, _, err := v.Remove(root, d.FID, "inner", false, proto.StoreID{}); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := v.Remove(root, r, "d", true, proto.StoreID{}); err != nil {
		t.Fatal(err)
	}
	_, obj, _, err := v.Remove(root, r, "f", false, proto.StoreID{})
	if err != nil || obj.Nlink != 0 {
		t.Fatalf("remove f: %v nlink %d", err, obj.Nlink)
	}
	ra, _ := v.GetAttr(root, r)
	if ra.Nlink != 2 {
		t.Fatalf("root nlink %d after rmdir", ra.Nlink)
	}
	if info := v.Info(); info.Files != 1 {
		t.Fatalf("files %d, want 1 (the root)", info.Files)
	}
}

func TestRenameRules(t *testing.T) {
	_, v := newVolume(t)
	r := v.Info().Root
	a := mustCreate(t, v, r, "a", proto.TypeDir)
	b := mustCreate(t, v, a.FID, "b", proto.TypeDir)
	mustCreate(t, v, r, "f", proto.TypeFile)
	mustCreate(t, v, r, "g", proto.TypeFile)
	ren := func(fd proto.FID, fn string, td proto.FID, tn string) error {
		_, _, err := v.Rename(root, proto.Rename{FromDir: fd, FromName: fn, ToDir: td, ToName: tn})
		return err
	}
	wantErr(t, ren(r, "a", b.FID, "x"), proto.ErrInvalid) // into itself
	wantErr(t, ren(r, "f", r, "a"), proto.ErrIsDir)       // file over dir
	wantErr(t, ren(r, "a", r, "f"), proto.ErrNotDir)      // dir over file
	wantErr(t, ren(r, "nope", r, "x"), proto.ErrNotFound) // no source
	wantErr(t, ren(r, "f", proto.FID{Volume: 99, Vnode: 1, Unique: 1}, "x"), proto.ErrCrossDevice)
	if err := ren(r, "f", r, "g"); err != nil { // replaces g
		t.Fatal(err)
	}
	if _, err := v.Lookup(root, r, "f"); !errors.Is(err, proto.ErrNotFound) {
		t.Fatalf("f still there: %v", err)
	}
	if err := ren(a.FID, "b", r, "b2"); err != nil { // dir across dirs
		t.Fatal(err)
	}
	ra, _ := v.GetAttr(root, r)
	aa, _ := v.GetAttr(root, a.FID)
	if ra.Nlink != 4 || aa.Nlink != 2 {
		t.Fatalf("nlinks after dir move: root %d a %d", ra.Nlink, aa.Nlink)
	}
	mustCreate(t, v, b.FID, "in", proto.TypeFile)
	wantErr(t, ren(r, "a", r, "b2"), proto.ErrNotEmpty)
}

// TestLinkAcrossDirectories: link(2) and rename(2) of a file between any
// two directories of a volume, as POSIX has them: link counts on every
// name, the file's ctime and both directories' mtimes, EEXIST, ENOENT,
// EPERM for a directory, EXDEV across volumes; the file's Parent (whose
// ACL governs it, and getpath's answer) stays a directory holding a name.
func TestLinkAcrossDirectories(t *testing.T) {
	_, v := newVolume(t)
	r := v.Info().Root
	f := mustCreate(t, v, r, "f", proto.TypeFile)
	d := mustCreate(t, v, r, "d", proto.TypeDir)
	e := mustCreate(t, v, d.FID, "e", proto.TypeDir)
	before, _ := v.GetAttr(root, f.FID)
	dBefore, _ := v.GetAttr(root, d.FID)
	dir, obj, _, err := v.Link(root, d.FID, "f2", f.FID, proto.StoreID{})
	if err != nil || obj.Nlink != 2 {
		t.Fatalf("link across directories: %v, nlink %d", err, obj.Nlink)
	}
	if obj.Ctime == before.Ctime || dir.Mtime == dBefore.Mtime || dir.Ctime == dBefore.Ctime {
		t.Fatalf("link changed ctime %d→%d, the directory's mtime %d→%d",
			before.Ctime, obj.Ctime, dBefore.Mtime, dir.Mtime)
	}
	if _, obj, _, err = v.Link(root, e.FID, "f3", f.FID, proto.StoreID{}); err != nil || obj.Nlink != 3 {
		t.Fatalf("a third name: %v, nlink %d", err, obj.Nlink)
	}
	for _, name := range []struct {
		dir  proto.FID
		name string
	}{{r, "f"}, {d.FID, "f2"}, {e.FID, "f3"}} {
		if a, err := v.Lookup(root, name.dir, name.name); err != nil || a.FID != f.FID || a.Nlink != 3 {
			t.Fatalf("%s: %+v, %v", name.name, a, err)
		}
	}
	_, _, _, err = v.Link(root, d.FID, "f2", f.FID, proto.StoreID{})
	wantErr(t, err, proto.ErrExists)
	_, _, _, err = v.Link(root, d.FID, "ghost", proto.FID{Volume: r.Volume, Vnode: 999, Unique: 999}, proto.StoreID{})
	wantErr(t, err, proto.ErrNotFound)
	_, _, _, err = v.Link(root, e.FID, "d2", d.FID, proto.StoreID{})
	wantErr(t, err, proto.ErrPerm)
	_, _, _, err = v.Link(root, d.FID, "x", proto.FID{Volume: r.Volume + 1, Vnode: f.FID.Vnode, Unique: f.FID.Unique}, proto.StoreID{})
	wantErr(t, err, proto.ErrCrossDevice)

	// A name moves to another directory; the others stay.
	if _, _, err := v.Rename(root, proto.Rename{FromDir: d.FID, FromName: "f2", ToDir: e.FID, ToName: "g"}); err != nil {
		t.Fatal(err)
	}
	if a, _ := v.GetAttr(root, f.FID); a.Nlink != 3 {
		t.Fatalf("nlink %d after a rename", a.Nlink)
	}
	// The names in the root go: the file now lives in e, and says so.
	for _, name := range []string{"f"} {
		if _, _, _, err := v.Remove(root, r, name, false, proto.StoreID{}); err != nil {
			t.Fatal(err)
		}
	}
	if a, _ := v.GetAttr(root, f.FID); a.Nlink != 2 {
		t.Fatalf("nlink %d after removing one name", a.Nlink)
	}
	if p, err := v.Path(root, f.FID); err != nil || (p != "/d/e/f3" && p != "/d/e/g") {
		t.Fatalf("getpath after the first name went: %q, %v", p, err)
	}
	for _, name := range []string{"f3", "g"} {
		if _, _, _, err := v.Remove(root, e.FID, name, false, proto.StoreID{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := v.GetAttr(root, f.FID); !errors.Is(err, proto.ErrNotFound) {
		t.Fatalf("the file outlived its last name: %v", err)
	}
}

// TestLinkNeedsRightsOnTheTarget: linking a file of another directory
// needs the rights to read it there (and to write it, unless one owns it):
// a link may come to be governed by its new directory's ACL.
func TestLinkNeedsRightsOnTheTarget(t *testing.T) {
	_, v := newVolume(t)
	r := v.Info().Root
	alice := user(1000)
	secret := mustCreate(t, v, r, "secret", proto.TypeDir)
	f := mustCreate(t, v, secret.FID, "f", proto.TypeFile)
	mine := mustCreate(t, v, r, "mine", proto.TypeDir)
	if _, _, err := v.SetAttr(root, proto.SetAttr{FID: mine.FID, Mask: proto.SetMode, Mode: 0o777}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := v.SetACL(root, mine.FID, false, []Edit{{ID: 1000, Rights: acl.All}}, proto.StoreID{}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := v.SetACL(root, secret.FID, false, []Edit{{ID: proto.AnyUserID, Rights: 0}}, proto.StoreID{}); err != nil {
		t.Fatal(err)
	}
	_, _, _, err := v.Link(alice, mine.FID, "stolen", f.FID, proto.StoreID{})
	wantErr(t, err, proto.ErrAccess)
	if _, _, err := v.SetACL(root, secret.FID, false, []Edit{{ID: 1000, Rights: acl.Lookup | acl.Read}}, proto.StoreID{}); err != nil {
		t.Fatal(err)
	}
	_, _, _, err = v.Link(alice, mine.FID, "stolen", f.FID, proto.StoreID{})
	wantErr(t, err, proto.ErrAccess) // not hers: 'w' too
	if _, _, err := v.SetACL(root, secret.FID, false, []Edit{{ID: 1000, Rights: acl.Lookup | acl.Read | acl.Write}}, proto.StoreID{}); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err = v.Link(alice, mine.FID, "shared", f.FID, proto.StoreID{}); err != nil {
		t.Fatal(err)
	}
}

// user returns the credentials of Coda user uid, a member of groups.
func user(uid int32, groups ...int32) Cred {
	return Cred{UID: uid, CPS: append([]int32{uid, proto.AnyUserID}, groups...)}
}

// TestModeBitsUnderOpenACL: where System:AnyUser holds every right, the
// mode bits alone decide, judged against the caller's Coda identity.
func TestModeBitsUnderOpenACL(t *testing.T) {
	_, v := newVolume(t)
	r := v.Info().Root
	alice, bob := user(1000, -300), user(1001)
	if _, _, err := v.SetACL(root, r, false, []Edit{{ID: proto.AnyUserID, Rights: acl.All}}, proto.StoreID{}); err != nil {
		t.Fatal(err)
	}
	_, _, _, err := v.Create(alice, CreateArgs{Dir: r, Name: "x", Type: proto.TypeFile})
	wantErr(t, err, proto.ErrAccess) // root dir is 0755 admin
	if _, _, err := v.SetAttr(root, proto.SetAttr{FID: r, Mask: proto.SetMode, Mode: 01777}); err != nil {
		t.Fatal(err)
	}
	_, f, _, err := v.Create(alice, CreateArgs{Dir: r, Name: "x", Type: proto.TypeFile, Mode: 0640, GID: 300})
	if err != nil {
		t.Fatal(err)
	}
	if f.UID != 1000 || f.GID != 300 {
		t.Fatalf("new file owner %d group %d, want 1000 and 300", f.UID, f.GID)
	}
	_, err = v.OpenData(bob, f.FID)
	wantErr(t, err, proto.ErrAccess) // other bits
	if _, err := v.OpenData(user(1002, -300), f.FID); err != nil {
		t.Fatalf("group member fetch: %v", err) // group bits
	}
	_, _, err = v.Store(user(1002, -300), StoreArgs{FID: f.FID})
	wantErr(t, err, proto.ErrAccess)
	_, _, err = v.SetAttr(bob, proto.SetAttr{FID: f.FID, Mask: proto.SetMode, Mode: 0777})
	wantErr(t, err, proto.ErrPerm)
	_, _, err = v.SetAttr(alice, proto.SetAttr{FID: f.FID, Mask: proto.SetUID, UID: 1001})
	wantErr(t, err, proto.ErrPerm)
	_, _, err = v.SetAttr(alice, proto.SetAttr{FID: f.FID, Mask: proto.SetGID, GID: 400})
	wantErr(t, err, proto.ErrPerm) // not one of alice's groups
	_, _, _, err = v.Remove(bob, r, "x", false, proto.StoreID{})
	wantErr(t, err, proto.ErrPerm) // sticky directory
	// A group alice does not belong to is not given; the directory's is.
	_, g, _, err := v.Create(alice, CreateArgs{Dir: r, Name: "y", Type: proto.TypeFile, Mode: 0644, GID: 400})
	if err != nil || g.GID != proto.GroupGID(proto.AdministratorsID) {
		t.Fatalf("create with a foreign group: %v, gid %d", err, g.GID)
	}
}

func TestStoreAndTruncate(t *testing.T) {
	set, v := newVolume(t)
	r := v.Info().Root
	f := mustCreate(t, v, r, "f", proto.TypeFile)
	w, err := set.db.NewContainer()
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("hello, world")
	w.WriteAt(data, 0)
	w.Finish(int64(len(data)))
	id, err := w.Commit()
	if err != nil {
		t.Fatal(err)
	}
	a, _, err := v.Store(root, StoreArgs{FID: f.FID, Container: id, Size: int64(len(data)), Blocks: 4096, Mtime: 5})
	if err != nil || a.Size != 12 || a.Mtime != 5 {
		t.Fatalf("store: %v %+v", err, a)
	}
	a, _, err = v.SetAttr(root, proto.SetAttr{FID: f.FID, Mask: proto.SetSize, Size: 5})
	if err != nil || a.Size != 5 {
		t.Fatalf("truncate: %v %+v", err, a)
	}
	d, err := v.OpenData(root, f.FID)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Container.Close()
	buf := make([]byte, 5)
	if n, _ := d.Container.ReadAtLogical(buf, 0, 5); n != 5 || string(buf) != "hello" {
		t.Fatalf("read after truncate: %q", buf)
	}
	if _, err := set.db.OpenContainer(id); err == nil {
		t.Fatalf("old container %v still exists after truncate", id)
	}
}

func TestParallelCreatesOneDirectory(t *testing.T) {
	_, v := newVolume(t)
	r := v.Info().Root
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				if _, _, _, err := v.Create(root, CreateArgs{Dir: r, Name: fmt.Sprintf("f-%d-%d", w, i), Type: proto.TypeFile}); err != nil {
					errs <- err
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	n := 0
	after := ""
	for {
		_, ents, more, err := v.ReadDir(root, r, after, 1000)
		if err != nil {
			t.Fatal(err)
		}
		n += len(ents)
		if !more {
			break
		}
		after = ents[len(ents)-1].Name
	}
	if n != 4000 {
		t.Fatalf("%d entries, want 4000", n)
	}
}
