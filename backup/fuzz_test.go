package backup

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/coda-fs/coda/auth/acl"
	"github.com/coda-fs/coda/server/proto"
)

// sampleDump is a small dump of every kind of record: directories (one
// nested), a file with two names, a sparse file, a symlink, a file whose
// directory is unknown.
func sampleDump(t testing.TB, full bool) []byte {
	var b bytes.Buffer
	w := NewWriter(&b)
	h := &Header{Volume: "web.backup", VolumeID: 2, Source: "web", SourceID: 1, Level: 0, BaseLevel: -1}
	if !full {
		h.Level, h.BaseLevel = 1, 0
	}
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	st := func(vn uint32) Status { return Status{Vnode: vn, Unique: vn, Mode: 0o755, Mtime: 1e18} }
	must(w.Header(h))
	must(w.Dir(&Dir{Status: st(1), Parent: 1, Changed: true, Entries: []Entry{
		{Name: "docs", Vnode: 2, Unique: 2, Type: proto.TypeDir}, {Name: "a", Vnode: 3, Unique: 3, Type: proto.TypeFile},
		{Name: "b", Vnode: 3, Unique: 3, Type: proto.TypeFile}, {Name: "ln", Vnode: 5, Unique: 5, Type: proto.TypeSymlink}}}))
	must(w.Dir(&Dir{Status: st(2), Parent: 1, Changed: full, ACL: sampleACL(t), Entries: []Entry{{Name: "sparse", Vnode: 4, Unique: 4, Type: proto.TypeFile}}}))
	must(w.Names(Names{33: "www-data"}))
	must(w.File(&File{Status: st(3), Nlink: 2, Size: 5, Names: []Name{{1, "a"}, {1, "b"}}, Map: []Span{{0, 5}}}))
	must(w.Extent(0, []byte("hello")))
	must(w.EndFile(3, 5))
	must(w.File(&File{Status: st(4), Nlink: 1, Size: 1 << 20, Names: []Name{{2, "sparse"}}, Map: []Span{{4096, 3}, {1<<20 - 2, 2}}}))
	must(w.Extent(4096, []byte("mid")))
	must(w.Extent(1<<20-2, []byte("nd")))
	must(w.EndFile(4, 5))
	must(w.Symlink(&Symlink{Status: st(5), Target: "../../etc/passwd", Names: []Name{{1, "ln"}}}))
	must(w.File(&File{Status: st(6), Nlink: 1, Size: 0, Names: []Name{{99, "orphan"}}}))
	must(w.EndFile(6, 0))
	if !full {
		must(w.Removed(7, 7))
	}
	must(w.Trailer())
	return b.Bytes()
}

func sampleACL(t testing.TB) []byte {
	a := acl.DefaultRoot()
	if err := a.Set(33, acl.Rights(1), false); err != nil {
		t.Fatal(err)
	}
	b, err := acl.Encode(a)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkArchive reads a tar dump2tar wrote and fails on any entry, hard
// link or path through a symlink outside root.
func checkArchive(t *testing.T, b []byte, root string) int {
	tr := tar.NewReader(bytes.NewReader(b))
	symlinks := map[string]bool{}
	n := 0
	inside := func(p string) bool {
		p = strings.TrimSuffix(p, "/")
		if p != root && !strings.HasPrefix(p, root+"/") {
			return false
		}
		for _, c := range strings.Split(p, "/") {
			if c == ".." || c == "." || c == "" {
				return false
			}
		}
		return true
	}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return n
		}
		if err != nil {
			t.Fatalf("dump2tar wrote an archive tar cannot read: %v", err)
		}
		n++
		if !inside(h.Name) {
			t.Fatalf("an entry outside %s: %q", root, h.Name)
		}
		for dir := h.Name; strings.Contains(dir, "/"); {
			dir = dir[:strings.LastIndex(dir, "/")]
			if symlinks[dir] {
				t.Fatalf("entry %q goes through the symlink %s", h.Name, dir)
			}
		}
		switch h.Typeflag {
		case tar.TypeLink:
			if !inside(h.Linkname) {
				t.Fatalf("a hard link to %q", h.Linkname)
			}
		case tar.TypeSymlink:
			symlinks[strings.TrimSuffix(h.Name, "/")] = true
		}
	}
}

