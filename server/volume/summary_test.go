package volume

import (
	"testing"

	"github.com/coda-fs/coda/server/proto"
)

// TestSummaries: one summary per vnode in vnode order, paged; the checksum
// follows content (a file's bytes, a directory's entries) and nothing else.
func TestSummaries(t *testing.T) {
	_, v := newVolume(t)
	r := v.Info().Root
	d := mk(t, v, r, "d", proto.TypeDir, 0o755, 0)
	f := mk(t, v, d.FID, "f", proto.TypeFile, 0o644, 0)
	mk(t, v, r, "l", proto.TypeSymlink, 0o777, 0)
	all, more, err := v.Summaries(0, 100, false)
	if err != nil || more || len(all) != 4 {
		t.Fatalf("summaries: %d, more %v, %v", len(all), more, err)
	}
	for i := 1; i < len(all); i++ {
		if all[i].FID.Vnode <= all[i-1].FID.Vnode {
			t.Fatalf("not in vnode order: %v", all)
		}
	}
	page, more, err := v.Summaries(all[1].FID.Vnode, 2, false)
	if err != nil || !more && len(page) != 2 || page[0].FID != all[2].FID {
		t.Fatalf("page after %v: %v %v %v", all[1].FID, page, more, err)
	}
	sumOf := func(fid proto.FID) uint64 {
		t.Helper()
		s, _, err := v.Summaries(fid.Vnode-1, 1, false)
		if err != nil || len(s) != 1 || s[0].FID != fid {
			t.Fatalf("summary of %v: %v %v", fid, s, err)
		}
		return s[0].Sum
	}
	empty, dirBefore := sumOf(f.FID), sumOf(d.FID)
	if _, _, err := v.Store(root, StoreArgs{FID: f.FID, Inline: []byte("abc"), Size: 3}); err != nil {
		t.Fatal(err)
	}
	abc := sumOf(f.FID)
	if abc == empty {
		t.Fatal("the checksum did not change with the content")
	}
	if sumOf(d.FID) != dirBefore {
		t.Fatal("a file's new content changed its directory's checksum")
	}
	mk(t, v, d.FID, "g", proto.TypeFile, 0o644, 0)
	if sumOf(d.FID) == dirBefore {
		t.Fatal("a new entry did not change the directory's checksum")
	}
	// A sparse tail reads as zeros: "abc" extended to 5 bytes equals
	// "abc\0\0" stored outright.
	if _, _, err := v.SetAttr(root, proto.SetAttr{FID: f.FID, Mask: proto.SetSize, Size: 5}); err != nil {
		t.Fatal(err)
	}
	extended := sumOf(f.FID)
	if _, _, err := v.Store(root, StoreArgs{FID: f.FID, Inline: []byte("abc\x00\x00"), Size: 5}); err != nil {
		t.Fatal(err)
	}
	if sumOf(f.FID) != extended {
		t.Fatal("an extended file and the same bytes stored outright differ")
	}
}
