package fusefs

import (
	"context"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/coda-fs/coda/client/venus"
	"github.com/coda-fs/coda/server/proto"
)

var _ = (fs.NodeGetattrer)((*Node)(nil))
var _ = (fs.NodeSetattrer)((*Node)(nil))
var _ = (fs.NodeAccesser)((*Node)(nil))
var _ = (fs.NodeStatfser)((*Node)(nil))
var _ = (fs.NodeReadlinker)((*Node)(nil))

// Getattr answers stat; an open file reports its container's size and
// times.
func (n *Node) Getattr(ctx context.Context, f fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	a, err := n.m.v.GetAttr(ctx, caller(ctx), n.ino())
	if err != nil {
		return errno(err)
	}
	fillAttr(&out.Attr, &a)
	out.SetTimeout(a.Timeout)
	return 0
}

// Setattr is chmod, chown, truncate and utimes. An access time alone is
// not kept (coda keeps modification times only) and succeeds.
func (n *Node) Setattr(ctx context.Context, f fs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	var s venus.SetAttrIn
	if m, ok := in.GetMode(); ok {
		s.Mask |= proto.SetMode
		s.Mode = m
	}
	if u, ok := in.GetUID(); ok {
		s.Mask |= proto.SetUID
		s.UID = u
	}
	if g, ok := in.GetGID(); ok {
		s.Mask |= proto.SetGID
		s.GID = g
	}
	if sz, ok := in.GetSize(); ok {
		s.Mask |= proto.SetSize
		s.Size = int64(sz)
	}
	if in.Valid&fuse.FATTR_MTIME != 0 {
		s.Mask |= proto.SetMtime
		s.MtimeNow = in.Valid&fuse.FATTR_MTIME_NOW != 0
		s.Mtime = int64(in.Mtime)*1e9 + int64(in.Mtimensec)
	}
	if fh, ok := f.(*fileHandle); ok {
		s.Handle = fh.h
	}
	a, err := n.m.v.SetAttr(ctx, caller(ctx), n.ino(), s)
	if err != nil {
		return errno(err)
	}
	fillAttr(&out.Attr, &a)
	out.SetTimeout(a.Timeout)
	return 0
}

func (n *Node) Access(ctx context.Context, mask uint32) syscall.Errno {
	return errno(n.m.v.Access(ctx, caller(ctx), n.ino(), mask))
}

func (n *Node) Statfs(ctx context.Context, out *fuse.StatfsOut) syscall.Errno {
	s := n.m.v.StatFS()
	out.Blocks, out.Bfree, out.Bavail = s.Blocks, s.Free, s.Free
	out.Bsize, out.Frsize = s.BlockSize, s.BlockSize
	out.Files, out.Ffree = s.Files+1<<20, 1<<20
	out.NameLen = proto.MaxName
	return 0
}

func (n *Node) Readlink(ctx context.Context) ([]byte, syscall.Errno) {
	t, err := n.m.v.Readlink(ctx, caller(ctx), n.ino())
	if err != nil {
		return nil, errno(err)
	}
	return []byte(t), 0
}