func TestSampleDumpToTar(t *testing.T) {
	for _, full := range []bool{true, false} {
		var out bytes.Buffer
		st, err := ToTar(bytes.NewReader(sampleDump(t, full)), &out, "")
		if err != nil {
			t.Fatal(err)
		}
		if n := checkArchive(t, out.Bytes(), "web"); full && (n < 7 || st.HardLinks != 1 || st.Files != 3) {
			t.Fatalf("full: %d entries, %+v", n, st)
		}
		if !bytes.Contains(out.Bytes(), []byte(`{id: 33, name: "www-data"`)) {
			t.Fatal("the ACL sidecar does not name id 33 from the dump's names")
		}
	}
	// Every cut of the dump is refused, and leaves an archive without
	// its end.
	d := sampleDump(t, true)
	for cut := 0; cut < len(d); cut++ {
		var out bytes.Buffer
		if _, err := ToTar(bytes.NewReader(d[:cut]), &out, "web"); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("a dump cut at %d of %d bytes: %v", cut, len(d), err)
		}
		if bytes.HasSuffix(out.Bytes(), make([]byte, 1024)) && out.Len() > 0 {
			t.Fatalf("a dump cut at %d gave a terminated archive", cut)
		}
	}
	for _, root := range []string{"/abs", "../up", "a/../../b", "."} {
		if _, err := ToTar(bytes.NewReader(d), io.Discard, root); err == nil {
			t.Fatalf("root %q accepted", root)
		}
	}
}

// FuzzDump2tar: whatever the bytes, ToTar either fails or writes an
// archive tar reads whose every entry stays under the root.
func FuzzDump2tar(f *testing.F) {
	f.Add(sampleDump(f, true))
	f.Add(sampleDump(f, false))
	d := sampleDump(f, true)
	f.Add(d[:len(d)/2])
	f.Add(append(bytes.Clone(d[:40]), d[60:]...))
	f.Fuzz(func(t *testing.T, b []byte) {
		var out bytes.Buffer
		if _, err := ToTar(bytes.NewReader(b), &out, "root"); err != nil {
			return
		}
		checkArchive(t, out.Bytes(), "root")
	})
}

// reframe turns fuzz input into a dump whose records are well framed:
// each record is [kind][length, 2 bytes][body] in b, and gets its CRC
// here, so that the fuzzer explores the records' contents and order, not
// the checksums.
func reframe(b []byte) []byte {
	out := []byte(Magic + "\x01")
	for len(b) >= 3 {
		kind, n := b[0], int(b[1])|int(b[2])<<8
		b = b[3:]
		n = min(n, len(b))
		out = appendRecord(out, kind, b[:n])
		b = b[n:]
	}
	return out
}

// unframe is reframe's inverse on a real dump, for seeds.
func unframe(d []byte) []byte {
	var out []byte
	for d = d[len(Magic)+1:]; len(d) >= 9; {
		n := int(d[1]) | int(d[2])<<8 | int(d[3])<<16
		if n > 0xffff || len(d) < 9+n {
			break
		}
		out = append(out, d[0], byte(n), byte(n>>8))
		out = append(out, d[5:5+n]...)
		d = d[9+n:]
	}
	return out
}

// FuzzDumpRecords: well-framed records of any content and order either
// fail or convert to an archive that stays under the root.
func FuzzDumpRecords(f *testing.F) {
	f.Add(unframe(sampleDump(f, true)))
	f.Add(unframe(sampleDump(f, false)))
	f.Fuzz(func(t *testing.T, b []byte) {
		var out bytes.Buffer
		if _, err := ToTar(bytes.NewReader(reframe(b)), &out, "root"); err != nil {
			return
		}
		checkArchive(t, out.Bytes(), "root")
	})
}
