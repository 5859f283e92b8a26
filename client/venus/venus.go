package venus

import (
	"container/list"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coda-fs/coda/server/pki"
	"github.com/coda-fs/coda/server/proto"
	"github.com/coda-fs/coda/server/rpc"
	"github.com/coda-fs/coda/server/store"
)

// Venus is the cache manager of one realm. Its methods are safe for
// concurrent use.
type Venus struct {
	opts     Options
	log      *slog.Logger
	meta     *meta
	conts    *containers
	tls      *tls.Config
	caPath   string
	mux      *rpc.Mux
	link     link
	clientID uint64
	storeSeq atomic.Uint64
	started  time.Time
	closing  chan struct{}
	bg       sync.WaitGroup
	invalMu  sync.Mutex
	inval    Invalidator
	sweeps   map[uint64]bool // directories whose dentries are being dropped: again when done
	stats    counters
	rpcStats rpc.Stats // calls' latencies, data bytes, connections (metrics)
	toks     tokens
	events   eventLog

	mu          sync.Mutex
	gen         uint64 // promise generation: changes whenever a connection comes or goes
	breaks      breakLog
	objs        map[proto.FID]*object
	byIno       map[uint64]*object
	inos        map[proto.FID]uint64
	nextIno     uint64
	vols        map[uint32]*volume
	roots       map[string]proto.FID // root directories of mounted volumes, by name
	root        rootInfo
	lru         list.List // closed containers, least recently used first
	hoardLRU    list.List // the same, of hoarded objects: evicted after lru's (hoard.go)
	cachedBytes int64
	openFiles   int
	unsynced    map[*object]struct{}    // containers whose data is not synced yet
	pins        map[proto.FID]int       // objects named by logged updates (cml.go)
	hoard       map[hoardKey]HoardEntry // the hoard database (hoard.go)
	hoardLast   hoardDone               // what the last hoard walk reached
	// offlineGrants: the kernel was let cache objects of a disconnected
	// volume (trusted); the next server to attach drops its caches.
	offlineGrants atomic.Bool
	bw            bandwidth // the link's measured bandwidth (adaptive.go)
	// hoardWalking holds a token while a hoard walk runs; walking says so
	// to cfs status, and walkBase is the bytes fetched before it began.
	hoardWalking chan struct{}
	walking      atomic.Bool
	walkBase     atomic.Int64
	cmlNext      uint64                   // the last log record's sequence number
	localNext    uint64                   // the next local FID's number (localfid.go)
	expanded     map[proto.FID]*expansion // conflicts shown as directories of replicas (expand.go)
	views        map[uint64]*view         // the replicas' objects under them, by inode number
	viewInos     map[viewKey]*view
}

// New opens (or creates) the cache in opts.CacheDir and prepares the
// connection to the realm; it does not contact a server unless the realm CA
// must be fetched (trust on first use). Call Connect to reach the servers.
func New(ctx context.Context, opts Options) (*Venus, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts.setDefaults()
	if opts.Name == "" {
		opts.Name, _ = os.Hostname()
	}
	v := &Venus{opts: opts, log: opts.Logger, started: time.Now(), closing: make(chan struct{}),
		objs: map[proto.FID]*object{}, byIno: map[uint64]*object{}, vols: map[uint32]*volume{},
		roots:    map[string]proto.FID{},
		unsynced: map[*object]struct{}{}, toks: tokens{byUID: map[uint32]*token{}},
		expanded: map[proto.FID]*expansion{}, views: map[uint64]*view{}, viewInos: map[viewKey]*view{},
		pins: map[proto.FID]int{}, hoardWalking: make(chan struct{}, 1)}
	v.link.v = v
	v.events.log = v.log
	v.mux = &rpc.Mux{}
	v.mux.Handle(proto.OpCallbackBreak, v.handleBreak)
	v.storeSeq.Store(uint64(time.Now().UnixNano()))
	if err := v.openCache(); err != nil {
		return nil, err
	}
	if err := v.setupTLS(ctx); err != nil {
		v.meta.close()
		return nil, err
	}
	v.bg.Add(3)
	go v.every(500*time.Millisecond, v.flushOnce)
	go v.every(trickleEvery, v.trickle)
	go v.every(hoardWalkEvery, v.periodicHoardWalk)
	return v, nil
}

func (v *Venus) openCache() error {
	if err := os.MkdirAll(v.opts.CacheDir, 0o700); err != nil {
		return fmt.Errorf("cache: %w", err)
	}
	conts, err := newContainers(filepath.Join(v.opts.CacheDir, "containers"))
	if err != nil {
		return err
	}
	v.conts = conts
	m, err := openMeta(v.opts.FS, filepath.Join(v.opts.CacheDir, "db"), v.log)
	if err != nil {
		conts.close()
		return err
	}
	v.meta = m
	if err := v.load(); err != nil {
		m.close()
		conts.close()
		return err
	}
	return nil
}

func (v *Venus) setupTLS(ctx context.Context) error {
	pem, path, err := v.loadCA(ctx)
	if err != nil {
		return err
	}
	cfg, err := pki.ClientTLS(pem, v.opts.Realm)
	if err != nil {
		return fmt.Errorf("realm CA in %s: %w", path, err)
	}
	v.tls, v.caPath = cfg, path
	return nil
}

