package venus

import (
	"context"
	"errors"
	"io"

	"golang.org/x/sys/unix"
)

// Read serves a read from the container, for kernels without passthrough.
func (v *Venus) Read(h *Handle, dest []byte, off int64) (int, error) {
	v.stats.reads.Add(1)
	n, err := h.of.f.ReadAt(dest, off)
	if errors.Is(err, io.EOF) {
		err = nil
	}
	return n, err
}

// Write serves a write into the container, for kernels without passthrough.
func (v *Venus) Write(h *Handle, data []byte, off int64) (int, error) {
	v.stats.writes.Add(1)
	return h.of.f.WriteAt(data, off)
}

// Lseek answers SEEK_DATA and SEEK_HOLE from the container.
func (v *Venus) Lseek(h *Handle, off int64, whence int) (int64, error) {
	return unix.Seek(int(h.of.f.Fd()), off, whence)
}

// Allocate is fallocate(2) on the container.
func (v *Venus) Allocate(h *Handle, off, size int64, mode uint32) error {
	return unix.Fallocate(int(h.of.f.Fd()), mode, off, size)
}

// StatFS describes the cache for statfs(2).
type StatFS struct {
	Blocks, Free uint64 // in units of BlockSize
	BlockSize    uint32
	Files        uint64
}

// StatFS reports the cache's size and use.
func (v *Venus) StatFS() StatFS {
	v.mu.Lock()
	used := v.cachedBytes
	files := len(v.objs)
	v.mu.Unlock()
	const bs = 4096
	total := uint64(v.opts.CacheSize) / bs
	free := total
	if u := uint64(max(used, 0)) / bs; u < total {
		free = total - u
	} else {
		free = 0
	}
	return StatFS{Blocks: total, Free: free, BlockSize: bs, Files: uint64(files)}
}

// Connect reaches a server and makes sure the realm's root can be shown
// (known from the cache, found on the servers, or absent). It returns a
// clear error when no server answers or the pinned CA is refused.
func (v *Venus) Connect(ctx context.Context) error {
	if _, err := v.link.any(ctx); err != nil {
		return err
	}
	_, err := v.rootFID(ctx, Caller{})
	if errors.Is(err, errNoRootVolume) {
		v.logNoRoot()
		return nil
	}
	return err
}
