package authserver

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/coda-fs/coda/server/proto"
	"github.com/coda-fs/coda/server/store"
)

// keyPrefix starts the store key of every realm database: 'R' + name.
const keyPrefix = 'R'

// Names of the realm databases the auth service keeps.
const (
	PDBName    = "pdb"    // the protection database (pdb export text)
	PasswdName = "passwd" // password hashes by user id
)

// Snapshot is the whole content of one realm database at one version;
// Data is owned by the receiver and never modified by the database.
type Snapshot = proto.DBSnapshot

// Replica is what replication needs of a realm database: the SCM serves
// Snapshot, a read-only server pulls it and calls Install when the SCM's
// Version is ahead of its own. Every database the SCM holds implements
// it, so one follower loop copies them all.
type Replica interface {
	// Name is the database's name (its store key is 'R' + Name).
	Name() string
	// Version is the current version; it only grows.
	Version() uint64
	// Snapshot returns the current content and version.
	Snapshot() Snapshot
	// Install replaces the content with data at version, after checking
	// that data decodes. A version below the current one is refused; the
	// current version with the same data is a no-op. The write is synced
	// before the new content is published; a failure changes nothing.
	Install(version uint64, data []byte) error
}

// codec turns a database's decoded value into its payload and back.
// decode of empty data returns the empty value (a database never written).
type codec[T any] struct {
	encode func(T) ([]byte, error)
	decode func([]byte) (T, error)
}

// Database is a versioned realm database holding a value of type T. The
// published value is immutable: a change builds a new value, writes it
// and then publishes it. Writers of every database of one store share
// one lock (wmu), so a change may span several databases in one commit.
type Database[T any] struct {
	name  string
	st    *store.DB
	wmu   *sync.Mutex
	codec codec[T]
	cur   atomic.Pointer[state[T]]
}

var _ Replica = (*Database[passwords])(nil)

// state is one published version.
type state[T any] struct {
	version uint64
	data    []byte // the payload: what the store holds after the version
	val     T
}

func dbKey(name string) []byte { return append([]byte{keyPrefix}, name...) }

// openDatabase loads database name from st; an absent database is version
// 0 holding the empty value.
func openDatabase[T any](st *store.DB, wmu *sync.Mutex, name string, c codec[T]) (*Database[T], error) {
	d := &Database[T]{name: name, st: st, wmu: wmu, codec: c}
	raw, err := st.Get(dbKey(name))
	var s *state[T]
	switch {
	case errors.Is(err, store.ErrNotFound):
		s, err = d.decodeState(0, nil)
	case err != nil:
		return nil, fmt.Errorf("realm database %s: %w", name, err)
	case len(raw) < 8:
		return nil, fmt.Errorf("realm database %s: stored value too short", name)
	default:
		s, err = d.decodeState(binary.BigEndian.Uint64(raw), raw[8:])
	}
	if err != nil {
		return nil, err
	}
	d.cur.Store(s)
	return d, nil
}

func (d *Database[T]) decodeState(version uint64, data []byte) (*state[T], error) {
	val, err := d.codec.decode(data)
	if err != nil {
		return nil, fmt.Errorf("realm database %s version %d: %w", d.name, version, err)
	}
	return &state[T]{version: version, data: data, val: val}, nil
}

// Name returns the database's name.
func (d *Database[T]) Name() string { return d.name }

// Version returns the current version (0: never written).
func (d *Database[T]) Version() uint64 { return d.cur.Load().version }

// load returns the published state; callers must not modify it.
func (d *Database[T]) load() *state[T] { return d.cur.Load() }

// Snapshot returns the current content and version.
func (d *Database[T]) Snapshot() Snapshot {
	s := d.cur.Load()
	return Snapshot{Name: d.name, Version: s.version, Data: bytes.Clone(s.data)}
}

// Install replaces the content with data at version (see Replica).
func (d *Database[T]) Install(version uint64, data []byte) error {
	d.wmu.Lock()
	defer d.wmu.Unlock()
	cur := d.cur.Load()
	switch {
	case version < cur.version:
		return fmt.Errorf("realm database %s: version %d is older than the installed %d", d.name, version, cur.version)
	case version == cur.version && bytes.Equal(data, cur.data):
		return nil
	case version == cur.version:
		return fmt.Errorf("realm database %s: version %d installed with other content", d.name, version)
	}
	s, err := d.decodeState(version, bytes.Clone(data))
	if err != nil {
		return err
	}
	return commit(d.st, d.pendingFor(s))
}

// next prepares version+1 holding val. Callers hold wmu until the
// returned write is committed (or dropped).
func (d *Database[T]) next(val T) (*pending, error) {
	data, err := d.codec.encode(val)
	if err != nil {
		return nil, fmt.Errorf("realm database %s: encode: %w", d.name, err)
	}
	return d.pendingFor(&state[T]{version: d.cur.Load().version + 1, data: data, val: val}), nil
}

func (d *Database[T]) pendingFor(s *state[T]) *pending {
	v := binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(s.data)), s.version)
	return &pending{key: dbKey(d.name), value: append(v, s.data...), publish: func() { d.cur.Store(s) }}
}

// pending is a prepared new version of one database.
type pending struct {
	key, value []byte
	publish    func()
}

// commit writes every prepared version in one synced batch and, only if
// that succeeded, publishes them.
func commit(st *store.DB, ws ...*pending) error {
	b := st.NewBatch()
	for _, w := range ws {
		b.Set(w.key, w.value)
	}
	if err := st.Commit(b); err != nil {
		return fmt.Errorf("writing realm databases: %w", err)
	}
	for _, w := range ws {
		w.publish()
	}
	return nil
}
