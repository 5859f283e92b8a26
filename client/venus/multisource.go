package venus

import (
	"io"
	"os"
	"sort"

	"github.com/coda-fs/coda/server/rpc"
)

// multiSource is the data of a batch's stores, one file after the other.
type multiSource struct {
	files   []*os.File
	starts  []int64
	sizes   []int64
	size    int64
	extents []rpc.Extent
}

// add appends size bytes of f (f is closed by close).
func (m *multiSource) add(f *os.File, size int64) error {
	ext, err := rpc.FileExtents(f, size)
	if err != nil {
		f.Close()
		return err
	}
	for _, e := range ext {
		m.extents = append(m.extents, rpc.Extent{Off: m.size + e.Off, Len: e.Len})
	}
	m.files = append(m.files, f)
	m.starts = append(m.starts, m.size)
	m.sizes = append(m.sizes, size)
	m.size += size
	return nil
}

func (m *multiSource) ReadAt(p []byte, off int64) (int, error) {
	n := 0
	for len(p) > 0 {
		i := sort.Search(len(m.starts), func(i int) bool { return m.starts[i]+m.sizes[i] > off })
		if i == len(m.starts) || off < m.starts[i] {
			return n, io.EOF
		}
		k := min(int64(len(p)), m.starts[i]+m.sizes[i]-off)
		got, err := m.files[i].ReadAt(p[:k], off-m.starts[i])
		n += got
		if err != nil && !(err == io.EOF && int64(got) == k) {
			return n, err
		}
		p, off = p[k:], off+k
	}
	return n, nil
}

func (m *multiSource) close() {
	for _, f := range m.files {
		f.Close()
	}
}
