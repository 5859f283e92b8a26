package fusefs

import (
	"context"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/coda-fs/coda/client/venus"
)

// fileHandle is one open of a file. With passthrough the kernel reads and
// writes the container itself and Read/Write are never called.
type fileHandle struct {
	h *venus.Handle
	m *Mount
}

var _ = (fs.FileReader)((*fileHandle)(nil))
var _ = (fs.FileWriter)((*fileHandle)(nil))
var _ = (fs.FileFlusher)((*fileHandle)(nil))
var _ = (fs.FileReleaser)((*fileHandle)(nil))
var _ = (fs.FileFsyncer)((*fileHandle)(nil))
var _ = (fs.FileLseeker)((*fileHandle)(nil))
var _ = (fs.FileAllocater)((*fileHandle)(nil))

func (f *fileHandle) Read(ctx context.Context, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	n, err := f.m.v.Read(f.h, dest, off)
	if err != nil {
		return nil, errno(err)
	}
	return fuse.ReadResultData(dest[:n]), 0
}

func (f *fileHandle) Write(ctx context.Context, data []byte, off int64) (uint32, syscall.Errno) {
	n, err := f.m.v.Write(f.h, data, off)
	if err != nil {
		return uint32(n), errno(err)
	}
	return uint32(n), 0
}

// Flush is close(2): a changed file is stored before close returns.
func (f *fileHandle) Flush(ctx context.Context) syscall.Errno {
	return errno(f.m.v.Flush(ctx, caller(ctx), f.h))
}

// Release ends the handle; the kernel ignores the result.
func (f *fileHandle) Release(ctx context.Context) syscall.Errno {
	if err := f.m.v.Release(ctx, caller(ctx), f.h); err != nil {
		f.m.log.Warn("storing a file at its last close failed", "ino", f.h.Ino(), "err", err)
	}
	return 0
}

func (f *fileHandle) Fsync(ctx context.Context, flags uint32) syscall.Errno {
	return errno(f.m.v.Fsync(ctx, caller(ctx), f.h))
}

func (f *fileHandle) Lseek(ctx context.Context, off uint64, whence uint32) (uint64, syscall.Errno) {
	n, err := f.m.v.Lseek(f.h, int64(off), int(whence))
	if err != nil {
		return 0, errno(err)
	}
	return uint64(n), 0
}

func (f *fileHandle) Allocate(ctx context.Context, off, size uint64, mode uint32) syscall.Errno {
	return errno(f.m.v.Allocate(f.h, int64(off), int64(size), mode))
}
