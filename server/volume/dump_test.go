package volume

import (
	"bytes"
	"errors"
	"io"
	"sort"
	"strings"
	"testing"

	"github.com/coda-fs/coda/backup"
	"github.com/coda-fs/coda/server/proto"
)

// dumped is what a dump holds, read back.
type dumped struct {
	h       *backup.Header
	dirs    map[uint32]*backup.Dir
	files   map[string]string // first name → data (holes as zeros)
	links   map[string]string
	removed []uint32
	t       *backup.Trailer
}

func readDump(t *testing.T, b []byte) *dumped {
	t.Helper()
	r, err := backup.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	d := &dumped{dirs: map[uint32]*backup.Dir{}, files: map[string]string{}, links: map[string]string{}}
	var cur []byte
	var curName string
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return d
		}
		if err != nil {
			t.Fatal(err)
		}
		switch x := rec.(type) {
		case *backup.Header:
			d.h = x
		case *backup.Dir:
			if _, ok := d.dirs[x.Parent]; !ok && x.Parent != x.Vnode {
				t.Fatalf("directory %d before its parent %d", x.Vnode, x.Parent)
			}
			d.dirs[x.Vnode] = x
		case *backup.File:
			cur, curName = make([]byte, x.Size), x.Names[0].Name
		case *backup.Extent:
			copy(cur[x.Offset:], x.Data)
		case *backup.EndFile:
			d.files[curName] = string(cur)
		case *backup.Symlink:
			d.links[x.Names[0].Name] = x.Target
		case *backup.Removed:
			d.removed = append(d.removed, x.Vnode)
		case *backup.Trailer:
			d.t = x
		}
	}
}

