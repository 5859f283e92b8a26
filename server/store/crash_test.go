package store

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
)

const (
	crashWorkers       = 4
	crashKeysPerWorker = 3
	crashOpsPerWorker  = 40
	crashClonesPerRun  = 3
	crashBudget        = 4 * time.Second
)

// crashPoint is the file system as a crash left it, with what the test
// knew at that moment.
type crashPoint struct {
	fs        *vfs.MemFS
	unsynced  int
	acked     [][]int       // per worker, per key: acknowledged ops (before the crash)
	ops       [][][]keyOp   // per worker, per key: ops started (after the crash)
	allocated []ContainerID // ids handed out before the crash
}

// Random streams of container writes, metadata commits and container
// removals run in several goroutines; crashes are simulated at random
// moments with CrashClone; every clone must recover to a state that holds
// everything acknowledged, with exactly the acknowledged contents, atomic
// batches, and no orphan left after CleanOrphans.
func TestCrashRecoveryKeepsEverythingAcknowledged(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("CODA_STORE_CRASH_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	t.Logf("seed %d (rerun with CODA_STORE_CRASH_SEED=%d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	budget := crashBudget
	if testing.Short() {
		budget /= 4
	}
	start := time.Now()
	runs, crashes := 0, 0
	for runs < 3 || time.Since(start) < budget {
		crashes += crashRun(t, rng)
		runs++
		if t.Failed() {
			t.Fatalf("failed in run %d (seed %d)", runs, seed)
		}
	}
	t.Logf("%d runs, %d crash points verified in %v", runs, crashes, time.Since(start).Round(time.Millisecond))
}

// crashRun runs one workload, crashing it at random points, and verifies
// every crash point. It returns the number of crash points.
func crashRun(t *testing.T, rng *rand.Rand) int {
	wl := startCrashWorkload(t, rng)
	var points []crashPoint
	for range crashClonesPerRun {
		wl.waitOps(rng.Int64N(crashWorkers * crashOpsPerWorker))
		points = append(points, wl.crash(rng))
	}
	<-wl.finished
	if err := wl.db.Close(); err != nil {
		t.Fatal(err)
	}
	for i, p := range points {
		if err := verifyCrashPoint(t, p); err != nil {
			t.Errorf("crash point %d (unsynced data kept: %d%%): %v", i, p.unsynced, err)
		}
	}
	return len(points)
}

// crashWorkload is a store on a crashable FS with workers running on it.
type crashWorkload struct {
	fs       *vfs.MemFS
	db       *DB
	models   []*workerModel
	opsDone  atomic.Int64
	progress chan struct{} // a tick after each op
	finished chan struct{} // closed when every worker is done

	allocMu   sync.Mutex
	allocated []ContainerID
}

func startCrashWorkload(t *testing.T, rng *rand.Rand) *crashWorkload {
	wl := &crashWorkload{fs: vfs.NewCrashableMem(), progress: make(chan struct{}, 1), finished: make(chan struct{})}
	var err error
	if wl.db, err = Open(Options{FS: wl.fs, Dir: "/s", Logger: testLogger(t)}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range crashWorkers {
		m := newWorkerModel(g, crashKeysPerWorker)
		wl.models = append(wl.models, m)
		w := &crashWorker{t: t, db: wl.db, m: m, rng: rand.New(rand.NewPCG(rng.Uint64(), 1)), onAlloc: wl.onAlloc}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range crashOpsPerWorker {
				if !w.step() {
					return
				}
				wl.opsDone.Add(1)
				select {
				case wl.progress <- struct{}{}:
				default:
				}
			}
		}()
	}
	go func() { wg.Wait(); close(wl.finished) }()
	return wl
}

func (wl *crashWorkload) onAlloc(id ContainerID) {
	wl.allocMu.Lock()
	wl.allocated = append(wl.allocated, id)
	wl.allocMu.Unlock()
}

// waitOps waits until the workers have done target ops or finished.
func (wl *crashWorkload) waitOps(target int64) {
	for wl.opsDone.Load() < target {
		select {
		case <-wl.progress:
		case <-wl.finished:
			return
		}
	}
}

// crash takes a crash clone of the file system, with what the test knows.
func (wl *crashWorkload) crash(rng *rand.Rand) crashPoint {
	p := crashPoint{unsynced: []int{0, 50, 100}[rng.IntN(3)]}
	for _, m := range wl.models {
		_, acked := m.snapshot()
		p.acked = append(p.acked, acked)
	}
	wl.allocMu.Lock()
	p.allocated = append([]ContainerID(nil), wl.allocated...)
	wl.allocMu.Unlock()
	p.fs = wl.fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: p.unsynced, RNG: rng})
	for _, m := range wl.models {
		ops, _ := m.snapshot()
		p.ops = append(p.ops, ops)
	}
	return p
}

// crashWorker runs one worker's operations.
type crashWorker struct {
	t       *testing.T
	db      *DB
	m       *workerModel
	rng     *rand.Rand
	onAlloc func(ContainerID)
	live    []ContainerID // per key: the container the acknowledged value references
}

// step runs one random operation; false means the test failed.
func (w *crashWorker) step() bool {
	if w.live == nil {
		w.live = make([]ContainerID, crashKeysPerWorker)
	}
	k := w.rng.IntN(crashKeysPerWorker)
	var err error
	switch r := w.rng.IntN(10); {
	case r < 6:
		err = w.replace(k, true)
	case r < 7:
		err = w.replace(k, false) // a container nobody references
	case r < 9:
		err = w.commitOp(k, keyOp{del: true})
	default:
		err = w.abandon()
	}
	if err != nil {
		w.t.Errorf("worker %d: %v", w.m.g, err)
		return false
	}
	return true
}

