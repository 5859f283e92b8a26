package venus

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/coda-fs/coda/server/proto"
	"github.com/coda-fs/coda/server/servertest"
)

// TestCMLSurvivesPowerCuts: with the cache database on a crash-simulating
// file system, a disconnected venus writes files while the machine
// "loses power" at random points (crash clones keeping a random share of
// what was not synced). Every clone opens; its log holds a prefix of the
// files made, with their data, including every file acknowledged more than
// a second before the cut; and the last clone's log, reconnected,
// reintegrates: the server then holds exactly those files.
func TestCMLSurvivesPowerCuts(t *testing.T) {
	s := newServer(t)
	cache := t.TempDir()
	mem := vfs.NewCrashableMem()
	v := newCoreWith(t, s, Options{CacheDir: cache, FS: mem})
	ctx := context.Background()
	realm := realmIno(t, v)
	spool, err := v.Mkdir(ctx, root, realm, "spool", 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.ReadDir(ctx, root, spool.Ino); err != nil {
		t.Fatal(err)
	}
	v.Disconnect(nil)

	content := func(i int) string { return fmt.Sprintf("file %d\n%0*d\n", i, i%5000, 0) }
	var mu sync.Mutex
	var acked []time.Time // when each file's close returned
	progress := make(chan int, 1)
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				done <- nil
				return
			default:
			}
			_, h, err := v.Create(ctx, root, spool.Ino, fmt.Sprintf("f%05d", i), 0o644, syscall.O_WRONLY)
			if err == nil {
				_, err = h.File().WriteAt([]byte(content(i)), 0)
			}
			if err == nil {
				err = v.Release(ctx, root, h)
			}
			if err != nil {
				done <- fmt.Errorf("file %d: %w", i, err)
				return
			}
			mu.Lock()
			acked = append(acked, time.Now())
			mu.Unlock()
			select {
			case progress <- i + 1:
			default:
			}
		}
	}()

	type cut struct {
		fs    *vfs.MemFS
		at    time.Time
		acked int
		cache string
	}
	seed := uint64(time.Now().UnixNano())
	if env := os.Getenv("CODA_CRASH_SEED"); env != "" {
		seed, _ = strconv.ParseUint(env, 10, 64) // replays the cuts' points and shares (not the timing)
	}
	t.Logf("crash seed %d (CODA_CRASH_SEED replays it)", seed)
	rng := rand.New(rand.NewPCG(seed, seed))
	var cuts []cut
	target := 0
	for range 4 {
		target += 100 + rng.IntN(400)
		for n := 0; n < target; {
			select {
			case n = <-progress:
			case err := <-done:
				t.Fatal(err)
			}
		}
		// The containers are files on the real disk, which does not
		// crash: each cut gets a copy of the cache directory.
		c := cut{fs: mem.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: rng.IntN(101), RNG: rng}), at: time.Now(), cache: t.TempDir()}
		mu.Lock()
		c.acked = len(acked)
		mu.Unlock()
		if out, err := exec.Command("cp", "-a", cache+"/.", c.cache).CombinedOutput(); err != nil {
			t.Fatalf("copy the cache: %v %s", err, out)
		}
		cuts = append(cuts, c)
	}
	close(stop)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}

	for i, c := range cuts {
		mu.Lock()
		mustHave := 0
		for mustHave < len(acked) && acked[mustHave].Before(c.at.Add(-time.Second)) {
			mustHave++
		}
		mu.Unlock()
		// The cut's database is at the cache's path on its file system:
		// the cache directory gets the cut's files back.
		if out, err := exec.Command("sh", "-c", "rm -rf "+cache+" && cp -a "+c.cache+" "+cache).CombinedOutput(); err != nil {
			t.Fatalf("restore the cache: %v %s", err, out)
		}
		v2, err := New(ctx, Options{Realm: s.Realm, Servers: []string{s.Addr}, CAFile: s.CAFile, CacheDir: cache, FS: c.fs})
		if err != nil {
			t.Fatalf("cut %d (after %d files): venus does not open: %v", i, c.acked, err)
		}
		files := loggedFiles(t, v2)
		t.Logf("cut %d: %d files acknowledged (%d more than a second before the cut), %d in the log", i, c.acked, mustHave, len(files))
		if len(files) < mustHave || len(files) > c.acked+1 {
			t.Fatalf("cut %d: the log holds %d files; %d were acknowledged, %d more than a second before the cut", i, len(files), c.acked, mustHave)
		}
		for j, f := range files {
			if f.name != fmt.Sprintf("f%05d", j) {
				t.Fatalf("cut %d: the log's file %d is %s: not a prefix of the files made", i, j, f.name)
			}
			if f.stored && f.data != content(j) {
				t.Fatalf("cut %d: %s's logged store (container %s) holds %s, not %s", i, f.name, f.cont, brief(f.data), brief(content(j)))
			}
		}
		if i < len(cuts)-1 {
			v2.Close()
			continue
		}
		// The last cut reconnects: its log reaches the server.
		if err := v2.Connect(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := v2.SetToken(ctx, root.UID, adminToken(t, s)); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			left, why := 0, ""
			v2.mu.Lock()
			for _, vol := range v2.vols {
				left += len(vol.cml)
				why += vol.waitReason
			}
			v2.mu.Unlock()
			if left == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the log of the last cut did not drain: %d left (%s)", left, why)
			}
			v2.startReintegration()
			time.Sleep(50 * time.Millisecond) // poll: reintegration runs by itself
		}
		sc := s.Client()
		rootFID, err := sc.Root("coda.root")
		if err != nil {
			t.Fatal(err)
		}
		dir, err := sc.Lookup(rootFID, "spool")
		if err != nil {
			t.Fatal(err)
		}
		ents, err := sc.ReadDir(dir.FID)
		if err != nil || len(ents) != len(files) {
			t.Fatalf("the server holds %d files after reintegration (%v), the log had %d", len(ents), err, len(files))
		}
		for j := range files {
			a, err := sc.Lookup(dir.FID, fmt.Sprintf("f%05d", j))
			if err != nil {
				t.Fatal(err)
			}
			if _, data, err := sc.Fetch(a.FID); err != nil || (files[j].stored && string(data) != content(j)) {
				t.Fatalf("f%05d on the server holds %s, not %s (%v)", j, brief(string(data)), brief(content(j)), err)
			}
		}
		sc.Close()
		v2.Close()
	}
}

