package fusefs

import (
	"syscall"

	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/coda-fs/coda/client/venus"
)

var _ venus.Invalidator = (*Mount)(nil)

// Notifications of inodes or names the kernel no longer has answer
// ENOENT; that is not an error here.
func (m *Mount) notifyErr(what string, st fuse.Status) {
	if st != fuse.OK && st != fuse.ENOENT && st != fuse.Status(syscall.ENOTDIR) {
		m.log.Debug("kernel notification failed", "what", what, "status", st)
	}
}

// InvalidateInode drops the kernel's attributes and data of ino.
func (m *Mount) InvalidateInode(ino uint64) {
	m.notifyErr("inode", m.server.InodeNotify(ino, 0, 0))
}

// InvalidateEntry drops the kernel's dentry (parent, name).
func (m *Mount) InvalidateEntry(parent uint64, name string) {
	m.notifyErr("entry", m.server.EntryNotify(parent, name))
}

// InvalidateChildren drops every dentry under parent the kernel holds.
func (m *Mount) InvalidateChildren(parent uint64) {
	in := m.node(parent)
	if in == nil {
		return
	}
	for name := range in.Children() {
		m.InvalidateEntry(parent, name)
	}
}

// InvalidateAll drops every dentry and attribute the kernel holds for the
// mount.
func (m *Mount) InvalidateAll() {
	m.mu.Lock()
	inos := make([]uint64, 0, len(m.nodes))
	for ino := range m.nodes {
		inos = append(inos, ino)
	}
	m.mu.Unlock()
	for _, ino := range inos {
		if ino != venus.RootIno {
			m.InvalidateInode(ino)
		}
		m.InvalidateChildren(ino)
	}
}
