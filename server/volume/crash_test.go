package volume

import (
	"bytes"
	"fmt"
	"io"
	"math/rand"
	randv2 "math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/coda-fs/coda/server/proto"
	"github.com/coda-fs/coda/server/store"
)

// history records, per file name, every version a worker tried to write in
// order (nil = removed) and how many of them were acknowledged.
type history struct {
	mu       sync.Mutex
	versions map[string][][]byte
	acked    map[string]int
}

func (h *history) begin(name string, data []byte) {
	h.mu.Lock()
	h.versions[name] = append(h.versions[name], data)
	h.mu.Unlock()
}

func (h *history) ack(name string) {
	h.mu.Lock()
	h.acked[name]++
	h.mu.Unlock()
}

// snapshot copies the acknowledged counts.
func (h *history) snapshot() map[string]int {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := map[string]int{}
	for k, v := range h.acked {
		out[k] = v
	}
	return out
}

// writeFile stores data as name's content through the volume API, as the
// file server does: container first, made durable, then the metadata.
func writeFile(v *Volume, db *store.DB, dir proto.FID, name string, data []byte) error {
	a, err := v.Lookup(root, dir, name)
	if err != nil {
		if _, a, _, err = v.Create(root, CreateArgs{Dir: dir, Name: name, Type: proto.TypeFile, Mode: 0644}); err != nil {
			return err
		}
	}
	if len(data) <= InlineMax {
		_, _, err = v.Store(root, StoreArgs{FID: a.FID, Inline: data, Size: int64(len(data)), Blocks: 4096})
		return err
	}
	w, err := db.NewContainer()
	if err != nil {
		return err
	}
	if _, err := w.WriteAt(data, 0); err != nil {
		return err
	}
	if err := w.Finish(int64(len(data))); err != nil {
		return err
	}
	id, err := w.Commit()
	if err != nil {
		return err
	}
	_, _, err = v.Store(root, StoreArgs{FID: a.FID, Container: id, Size: int64(len(data)), Blocks: 4096})
	return err
}

// TestCrashKeepsAcknowledgedStores runs concurrent stores and removes on a
// crash-simulating file system, takes crash clones at random moments, and
// checks every clone: each acknowledged update is present (or superseded by
// one in flight), no half-written content is visible, no orphan container
// survives start-up.
func TestCrashKeepsAcknowledgedStores(t *testing.T) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewSource(seed))
	memfs := vfs.NewCrashableMem()
	db, err := store.Open(store.Options{FS: memfs, Dir: "/vice"})
	if err != nil {
		t.Fatal(err)
	}
	set, err := Open(db, nil)
	if err != nil {
		t.Fatal(err)
	}
	v, err := set.Create("crash", 0, 0, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := v.Info().Root
	h := &history{versions: map[string][][]byte{}, acked: map[string]int{}}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int, r *rand.Rand) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				name := fmt.Sprintf("w%d-f%d", w, r.Intn(5))
				if r.Intn(4) == 0 {
					h.begin(name, nil)
					_, _, _, err := v.Remove(root, dir, name, false, proto.StoreID{})
					if err == nil || err == proto.ErrNotFound {
						h.ack(name)
					} else {
						t.Errorf("remove: %v", err)
						return
					}
					continue
				}
				data := bytes.Repeat([]byte(fmt.Sprintf("%s-v%d;", name, i)), 1+r.Intn(12000))
				h.begin(name, data)
				if err := writeFile(v, db, dir, name, data); err != nil {
					t.Errorf("write %s: %v", name, err)
					return
				}
				h.ack(name)
			}
		}(w, rand.New(rand.NewSource(rng.Int63())))
	}
	crashes := 0
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		time.Sleep(time.Duration(rng.Intn(20)) * time.Millisecond) // a random crash moment, not a readiness wait
		acked := h.snapshot()
		clone := memfs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: rng.Intn(101), RNG: randv2.New(randv2.NewPCG(uint64(rng.Int63()), 1))})
		checkClone(t, clone, h, acked)
		crashes++
	}
	close(stop)
	wg.Wait()
	t.Logf("%d crash points checked", crashes)
	db.Close()
}

// checkClone reopens a crashed file system and checks it against history.
func checkClone(t *testing.T, fs vfs.FS, h *history, acked map[string]int) {
	t.Helper()
	db, err := store.Open(store.Options{FS: fs, Dir: "/vice"})
	if err != nil {
		t.Fatalf("reopen after crash: %v", err)
	}
	defer db.Close()
	set, err := Open(db, nil)
	if err != nil {
		t.Fatalf("open volumes after crash: %v", err)
	}
	refs := map[store.ContainerID]bool{}
	set.Containers(func(id store.ContainerID) { refs[id] = true })
	if _, err := db.CleanOrphans(func(id store.ContainerID) bool { return refs[id] }); err != nil {
		t.Fatal(err)
	}
	v, err := set.ByName("crash")
	if err != nil {
		t.Fatal(err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for name, n := range acked {
		if n == 0 {
			continue
		}
		got, present := readFile(t, v, name)
		vs := h.versions[name]
		// A write in flight after a removal first creates the file empty.
		ok := vs[n-1] == nil && len(vs) > n && present && len(got) == 0
		for _, want := range vs[n-1:] { // the acked one or a later in-flight one
			if (want == nil && !present) || (want != nil && present && bytes.Equal(got, want)) {
				ok = true
				break
			}
		}
		if !ok {
			t.Fatalf("after crash %s holds %d bytes (present %v); acknowledged version %d (removal: %v) lost", name, len(got), present, n, vs[n-1] == nil)
		}
	}
	usage, err := db.DiskUsage()
	if err != nil {
		t.Fatal(err)
	}
	if usage.Containers != int64(len(refs)) {
		t.Fatalf("%d containers on disk, %d referenced: orphans survived start-up", usage.Containers, len(refs))
	}
}

func readFile(t *testing.T, v *Volume, name string) ([]byte, bool) {
	a, err := v.Lookup(root, v.Info().Root, name)
	if err == proto.ErrNotFound {
		return nil, false
	}
	if err != nil {
		t.Fatalf("lookup %s after crash: %v", name, err)
	}
	d, err := v.OpenData(root, a.FID)
	if err != nil {
		t.Fatalf("open %s after crash: %v", name, err)
	}
	if d.Inline != nil {
		return append(d.Inline, make([]byte, a.Size-int64(len(d.Inline)))...), true
	}
	if d.Container == nil {
		return []byte{}, true
	}
	defer d.Container.Close()
	buf := make([]byte, a.Size)
	if n, err := d.Container.ReadAtLogical(buf, 0, a.Size); int64(n) != a.Size || (err != nil && err != io.EOF) {
		t.Fatalf("read %s after crash: %d of %d bytes: %v", name, n, a.Size, err)
	}
	return buf, true
}
