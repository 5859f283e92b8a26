package store

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
)

// The crash test's model. Each worker owns a few keys ("w<g>/k<i>") and
// changes one at a time: op v of a key either sets it to a new container
// (the value records v and the container id) or deletes it. Every batch
// also sets the worker's state key ("w<g>/state") to the versions of all its
// keys after the op, so atomicity can be checked: whatever survives a crash,
// the keys and the state key must agree.

type keyOp struct {
	del     bool
	id      ContainerID
	content []byte // the logical contents
}

// workerModel records what one worker started and what was acknowledged.
type workerModel struct {
	g        int
	mu       sync.Mutex
	ops      [][]keyOp // per key, in version order (version = index+1)
	acked    []int     // per key, how many ops were acknowledged
	versions []int     // per key, the version the next batch will record
}

func newWorkerModel(g, keys int) *workerModel {
	return &workerModel{g: g, ops: make([][]keyOp, keys), acked: make([]int, keys), versions: make([]int, keys)}
}

func (m *workerModel) key(k int) []byte { return fmt.Appendf(nil, "w%d/k%d", m.g, k) }
func (m *workerModel) stateKey() []byte { return fmt.Appendf(nil, "w%d/state", m.g) }

// start records op as begun on key k and returns its version and the
// state value the op's batch writes.
func (m *workerModel) start(k int, op keyOp) (version int, state []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.ops[k] = append(m.ops[k], op)
	m.versions[k] = len(m.ops[k])
	for _, v := range m.versions {
		state = binary.AppendUvarint(state, uint64(v))
	}
	return len(m.ops[k]), state
}

func (m *workerModel) ack(k int) {
	m.mu.Lock()
	m.acked[k]++
	m.mu.Unlock()
}

// snapshot copies the model's state.
func (m *workerModel) snapshot() (ops [][]keyOp, acked []int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, o := range m.ops {
		ops = append(ops, append([]keyOp(nil), o...))
	}
	return ops, append([]int(nil), m.acked...)
}

func encodeKeyValue(version int, id ContainerID) []byte {
	return binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(nil, uint64(version)), uint64(id))
}

func decodeKeyValue(v []byte) (version int, id ContainerID, err error) {
	if len(v) != 16 {
		return 0, 0, fmt.Errorf("value of %d bytes", len(v))
	}
	return int(binary.BigEndian.Uint64(v)), ContainerID(binary.BigEndian.Uint64(v[8:])), nil
}

func decodeState(v []byte, keys int) ([]int, error) {
	out := make([]int, keys)
	for i := range out {
		x, n := binary.Uvarint(v)
		if n <= 0 {
			return nil, fmt.Errorf("state value %x is truncated", v)
		}
		out[i], v = int(x), v[n:]
	}
	return out, nil
}

// randomContents returns a file's logical contents and writes them to w
// as random-length runs of data and holes, with a trailing hole at times.
func randomContents(rng *rand.Rand, w *ContainerWriter) ([]byte, error) {
	stored := rng.IntN(3*4096 + 100)
	logical := stored
	if rng.IntN(3) == 0 {
		logical += rng.IntN(8192)
	}
	content := make([]byte, logical)
	for off := 0; off < stored; {
		n := min(1+rng.IntN(5000), stored-off)
		if rng.IntN(4) != 0 {
			for i := off; i < off+n; i++ {
				content[i] = byte(rng.Uint32()) | 1 // never zero: holes show
			}
			if _, err := w.WriteAt(slices.Clone(content[off:off+n]), int64(off)); err != nil {
				return nil, err
			}
		}
		off += n
	}
	return content, w.Finish(int64(logical))
}
