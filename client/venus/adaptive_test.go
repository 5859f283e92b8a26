package venus

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestAdaptive: a volume in adaptive mode is strongly connected until the
// link is measured weak; then updates are logged (and trickled back); when
// the link is strong again the log is sent and updates are synchronous.
// The mode survives a restart. The measurements are fed in directly here
// (a weak link on loopback is not to be had).
func TestAdaptive(t *testing.T) {
	s := newServer(t)
	cache := t.TempDir()
	v := newCore(t, s, cache)
	ctx := context.Background()
	dir := realmIno(t, v)
	writeFile(t, v, dir, "first", "strong\n")
	if n, err := v.Adaptive(nil); err != nil || n == 0 {
		t.Fatalf("adaptive: %d volumes, %v", n, err)
	}
	vol := v.volumeFor(v.byIno[dir].fid.Volume)
	logged := func() int {
		v.mu.Lock()
		defer v.mu.Unlock()
		return len(vol.cml)
	}
	writeFile(t, v, dir, "unmeasured", "x\n")
	if n := logged(); n != 0 {
		t.Fatalf("with the link not measured, %d updates were logged", n)
	}

	for range 5 {
		v.noteTransfer(1<<20, 60*time.Second) // 17 KB/s
	}
	v.adapt()
	if st, err := v.VolumeOf(ctx, root, dir); err != nil || !strings.Contains(st.State, "adaptive: the link is weak, 17 KB/s") {
		t.Fatalf("cfs lv on a weak link: %q %v", st.State, err)
	}
	writeFile(t, v, dir, "weak", "logged\n")
	if n := logged(); n == 0 {
		t.Fatal("on a weak link, an update was not logged")
	}

	for range 10 {
		v.noteTransfer(100<<20, time.Second)
	}
	v.adapt() // strong: the log is sent before adapt returns
	if n := logged(); n != 0 {
		t.Fatalf("on a strong link again, %d updates are still logged", n)
	}
	c := s.Client()
	defer c.Close()
	rootFID, err := c.Root("coda.root")
	if err != nil {
		t.Fatal(err)
	}
	a, err := c.Lookup(rootFID, "weak")
	if err != nil {
		t.Fatal(err)
	}
	if _, data, err := c.Fetch(a.FID); err != nil || string(data) != "logged\n" {
		t.Fatalf("the file logged on the weak link, on the server: %q %v", data, err)
	}

	v.Close()
	v = newCore(t, s, cache)
	v.mu.Lock()
	adaptive := v.volumeFor(vol.id).wd.adaptive
	v.mu.Unlock()
	if !adaptive {
		t.Fatal("adaptive mode did not survive a restart")
	}
}
