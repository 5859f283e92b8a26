package venus

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/coda-fs/coda/server/proto"
	"github.com/coda-fs/coda/server/store"
)

// Keys of the cache database. FIDs are 12 bytes big-endian so that one
// directory's entries are one key range.
const (
	keyClientID = "C"
	keyNextIno  = "N"
	keyRoot     = "R"
	prefIno     = 'I' // I fid → ino
	prefObject  = 'O' // O fid → record
	prefEntry   = 'E' // E dirfid name → fid type
)

// meta is the cache database. Writes are appended to a pending batch (cheap,
// under Venus.mu) and made durable by flush, in order.
type meta struct {
	db      *store.DB
	log     *slog.Logger
	mu      sync.Mutex // guards b and waits
	b       *store.Batch
	waits   []func() error // syncs of batches apply wrote, for flush to wait for
	flushMu sync.Mutex     // serialises flushes so a returned flush covers all earlier writes
}

// metaSyncInterval spaces the syncs of the cache database's log: every
// change (a logged update above all) reaches the operating system before
// venus answers, and the disk with the changes of the same 50 ms (an
// fsync of a file while its volume logs waits for it).
const metaSyncInterval = 50 * time.Millisecond

func openMeta(fs vfs.FS, dir string, log *slog.Logger) (*meta, error) {
	db, err := store.Open(store.Options{FS: fs, Dir: dir, Logger: log, MinSyncInterval: metaSyncInterval})
	if err != nil {
		return nil, fmt.Errorf("cache database: %w", err)
	}
	return &meta{db: db, log: log, b: db.NewBatch()}, nil
}

func (m *meta) close() error {
	ferr := m.flush()
	m.mu.Lock()
	m.b.Close()
	m.mu.Unlock()
	return errors.Join(ferr, m.db.Close())
}

// write appends to the pending batch.
func (m *meta) write(fn func(b *store.Batch)) {
	m.mu.Lock()
	fn(m.b)
	m.mu.Unlock()
}

// apply writes the pending batch to the database's log at once, without
// waiting for the disk: it survives a crash of venus, and the next flush
// (whose commit syncs the log) makes it durable. The sync it started is
// waited for by the flusher.
func (m *meta) apply() error {
	m.flushMu.Lock()
	defer m.flushMu.Unlock()
	b, _ := m.take(false)
	if b.Empty() {
		b.Close()
		return nil
	}
	wait, err := m.db.Apply(b)
	if err != nil {
		return fmt.Errorf("cache database: %w", err)
	}
	m.mu.Lock()
	m.waits = append(m.waits, wait)
	m.mu.Unlock()
	return nil
}

// take swaps in a new pending batch and returns the old one, and with
// waits set the syncs apply started. Callers hold flushMu.
func (m *meta) take(waits bool) (*store.Batch, []func() error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b := m.b
	m.b = m.db.NewBatch()
	if !waits {
		return b, nil
	}
	w := m.waits
	m.waits = nil
	return b, w
}

// flush makes every write appended before the call durable.
func (m *meta) flush() error {
	m.flushMu.Lock()
	defer m.flushMu.Unlock()
	b, waits := m.take(true)
	var werr error
	for _, wait := range waits {
		if err := wait(); err != nil && werr == nil {
			werr = fmt.Errorf("cache database: %w", err)
		}
	}
	if b.Empty() {
		b.Close()
		return werr
	}
	if err := m.db.Commit(b); err != nil {
		return fmt.Errorf("cache database: %w", err)
	}
	return werr
}

func fidKey(prefix byte, fid proto.FID) []byte {
	k := make([]byte, 13, 13+proto.MaxName)
	k[0] = prefix
	binary.BigEndian.PutUint32(k[1:], fid.Volume)
	binary.BigEndian.PutUint32(k[5:], fid.Vnode)
	binary.BigEndian.PutUint32(k[9:], fid.Unique)
	return k
}

func keyFID(k []byte) proto.FID {
	return proto.FID{Volume: binary.BigEndian.Uint32(k[1:]),
		Vnode: binary.BigEndian.Uint32(k[5:]), Unique: binary.BigEndian.Uint32(k[9:])}
}

func entryKey(dir proto.FID, name string) []byte { return append(fidKey(prefEntry, dir), name...) }

// entryRange is the key range of dir's entries.
func entryRange(dir proto.FID) (lo, hi []byte) {
	lo = fidKey(prefEntry, dir)
	hi = fidKey(prefEntry, proto.FID{Volume: dir.Volume, Vnode: dir.Vnode, Unique: dir.Unique + 1})
	if dir.Unique == ^uint32(0) {
		hi = fidKey(prefEntry, proto.FID{Volume: dir.Volume, Vnode: dir.Vnode + 1})
	}
	return lo, hi
}

func u64(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }

func (m *meta) setIno(fid proto.FID, ino, next uint64) {
	m.write(func(b *store.Batch) {
		b.Set(fidKey(prefIno, fid), u64(ino))
		b.Set([]byte(keyNextIno), u64(next))
	})
}

// getU64 reads a counter; missing keys read as def.
func (m *meta) getU64(key string, def uint64) (uint64, error) {
	v, err := m.db.Get([]byte(key))
	if errors.Is(err, store.ErrNotFound) {
		return def, nil
	}
	if err != nil {
		return 0, err
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("cache database: bad value of %q", key)
	}
	return binary.LittleEndian.Uint64(v), nil
}

// scan calls fn for every key with the given one-byte prefix.
func (m *meta) scan(prefix byte, fn func(k, v []byte) error) error {
	it, err := m.db.NewIter([]byte{prefix}, []byte{prefix + 1})
	if err != nil {
		return err
	}
	for ok := it.First(); ok; ok = it.Next() {
		// The iterator's slices are valid only until it moves; what fn
		// decodes may keep them (a log record keeps its request).
		if err := fn(bytes.Clone(it.Key()), bytes.Clone(it.Value())); err != nil {
			it.Close()
			return err
		}
	}
	return it.Close()
}

// loadInos reads the FID→inode map.
func (m *meta) loadInos() (map[proto.FID]uint64, error) {
	inos := map[proto.FID]uint64{}
	err := m.scan(prefIno, func(k, v []byte) error {
		if len(k) != 13 || len(v) != 8 {
			return errors.New("cache database: bad inode record")
		}
		inos[keyFID(k)] = binary.LittleEndian.Uint64(v)
		return nil
	})
	return inos, err
}
