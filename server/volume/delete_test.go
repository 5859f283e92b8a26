package volume

import (
	"errors"
	"testing"

	"github.com/coda-fs/coda/server/proto"
)

// TestDeleteRemovesEverything: Delete leaves no key of the replica, makes
// the old handle refuse updates, and frees the name for a new volume.
func TestDeleteRemovesEverything(t *testing.T) {
	set, v := newVolume(t)
	r := v.Info().Root
	d := mk(t, v, r, "d", proto.TypeDir, 0o755, 0)
	f := mk(t, v, d.FID, "f", proto.TypeFile, 0o644, 0)
	if _, _, err := v.Store(root, StoreArgs{FID: f.FID, Inline: []byte("data"), Size: 4}); err != nil {
		t.Fatal(err)
	}
	keep, err := set.Create("other", 0, 0, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	id := v.Info().ID
	if err := set.Delete(id); err != nil {
		t.Fatal(err)
	}
	if _, err := set.ByID(id); !errors.Is(err, proto.ErrNoVolume) {
		t.Fatalf("ByID after delete: %v", err)
	}
	if _, _, _, err := v.Create(root, CreateArgs{Dir: r, Name: "late", Type: proto.TypeFile, Mode: 0o644}); !errors.Is(err, proto.ErrNoVolume) {
		t.Fatalf("create in a deleted volume: %v", err)
	}
	it, err := set.db.NewIter(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for it.First(); it.Valid(); it.Next() {
		k := it.Key()
		if len(k) >= 5 && k[0] != pfxName && uint32(k[1])<<24|uint32(k[2])<<16|uint32(k[3])<<8|uint32(k[4]) == id {
			t.Errorf("key %q of the deleted volume remains", k)
		}
		if k[0] == pfxName && string(k[1:]) == "test" {
			t.Errorf("its name remains")
		}
	}
	it.Close()
	if err := set.Delete(id); !errors.Is(err, proto.ErrNoVolume) {
		t.Fatalf("second delete: %v", err)
	}
	if _, err := set.Create("test", 0, 0, 0, nil); err != nil {
		t.Fatalf("re-create the name: %v", err)
	}
	if _, err := keep.GetAttr(root, keep.Info().Root); err != nil {
		t.Fatalf("the other volume: %v", err)
	}
}
