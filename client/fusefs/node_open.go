package fusefs

import (
	"context"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

var _ = (fs.NodeOpener)((*Node)(nil))
var _ = (fs.NodeCreater)((*Node)(nil))

// Open opens a file: venus fetches it into a container unless it is cached;
// the backing file for passthrough is attached by rawFS.Open.
func (n *Node) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	h, err := n.m.v.Open(ctx, caller(ctx), n.ino(), flags)
	if err != nil {
		return nil, 0, errno(err)
	}
	return &fileHandle{h: h, m: n.m}, n.m.openFlags(h.KeepCache()), 0
}

// Create makes and opens a new file.
func (n *Node) Create(ctx context.Context, name string, flags uint32, mode uint32, out *fuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	e, h, err := n.m.v.Create(ctx, caller(ctx), n.ino(), name, mode, flags)
	if err != nil {
		return nil, nil, 0, errno(err)
	}
	return n.child(ctx, &e, out), &fileHandle{h: h, m: n.m}, n.m.openFlags(h.KeepCache()), 0
}

// openFlags: without passthrough, the page cache of an earlier open is
// kept when the data did not change (breaks invalidate it anyway).
func (m *Mount) openFlags(keep bool) uint32 {
	if !m.Passthrough() && keep {
		return fuse.FOPEN_KEEP_CACHE
	}
	return 0
}
