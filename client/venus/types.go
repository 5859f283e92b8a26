package venus

import (
	"syscall"
	"time"

	"github.com/coda-fs/coda/server/proto"
)

// Caller is who makes a request: the credentials of the FUSE request.
type Caller struct {
	UID, GID uint32
	PID      uint32
}

// Attr is what the kernel is told about an object.
type Attr struct {
	Ino    uint64
	Mode   uint32 // file type (syscall.S_IF*) and permission bits
	Nlink  uint32
	UID    uint32
	GID    uint32
	Size   int64
	Blocks int64 // 512-byte blocks allocated
	Atime  int64 // ns since the epoch
	Mtime  int64
	Ctime  int64
	// Timeout is how long the kernel may cache these attributes.
	Timeout time.Duration
}

// Entry is the answer to a lookup: the object's attributes and how long the
// kernel may cache the name→inode mapping.
type Entry struct {
	Attr
	EntryTimeout time.Duration
}

// DirEntry is one name of a directory listing.
type DirEntry struct {
	Name string
	Ino  uint64
	Mode uint32 // file type bits only
}

// Fixed inode numbers: the kernel's root of the mount (a synthetic directory
// holding the realm) and the realm directory shown while the realm has no
// root volume. FIDs get numbers from firstIno on.
const (
	RootIno       = 1
	EmptyRealmIno = 2
	firstIno      = 16
)

// typeBits maps an object type to the S_IF* bits of a mode.
func typeBits(t proto.ObjType) uint32 {
	switch t {
	case proto.TypeDir:
		return syscall.S_IFDIR
	case proto.TypeSymlink:
		return syscall.S_IFLNK
	}
	return syscall.S_IFREG
}

// dur turns "has a callback" into a kernel cache timeout.
func (v *Venus) dur(valid bool) time.Duration {
	if valid {
		return v.opts.CacheTimeout
	}
	return 0
}
