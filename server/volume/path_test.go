package volume

import (
	"errors"
	"testing"

	"github.com/coda-fs/coda/auth/acl"
	"github.com/coda-fs/coda/server/proto"
)

// TestPath: the path of an object back to the volume root, 'l' needed on
// the way, and a removed object has none.
func TestPath(t *testing.T) {
	_, v := newVolume(t)
	r := v.Info().Root
	a := mk(t, v, r, "a", proto.TypeDir, 0o777, 0)
	b := mk(t, v, a.FID, "b", proto.TypeDir, 0o777, 0)
	f := mk(t, v, b.FID, "f", proto.TypeFile, 0o666, 0)
	for fid, want := range map[proto.FID]string{r: "/", a.FID: "/a", b.FID: "/a/b", f.FID: "/a/b/f"} {
		if got, err := v.Path(root, fid); err != nil || got != want {
			t.Errorf("Path(%v) = %q, %v; want %q", fid, got, err, want)
		}
	}
	if got, err := v.Path(alice, f.FID); err != nil || got != "/a/b/f" {
		t.Errorf("alice (AnyUser rl): %q %v", got, err)
	}
	setACL(t, v, a.FID, Edit{ID: proto.AdministratorsID, Rights: acl.All})
	if _, err := v.Path(alice, f.FID); !errors.Is(err, proto.ErrAccess) {
		t.Errorf("alice without l on /a: %v, want EACCES", err)
	}
	if _, _, _, err := v.Remove(root, b.FID, "f", false, proto.StoreID{}); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Path(root, f.FID); !errors.Is(err, proto.ErrNotFound) {
		t.Errorf("a removed file: %v", err)
	}
}
