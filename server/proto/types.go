package proto

import (
	"fmt"
	"strconv"
	"strings"
)

// Version is the protocol version exchanged in the handshake. A peer that
// speaks another version is refused with a clear error.
const Version = 1

// DefaultPort is the TCP port a server listens on when none is given.
const DefaultPort = 2432

// FID names an object: (volume, vnode, uniquifier), 32 bits each, as in Coda.
// The uniquifier makes a reused vnode number a different object.
type FID struct {
	Volume uint32
	Vnode  uint32
	Unique uint32
}

// IsZero reports whether f is the zero FID (no object).
func (f FID) IsZero() bool { return f == FID{} }

// String formats f as Coda does: VOLUME.VNODE.UNIQUE in hex.
func (f FID) String() string {
	return fmt.Sprintf("%x.%x.%x", f.Volume, f.Vnode, f.Unique)
}

// ParseFID parses the form printed by String.
func ParseFID(s string) (FID, error) {
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return FID{}, fmt.Errorf("bad fid %q: want VOLUME.VNODE.UNIQUE", s)
	}
	var v [3]uint32
	for i, p := range parts {
		n, err := strconv.ParseUint(p, 16, 32)
		if err != nil {
			return FID{}, fmt.Errorf("bad fid %q: %v", s, err)
		}
		v[i] = uint32(n)
	}
	return FID{v[0], v[1], v[2]}, nil
}

// MaxReplicas is the largest number of replicas of one volume.
const MaxReplicas = 8

// StoreID names one update made by one client: the same update applied on
// several replicas carries the same StoreID, so replicas that applied it are
// recognised as equal (Coda's weak equality), and a retried update is applied
// once.
type StoreID struct {
	Client uint64 // the client's id, chosen at venus start-up
	Seq    uint64 // per-client sequence
}

// VV is a version vector: one counter per replica slot of the volume plus the
// StoreID of the last update. Dominance and concurrency are computed in
// package resolve.
type VV struct {
	Counters [MaxReplicas]uint32
	Store    StoreID
}

// String formats the counters and store id compactly.
func (v VV) String() string {
	var b strings.Builder
	b.WriteByte('[')
	for i, c := range v.Counters {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.FormatUint(uint64(c), 10))
	}
	fmt.Fprintf(&b, "] %x.%x", v.Store.Client, v.Store.Seq)
	return b.String()
}

// ObjType is the type of an object.
type ObjType uint8

const (
	TypeNone    ObjType = 0
	TypeFile    ObjType = 1
	TypeDir     ObjType = 2
	TypeSymlink ObjType = 3
)

func (t ObjType) String() string {
	switch t {
	case TypeFile:
		return "file"
	case TypeDir:
		return "dir"
	case TypeSymlink:
		return "symlink"
	}
	return "none"
}

// Attr is the status of an object as the server keeps it.
type Attr struct {
	FID    FID
	Type   ObjType
	Mode   uint32 // permission bits only (07777)
	UID    uint32
	GID    uint32
	Nlink  uint32
	Size   int64
	Blocks int64 // allocated bytes of the data (holes do not count)
	Mtime  int64 // ns since the epoch
	Ctime  int64 // ns since the epoch
	VV     VV
	// Rights are the caller's rights (acl.Rights bits) on the ACL that
	// governs the object (a directory's own, a file's directory's);
	// AnyRights are System:AnyUser's there. Venus keeps them per user
	// until the object's callback breaks.
	Rights    uint8
	AnyRights uint8
	Flags     uint8 // AttrConflict
}

// AttrConflict marks a conflict object: a directory a merge made in place
// of a name both sides of a partition changed differently, holding each
// replica's version under its server id. Clients show it as a conflict
// link; only cfs repair changes it.
const AttrConflict = 1 << 0

// SetAttr fields: a mask says which are set.
const (
	SetMode  = 1 << 0
	SetUID   = 1 << 1
	SetGID   = 1 << 2
	SetSize  = 1 << 3
	SetMtime = 1 << 4
)

// DirEntry is one name in a directory.
type DirEntry struct {
	Name string
	FID  FID
	Type ObjType
}

// Limits checked by every decoder before allocating.
const (
	MaxFrame   = 4 << 20 // largest frame body
	MaxName    = 255     // longest name in a directory
	MaxPath    = 4096    // longest symlink target
	MaxBatch   = 65536   // most items in one batched request or reply
	DataChunk  = 1 << 20 // largest data frame payload
	MaxVolName = 64      // longest volume name
	MaxRealm   = 253     // longest realm name
	MaxString  = 64 << 10
)