// loggedFile is a file a log creates, and the data a logged store gives it.
type loggedFile struct {
	name   string
	stored bool
	data   string
	cont   string // the container the store ships
}

// brief shows data in a test message: its length and start.
func brief(data string) string {
	return fmt.Sprintf("%d bytes %q", len(data), data[:min(len(data), 16)])
}

// loggedFiles lists the files the logs of v create, in log order, with the
// data of their logged stores.
func loggedFiles(t *testing.T, v *Venus) []loggedFile {
	t.Helper()
	v.mu.Lock()
	defer v.mu.Unlock()
	var out []loggedFile
	byFID := map[proto.FID]int{}
	for _, vol := range v.vols {
		for _, r := range vol.cml {
			req, err := r.request()
			if err != nil {
				t.Fatalf("log record %d (%v, %d bytes %x): %v", r.seq, r.op, len(r.req), r.req[:min(len(r.req), 16)], err)
			}
			switch m := req.(type) {
			case *proto.Create:
				if r.op == proto.OpCreate {
					byFID[m.FID] = len(out)
					out = append(out, loggedFile{name: m.Name})
				}
			case *proto.Store:
				i, ok := byFID[m.FID]
				if !ok {
					continue
				}
				f, err := v.conts.open(v.storeContainer(r))
				if err != nil {
					t.Fatalf("the data of %s: %v", out[i].name, err)
				}
				b, err := io.ReadAll(f)
				f.Close()
				if err != nil {
					t.Fatal(err)
				}
				out[i].stored, out[i].data, out[i].cont = true, string(b), v.storeContainer(r)+" (logged "+r.cont+")"
			}
		}
	}
	return out
}

// adminToken logs in to s as the admin.
func adminToken(t *testing.T, s *servertest.Server) proto.TokenInfo {
	t.Helper()
	c := s.AnonClient()
	defer c.Close()
	tok, err := c.Login("admin", servertest.AdminPassword)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
