package realmdb

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

// Codec turns a database's decoded value into its payload and back.
// Decode of empty data returns the empty value (a database never written).
type Codec[T any] struct {
	Encode func(T) ([]byte, error)
	Decode func([]byte) (T, error)
}

// Database is a versioned realm database holding a value of type T. The
// published value is immutable: a change builds a new value, writes it
// and then publishes it. Writers of every database of one store share
// one lock (wmu), so a change may span several databases in one commit.
type Database[T any] struct {
	name  string
	st    *store.DB
	wmu   *sync.Mutex
	codec Codec[T]
	cur   atomic.Pointer[state[T]]
}

// state is one published version.
type state[T any] struct {
	version uint64
	data    []byte // the payload: what the store holds after the version
	val     T
}

func dbKey(name string) []byte { return append([]byte{keyPrefix}, name...) }

// Open loads database name from st; an absent database is version 0
// holding the empty value. Every database whose changes may be committed
// together shares wmu.
func Open[T any](st *store.DB, wmu *sync.Mutex, name string, c Codec[T]) (*Database[T], error) {
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
	val, err := d.codec.Decode(data)
	if err != nil {
		return nil, fmt.Errorf("realm database %s version %d: %w", d.name, version, err)
	}
	return &state[T]{version: version, data: data, val: val}, nil
}

// Name returns the database's name.
func (d *Database[T]) Name() string { return d.name }

// Version returns the current version (0: never written).
func (d *Database[T]) Version() uint64 { return d.cur.Load().version }

// Current returns the published version and value together; callers must
// not modify the value.
func (d *Database[T]) Current() (uint64, T) {
	s := d.cur.Load()
	return s.version, s.val
}

// Value returns the published value; callers must not modify it.
func (d *Database[T]) Value() T { return d.cur.Load().val }

// Snapshot returns the current content and version.
func (d *Database[T]) Snapshot() proto.DBSnapshot {
	s := d.cur.Load()
	return proto.DBSnapshot{Name: d.name, Version: s.version, Data: bytes.Clone(s.data)}
}

// Install replaces the content with data at version, after checking that
// data decodes. A version below the current one is refused; the current
// version with the same data is a no-op. The write is synced before the
// new content is published; a failure changes nothing.
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
	return Commit(d.st, d.pendingFor(s))
}

// Next prepares version+1 holding val. Callers hold wmu until the
// returned write is committed (or dropped).
func (d *Database[T]) Next(val T) (*Pending, error) {
	data, err := d.codec.Encode(val)
	if err != nil {
		return nil, fmt.Errorf("realm database %s: encode: %w", d.name, err)
	}
	return d.pendingFor(&state[T]{version: d.cur.Load().version + 1, data: data, val: val}), nil
}

func (d *Database[T]) pendingFor(s *state[T]) *Pending {
	v := binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(s.data)), s.version)
	return &Pending{key: dbKey(d.name), value: append(v, s.data...), publish: func() { d.cur.Store(s) }}
}

// Pending is a prepared new version of one database.
type Pending struct {
	key, value []byte
	publish    func()
}

// Commit writes every prepared version in one synced batch and, only if
// that succeeded, publishes them.
func Commit(st *store.DB, ws ...*Pending) error {
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
