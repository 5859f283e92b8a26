package fusefs_test

import (
	"testing"

	"github.com/coda-fs/coda/client/venustest"
)

// TestSparseFilesStaySparse: a 64 MiB file with 8 KiB of data is stored
// and fetched as its extents; both caches hold it with its holes.
func TestSparseFilesStaySparse(t *testing.T) {
	_, a, b := twoMounts(t)
	venustest.Sh(t, "truncate -s 64M "+a.Path("sparse")+
		" && printf data | dd of="+a.Path("sparse")+" bs=4096 seek=1000 conv=notrunc status=none"+
		" && printf tail | dd of="+a.Path("sparse")+" bs=1 seek=67108860 conv=notrunc status=none")
	sumA := venustest.Sh(t, "md5sum < "+a.Path("sparse"))
	sumB := venustest.Sh(t, "md5sum < "+b.Path("sparse"))
	if sumA != sumB {
		t.Fatalf("the clients disagree: %s vs %s", sumA, sumB)
	}
	if got := venustest.Sh(t, "stat -c %s "+b.Path("sparse")); got != "67108864\n" {
		t.Fatalf("size on B %s", got)
	}
	for _, v := range []*venustest.Venus{a, b} {
		if n := allocatedBytes(t, v.CacheDir+"/containers"); n > 1<<20 {
			t.Errorf("cache %s holds %d bytes for 8 KiB of data", v.CacheDir, n)
		}
	}
	if s := b.Core.Stats(); s.FetchedBytes > 1<<20 {
		t.Errorf("B fetched %d bytes for 8 KiB of data", s.FetchedBytes)
	}
}
