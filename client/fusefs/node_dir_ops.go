package fusefs

import (
	"context"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

var _ = (fs.NodeLookuper)((*Node)(nil))
var _ = (fs.NodeOpendirer)((*Node)(nil))
var _ = (fs.NodeReaddirer)((*Node)(nil))
var _ = (fs.NodeMkdirer)((*Node)(nil))
var _ = (fs.NodeRmdirer)((*Node)(nil))
var _ = (fs.NodeUnlinker)((*Node)(nil))
var _ = (fs.NodeRenamer)((*Node)(nil))
var _ = (fs.NodeSymlinker)((*Node)(nil))
var _ = (fs.NodeLinker)((*Node)(nil))

// Lookup finds a name; venus answers from its cache when the directory and
// the object hold callbacks.
func (n *Node) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	e, err := n.m.v.Lookup(ctx, caller(ctx), n.ino(), name)
	if err != nil {
		return nil, errno(err)
	}
	return n.child(ctx, &e, out), 0
}

// Opendir checks that the caller may read the directory.
func (n *Node) Opendir(ctx context.Context) syscall.Errno {
	return errno(n.m.v.Access(ctx, caller(ctx), n.ino(), 4))
}

// Readdir lists the directory from venus's cached listing.
func (n *Node) Readdir(ctx context.Context) (fs.DirStream, syscall.Errno) {
	list, err := n.m.v.ReadDir(ctx, caller(ctx), n.ino())
	if err != nil {
		return nil, errno(err)
	}
	parent := n.ino()
	if _, p := n.Parent(); p != nil {
		parent = p.StableAttr().Ino
	}
	ents := make([]fuse.DirEntry, 0, len(list)+2)
	ents = append(ents, fuse.DirEntry{Name: ".", Ino: n.ino(), Mode: syscall.S_IFDIR},
		fuse.DirEntry{Name: "..", Ino: parent, Mode: syscall.S_IFDIR})
	for _, de := range list {
		ents = append(ents, fuse.DirEntry{Name: de.Name, Ino: de.Ino, Mode: de.Mode})
	}
	return fs.NewListDirStream(ents), 0
}

func (n *Node) Mkdir(ctx context.Context, name string, mode uint32, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	e, err := n.m.v.Mkdir(ctx, caller(ctx), n.ino(), name, mode)
	if err != nil {
		return nil, errno(err)
	}
	return n.child(ctx, &e, out), 0
}

func (n *Node) Rmdir(ctx context.Context, name string) syscall.Errno {
	return errno(n.m.v.Rmdir(ctx, caller(ctx), n.ino(), name))
}

func (n *Node) Unlink(ctx context.Context, name string) syscall.Errno {
	return errno(n.m.v.Remove(ctx, caller(ctx), n.ino(), name))
}

func (n *Node) Rename(ctx context.Context, name string, newParent fs.InodeEmbedder, newName string, flags uint32) syscall.Errno {
	np := newParent.EmbeddedInode().StableAttr().Ino
	return errno(n.m.v.Rename(ctx, caller(ctx), n.ino(), name, np, newName, flags))
}

func (n *Node) Symlink(ctx context.Context, target, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	e, err := n.m.v.Symlink(ctx, caller(ctx), n.ino(), name, target)
	if err != nil {
		return nil, errno(err)
	}
	return n.child(ctx, &e, out), 0
}

func (n *Node) Link(ctx context.Context, target fs.InodeEmbedder, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	t := target.EmbeddedInode().StableAttr().Ino
	e, err := n.m.v.Link(ctx, caller(ctx), n.ino(), name, t)
	if err != nil {
		return nil, errno(err)
	}
	return n.child(ctx, &e, out), 0
}