// load restores the persistent state: client id, inode numbers, object
// records; then removes orphan containers and containers that changed.
func (v *Venus) load() error {
	if err := v.loadClientID(); err != nil {
		return err
	}
	next, err := v.meta.getU64(keyNextIno, firstIno)
	if err != nil {
		return fmt.Errorf("cache database: %w", err)
	}
	v.nextIno = next
	if v.inos, err = v.meta.loadInos(); err != nil {
		return fmt.Errorf("cache database: %w", err)
	}
	if err := v.loadRoot(); err != nil {
		return err
	}
	if err := v.loadCML(); err != nil {
		return fmt.Errorf("cache database: %w", err)
	}
	if err := v.loadLocalNext(); err != nil {
		return fmt.Errorf("cache database: %w", err)
	}
	if err := v.loadWD(); err != nil {
		return fmt.Errorf("cache database: %w", err)
	}
	if err := v.loadHoard(); err != nil {
		return fmt.Errorf("cache database: %w", err)
	}
	var withCont []*object
	err = v.meta.scan(prefObject, func(k, val []byte) error {
		o, dirVV, hasDir, err := decodeRecord(keyFID(k), val)
		if err != nil {
			return err
		}
		o.diskDir, o.diskDirVV = hasDir, dirVV
		v.objs[o.fid] = o
		v.byIno[o.ino] = o
		if o.cont != "" {
			withCont = append(withCont, o)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("cache database: %w", err)
	}
	return v.checkContainers(withCont)
}

func (v *Venus) loadClientID() error {
	id, err := v.meta.getU64(keyClientID, 0)
	if err != nil {
		return fmt.Errorf("cache database: %w", err)
	}
	for id == 0 {
		var b [8]byte
		rand.Read(b[:])
		id = binary.LittleEndian.Uint64(b[:])
	}
	v.clientID = id
	v.meta.write(func(b *store.Batch) { b.Set([]byte(keyClientID), u64(id)) })
	return v.meta.flush()
}

// checkContainers keeps the containers whose stat still matches their
// record (or that hold changes not yet stored), in LRU order, and removes
// every other file of the containers directory.
func (v *Venus) checkContainers(objs []*object) error {
	sort.Slice(objs, func(i, j int) bool { return objs[i].lastUse < objs[j].lastUse })
	keep := map[string]bool{}
	for _, vol := range v.vols {
		for _, r := range vol.cml {
			if r.cont != "" {
				keep[r.cont] = true // a logged store ships it
			}
		}
	}
	for _, o := range objs {
		st, blocks, err := v.conts.check(o.cont)
		if err != nil || (st != o.contStat && !o.pending) {
			o.cont, o.contStat, o.contBytes = "", fileStat{}, 0
			v.meta.putObject(o)
			continue
		}
		keep[o.cont] = true
		o.contBytes = blocks
		v.cachedBytes += blocks
		if !o.pending {
			o.lru = v.lruOf(o).PushBack(o)
		}
	}
	n, adopted, err := v.conts.cleanOrphans(keep)
	if n > 0 || adopted > 0 {
		v.log.Info("orphan containers", "removed", n, "kept_as_spares", adopted)
	}
	return err
}

// background runs fn in a goroutine counted in v.bg, unless venus is
// closing.
func (v *Venus) background(fn func()) {
	select {
	case <-v.closing:
		return
	default:
	}
	v.bg.Add(1)
	go func() {
		defer v.bg.Done()
		fn()
	}()
}

// every runs fn every d until venus closes: a background loop counted in
// v.bg.
func (v *Venus) every(d time.Duration, fn func()) {
	defer v.bg.Done()
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-v.closing:
			return
		case <-t.C:
			fn()
		}
	}
}

// flushOnce makes cache metadata durable; the flusher runs it twice a
// second.
func (v *Venus) flushOnce() {
	v.syncContainers()
	if err := v.meta.flush(); err != nil {
		v.log.Error("cache metadata not saved", "err", err)
	}
}

// Close drops the connection and closes the cache database. Handles still
// open keep their containers (a busy mount detached at shutdown may still
// use them until the process exits); later calls that need a server fail
// with ETIMEDOUT.
func (v *Venus) Close() error {
	select {
	case <-v.closing:
		return errors.New("venus already closed")
	default:
	}
	close(v.closing)
	v.link.close()
	v.bg.Wait()
	v.syncContainers()
	v.conts.close()
	return v.meta.close()
}

// ClientID is this cache's client id (sent in Hello, part of store ids).
func (v *Venus) ClientID() uint64 { return v.clientID }

// CAFile is the file the realm CA is pinned in.
func (v *Venus) CAFile() string { return v.caPath }

func (v *Venus) nextStoreID() proto.StoreID {
	return proto.StoreID{Client: v.clientID, Seq: v.storeSeq.Add(1)}
}

// newGen starts a new promise generation.
func (v *Venus) newGen() uint64 {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.gen++
	return v.gen
}