// TestDumpLevelsAndBases: a level-0 dump of a clone holds every object;
// after volutil ancient, a level-1 dump of the next clone holds every
// directory (Changed only where something changed), the changed files and
// the removed objects; a level asked for without a base below it is full;
// a read-write volume is refused.
func TestDumpLevelsAndBases(t *testing.T) {
	set, v := newVolume(t)
	r := v.Info().Root
	sub := mk(t, v, r, "sub", proto.TypeDir, 0o755, 0)
	mk(t, v, r, "quiet", proto.TypeDir, 0o755, 0)
	big := bytes.Repeat([]byte("z"), InlineMax+5)
	for name, data := range map[string][]byte{"a": []byte("alpha"), "big": big} {
		if err := writeFile(v, set.db, sub.FID, name, data); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, _, err := v.Create(root, CreateArgs{Dir: r, Name: "ln", Type: proto.TypeSymlink, Mode: 0o777, Target: "sub/a"}); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Dump(io.Discard, DumpOptions{Level: 0, Server: 1}); err == nil {
		t.Fatal("a read-write volume was dumped")
	}
	backupOf := func() *Volume {
		t.Helper()
		if old, err := set.ByName("test.backup"); err == nil {
			if err := set.Delete(old.ID()); err != nil {
				t.Fatal(err)
			}
		}
		c, err := set.Clone(v.ID(), "test.backup", 0, 0, proto.VolBackup, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	c := backupOf()
	var buf bytes.Buffer
	info, err := c.Dump(&buf, DumpOptions{Level: 3, Server: 1}) // no base: full
	if err != nil || info.Level != 0 || info.BaseLevel != -1 {
		t.Fatalf("first dump at level 3: %+v %v", info, err)
	}
	d := readDump(t, buf.Bytes())
	if len(d.dirs) != 3 || d.files["a"] != "alpha" || d.files["big"] != string(big) || d.links["ln"] != "sub/a" || !d.h.Full() {
		t.Fatalf("full dump: %d dirs, files %d, links %v", len(d.dirs), len(d.files), d.links)
	}
	full := bytes.Clone(buf.Bytes())
	if lvl, err := v.Ancient(0, 0); err != nil || lvl != 0 {
		t.Fatalf("ancient: %d %v", lvl, err)
	}

	if err := writeFile(v, set.db, sub.FID, "a", []byte("changed")); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := v.Remove(root, sub.FID, "big", false, proto.StoreID{}); err != nil {
		t.Fatal(err)
	}
	if err := writeFile(v, set.db, r, "new", []byte("new")); err != nil {
		t.Fatal(err)
	}
	c = backupOf()
	buf.Reset()
	if info, err = c.Dump(&buf, DumpOptions{Level: 1, Server: 1}); err != nil || info.Level != 1 || info.BaseLevel != 0 {
		t.Fatalf("level 1: %+v %v", info, err)
	}
	d = readDump(t, buf.Bytes())
	var changed []string
	for _, dir := range d.dirs {
		if dir.Changed {
			for _, e := range d.dirs[dir.Parent].Entries {
				if e.Vnode == dir.Vnode {
					changed = append(changed, e.Name)
				}
			}
			if dir.Vnode == dir.Parent {
				changed = append(changed, "/")
			}
		}
	}
	sort.Strings(changed)
	if len(d.dirs) != 3 || len(changed) != 2 || changed[0] != "/" || changed[1] != "sub" {
		t.Fatalf("level 1 holds %d directories, changed: %v", len(d.dirs), changed)
	}
	if len(d.files) != 2 || d.files["a"] != "changed" || d.files["new"] != "new" || len(d.links) != 0 || len(d.removed) != 1 {
		t.Fatalf("level 1 holds files %v, links %v, removed %v", d.files, d.links, d.removed)
	}
	if _, err := c.Estimate(); err != nil {
		t.Fatal(err)
	}
	inc := bytes.Clone(buf.Bytes())

	// The chain restores the volume as the last dump saw it.
	buf.Reset()
	if _, err := c.Dump(&buf, DumpOptions{Level: 0, Server: 1}); err != nil {
		t.Fatal(err)
	}
	now := readDump(t, buf.Bytes())
	restored, err := set.Create("restored", 0, 0, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := restored.StartRestore()
	if err != nil {
		t.Fatal(err)
	}
	for _, dump := range [][]byte{full, inc} {
		rd, err := backup.NewReader(bytes.NewReader(dump))
		if err != nil {
			t.Fatal(err)
		}
		for {
			rec, err := rd.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := rs.Apply(rec); err != nil {
				t.Fatalf("restore: %v", err)
			}
		}
	}
	if err := rs.Finish(); err != nil {
		t.Fatal(err)
	}
	rc, err := set.Clone(restored.ID(), "restored.backup", 0, 0, proto.VolBackup, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	buf.Reset()
	if _, err := rc.Dump(&buf, DumpOptions{Level: 0, Server: 1}); err != nil {
		t.Fatal(err)
	}
	got := readDump(t, buf.Bytes())
	if len(got.dirs) != len(now.dirs) || len(got.files) != len(now.files) || len(got.links) != len(now.links) {
		t.Fatalf("restored: %d dirs, %d files, %d links; the volume: %d, %d, %d", len(got.dirs), len(got.files), len(got.links), len(now.dirs), len(now.files), len(now.links))
	}
	for name, data := range now.files {
		if got.files[name] != data {
			t.Fatalf("restored %s holds %q, want %q", name, got.files[name], data)
		}
	}
	for vn, d := range now.dirs {
		g := got.dirs[vn]
		if g == nil || len(g.Entries) != len(d.Entries) || g.Mode != d.Mode {
			t.Fatalf("restored directory %d: %+v, want %+v", vn, g, d)
		}
	}
	// Out of order: the incremental alone, or the full dump twice.
	other, _ := set.Create("other", 0, 0, 0, nil)
	rs, _ = other.StartRestore()
	rd, _ := backup.NewReader(bytes.NewReader(inc))
	rec, _ := rd.Next()
	if err := rs.Apply(rec); err == nil || !strings.Contains(err.Error(), "starts with a full dump") {
		t.Fatalf("a chain starting with an incremental: %v", err)
	}
	rs.Abort()
	if _, err := v.Ancient(0, 12345); !errors.Is(err, proto.ErrNotFound) {
		t.Fatalf("ancient of a clone that is gone: %v", err)
	}
	// The bases and the last-dump record go with the volume.
	if err := set.Delete(c.ID()); err != nil {
		t.Fatal(err)
	}
	if err := set.Delete(v.ID()); err != nil {
		t.Fatal(err)
	}
	for _, pfx := range []byte{pfxBase, pfxBaseVn, pfxLastDump} {
		p := volPrefix(pfx, v.ID())
		it, err := set.db.NewIter(p, prefixEnd(p))
		if err != nil {
			t.Fatal(err)
		}
		if it.First() {
			t.Errorf("a %c key of the deleted volume remains", pfx)
		}
		it.Close()
	}
}
