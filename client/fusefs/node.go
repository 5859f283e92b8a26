package fusefs

import (
	"context"
	"errors"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/coda-fs/coda/client/venus"
	"github.com/coda-fs/coda/server/proto"
)

// Node is one inode of the mount; all its state lives in venus, under its
// inode number.
type Node struct {
	fs.Inode
	m *Mount
}

var _ = (fs.InodeEmbedder)((*Node)(nil))
var _ = (fs.NodeOnForgetter)((*Node)(nil))

func (n *Node) ino() uint64 { return n.StableAttr().Ino }

// OnForget: the kernel forgot this inode.
func (n *Node) OnForget() { n.m.forget(n.EmbeddedInode()) }

// caller extracts the credentials of the request.
func caller(ctx context.Context) venus.Caller {
	if fc, ok := ctx.(*fuse.Context); ok {
		return venus.Caller{UID: fc.Uid, GID: fc.Gid, PID: fc.Pid}
	}
	return venus.Caller{}
}

// errno maps a venus error to the errno of the call: a wire error's errno
// first (an unreachable server is ETIMEDOUT whatever the dial said), then a
// plain errno, then the wire table's mapping.
func errno(err error) syscall.Errno {
	if err == nil {
		return 0
	}
	var pe *proto.Error
	if errors.As(err, &pe) {
		return pe.Errno()
	}
	var en syscall.Errno
	if errors.As(err, &en) {
		return en
	}
	return proto.ToErrno(err)
}

func timespec(ns int64) (sec uint64, nsec uint32) {
	t := time.Unix(0, ns)
	return uint64(t.Unix()), uint32(t.Nanosecond())
}

// fillAttr copies venus's attributes into a kernel attribute block.
func fillAttr(out *fuse.Attr, a *venus.Attr) {
	out.Ino = a.Ino
	out.Mode = a.Mode
	out.Nlink = a.Nlink
	out.Owner = fuse.Owner{Uid: a.UID, Gid: a.GID}
	out.Size = uint64(max(a.Size, 0))
	out.Blocks = uint64(max(a.Blocks, 0))
	out.Blksize = 4096
	out.Atime, out.Atimensec = timespec(a.Atime)
	out.Mtime, out.Mtimensec = timespec(a.Mtime)
	out.Ctime, out.Ctimensec = timespec(a.Ctime)
}

// child makes the go-fuse inode for a lookup result and fills out.
func (n *Node) child(ctx context.Context, e *venus.Entry, out *fuse.EntryOut) *fs.Inode {
	fillAttr(&out.Attr, &e.Attr)
	out.SetEntryTimeout(e.EntryTimeout)
	out.SetAttrTimeout(e.Timeout)
	in := n.NewInode(ctx, &Node{m: n.m}, fs.StableAttr{Mode: e.Mode & syscall.S_IFMT, Ino: e.Ino})
	n.m.register(in)
	return in
}