// replace writes a new container and, if reference is set, points key k
// at it and removes the old one.
func (w *crashWorker) replace(k int, reference bool) error {
	cw, err := w.db.NewContainer()
	if err != nil {
		return err
	}
	defer cw.Abort()
	w.onAlloc(cw.id)
	content, err := randomContents(w.rng, cw)
	if err != nil {
		return err
	}
	id, err := cw.Commit()
	if err != nil || !reference {
		return err
	}
	return w.commitOp(k, keyOp{id: id, content: content})
}

// commitOp commits op on key k together with the worker's state, then
// removes the container the key referenced before.
func (w *crashWorker) commitOp(k int, op keyOp) error {
	version, state := w.m.start(k, op)
	b := w.db.NewBatch()
	if op.del {
		b.Delete(w.m.key(k))
	} else {
		b.Set(w.m.key(k), encodeKeyValue(version, op.id))
	}
	b.Set(w.m.stateKey(), state)
	if err := w.db.Commit(b); err != nil {
		return err
	}
	w.m.ack(k)
	old := w.live[k]
	w.live[k] = op.id
	return w.db.RemoveContainer(old)
}

// abandon starts a container and gives up on it.
func (w *crashWorker) abandon() error {
	cw, err := w.db.NewContainer()
	if err != nil {
		return err
	}
	w.onAlloc(cw.id)
	if _, err := cw.Write([]byte("abandoned")); err != nil {
		return err
	}
	cw.Abort()
	return nil
}

// verifyCrashPoint reopens a crash clone and checks it against the model.
func verifyCrashPoint(t *testing.T, p crashPoint) error {
	db, err := Open(Options{FS: p.fs, Dir: "/s", Logger: testLogger(t)})
	if err != nil {
		return fmt.Errorf("reopen: %w", err)
	}
	defer db.Close()
	referenced := map[ContainerID]bool{}
	for g := range p.ops {
		if err := verifyWorker(db, g, p.ops[g], p.acked[g], referenced); err != nil {
			return fmt.Errorf("worker %d: %w", g, err)
		}
	}
	if _, err := db.CleanOrphans(func(id ContainerID) bool { return referenced[id] }); err != nil {
		return fmt.Errorf("CleanOrphans: %w", err)
	}
	return verifyNoOrphans(db, referenced, p.allocated)
}

// verifyWorker checks one worker's keys and state key, adding the
// containers they reference to referenced.
func verifyWorker(db *DB, g int, ops [][]keyOp, acked []int, referenced map[ContainerID]bool) error {
	m := newWorkerModel(g, len(ops))
	state := make([]int, len(ops)) // all zero when the state key is absent
	if v, err := db.Get(m.stateKey()); err == nil {
		if state, err = decodeState(v, len(ops)); err != nil {
			return err
		}
	} else if !errors.Is(err, ErrNotFound) {
		return err
	}
	for k := range ops {
		version, id, err := recoveredVersion(db, m.key(k), state[k], ops[k])
		if err != nil {
			return fmt.Errorf("key %d: %w", k, err)
		}
		if version < acked[k] || version > len(ops[k]) {
			return fmt.Errorf("key %d: recovered version %d; %d ops were acknowledged, %d started", k, version, acked[k], len(ops[k]))
		}
		if version == 0 || ops[k][version-1].del {
			continue
		}
		op := ops[k][version-1]
		if op.id != id {
			return fmt.Errorf("key %d version %d: recovered container %s, op wrote %s", k, version, id, op.id)
		}
		got, err := readContainer(db, id, int64(len(op.content)))
		if err != nil {
			return fmt.Errorf("key %d version %d: container %s: %w", k, version, id, err)
		}
		if !bytes.Equal(got, op.content) {
			return fmt.Errorf("key %d version %d: container %s does not hold the contents written", k, version, id)
		}
		referenced[id] = true
	}
	return nil
}

// recoveredVersion returns the version of key's state: its value's
// version if present; if absent, the version of the delete the worker's
// state key records (0: never set). It checks that key and state agree
// (the batch that wrote both was atomic).
func recoveredVersion(db *DB, key []byte, state int, ops []keyOp) (int, ContainerID, error) {
	if state > len(ops) {
		return 0, 0, fmt.Errorf("state key records version %d of %d started", state, len(ops))
	}
	v, err := db.Get(key)
	if errors.Is(err, ErrNotFound) {
		if state > 0 && !ops[state-1].del {
			return 0, 0, fmt.Errorf("batch not atomic: key absent, state key records version %d, which set it", state)
		}
		return state, 0, nil
	}
	if err != nil {
		return 0, 0, err
	}
	version, id, err := decodeKeyValue(v)
	if err == nil && version != state {
		err = fmt.Errorf("batch not atomic: key holds version %d, state key records %d", version, state)
	}
	return version, id, err
}

// verifyNoOrphans checks that exactly the referenced containers remain,
// that tmp/ is empty and that a new container gets a fresh id.
func verifyNoOrphans(db *DB, referenced map[ContainerID]bool, allocated []ContainerID) error {
	present := map[ContainerID]bool{}
	if err := db.eachContainer(func(_, _ string, id ContainerID) error { present[id] = true; return nil }); err != nil {
		return err
	}
	for id := range present {
		if !referenced[id] {
			return fmt.Errorf("unreferenced container %s survived CleanOrphans", id)
		}
	}
	if names, err := db.fs.List(db.tmpDir()); err != nil || len(names) != 0 {
		return fmt.Errorf("tmp files after CleanOrphans: %v %v", names, err)
	}
	w, err := db.NewContainer()
	if err != nil {
		return err
	}
	defer w.Abort()
	for _, id := range allocated {
		if id == w.id {
			return fmt.Errorf("container id %s was handed out again after the crash", id)
		}
	}
	return nil
}
