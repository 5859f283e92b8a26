package volume

import (
	"fmt"

	"github.com/coda-fs/coda/auth/acl"
	"github.com/coda-fs/coda/server/proto"
)

// Record versions: vnodeVersion 2 added the ACL and a parent for every
// object (nothing was deployed with version 1, so there is no migration);
// 3 the updates awaiting their COP2 (version 2 records still load); 4 the
// owner of a clone's data. headerVersion is the volume header's: 2 added
// what a clone was cloned from, 3 the quota and messages.
const (
	vnodeVersion  = 4
	headerVersion = 3
)

// maxPendingCOP2 bounds the updates a vnode remembers awaiting their COP2;
// older ones are forgotten (their COP2 is then ignored, as a lost one is).
const maxPendingCOP2 = 8

// maxACLBytes bounds a stored ACL (acl.Encode of two full lists).
const maxACLBytes = 5 + 5*2*acl.MaxEntries

// vnode is the persistent record of one object.
type vnode struct {
	Type      proto.ObjType
	Mode      uint32
	UID       uint32
	GID       uint32
	Nlink     uint32
	Unique    uint32
	Size      int64 // files: bytes; directories: number of entries
	Blocks    int64 // allocated bytes of the container
	Mtime     int64
	Ctime     int64
	VV        proto.VV
	Container uint64 // store.ContainerID; 0 = no data
	Target    string // symlink target
	// Parent is the directory holding the object's name(s): ".." of a
	// directory, the directory whose ACL governs a file or symlink (hard
	// links stay within one directory, so it is unique). The root is its
	// own parent.
	Parent uint32
	Flags  uint8  // flagInline, flagCOP2, flagConflict
	ACL    []byte // directories: acl.Encode of the directory's ACL
	// Pending are the updates applied here that await their COP2, oldest
	// first (flagCOP2 is set while there is one). A COP2 credits the
	// other replicas for its update even when later updates came since
	// (two clients writing one directory), and only once.
	Pending []proto.StoreID
	// Owner is, in a clone, the volume whose vnode of the same number
	// holds this file's data (container or inline) for it: 0 when this
	// volume owns the data itself (see clone.go).
	Owner uint32
}

// flagInline: the file's data (a prefix of it; zeros follow up to Size)
// lives in the store under inlineKey instead of a container, so a small
// store costs one log sync instead of three.
const flagInline = 1

// flagCOP2: updates applied here in a first phase (Pending) await their
// COP2, which adds the other replicas that applied them to the version
// vector.
const flagCOP2 = 2

// flagConflict: a conflict object (proto.AttrConflict), a directory a
// merge made in place of a name both sides changed differently, holding
// each replica's version under the server id; only a repair changes it.
const flagConflict = 4

// InlineMax is the largest file stored inline.
const InlineMax = 64 << 10

func (n *vnode) inline() bool { return n.Flags&flagInline != 0 }

func (n *vnode) encode() []byte {
	var e proto.Encoder
	e.U8(vnodeVersion)
	e.U8(uint8(n.Type))
	e.U32(n.Mode)
	e.U32(n.UID)
	e.U32(n.GID)
	e.U32(n.Nlink)
	e.U32(n.Unique)
	e.I64(n.Size)
	e.I64(n.Blocks)
	e.I64(n.Mtime)
	e.I64(n.Ctime)
	e.VV(n.VV)
	e.U64(n.Container)
	e.String(n.Target)
	e.U32(n.Parent)
	e.U8(n.Flags)
	e.Bytes(n.ACL)
	e.U8(uint8(len(n.Pending)))
	for _, s := range n.Pending {
		e.StoreID(s)
	}
	e.U32(n.Owner)
	return e.B
}

func decodeVnode(b []byte) (*vnode, error) {
	d := proto.NewDecoder(b)
	version := d.U8()
	if (version < 2 || version > vnodeVersion) && d.Err == nil {
		return nil, fmt.Errorf("vnode record version %d unknown", version)
	}
	n := &vnode{
		Type:   proto.ObjType(d.U8()),
		Mode:   d.U32(),
		UID:    d.U32(),
		GID:    d.U32(),
		Nlink:  d.U32(),
		Unique: d.U32(),
		Size:   d.I64(),
		Blocks: d.I64(),
		Mtime:  d.I64(),
		Ctime:  d.I64(),
	}
	n.VV = d.VV()
	n.Container = d.U64()
	n.Target = d.String(proto.MaxPath)
	n.Parent = d.U32()
	n.Flags = d.U8()
	if b := d.Bytes(maxACLBytes); len(b) > 0 {
		n.ACL = append([]byte(nil), b...)
	}
	switch {
	case version >= 3:
		for k := d.U8(); k > 0 && d.Err == nil; k-- {
			n.Pending = append(n.Pending, d.StoreID())
		}
	case n.Flags&flagCOP2 != 0:
		n.Pending = []proto.StoreID{n.VV.Store} // version 2: the last update only
	}
	if version >= 4 {
		n.Owner = d.U32()
	}
	if err := d.Done(); err != nil {
		return nil, fmt.Errorf("corrupt vnode record: %w", err)
	}
	return n, nil
}

// attr converts the record to the wire form.
func (n *vnode) attr(fid proto.FID) proto.Attr {
	a := proto.Attr{
		FID: fid, Type: n.Type, Mode: n.Mode, UID: n.UID, GID: n.GID,
		Nlink: n.Nlink, Size: n.Size, Blocks: n.Blocks,
		Mtime: n.Mtime, Ctime: n.Ctime, VV: n.VV,
	}
	if n.Flags&flagConflict != 0 {
		a.Flags |= proto.AttrConflict
	}
	switch n.Type {
	case proto.TypeDir:
		a.Size = 4096
		a.Blocks = 4096
	case proto.TypeSymlink:
		a.Size = int64(len(n.Target))
	}
	return a
}

// entry is the value of a directory entry key.
type entry struct {
	Vnode  uint32
	Unique uint32
	Type   proto.ObjType
}

func (e entry) encode() []byte {
	var enc proto.Encoder
	enc.U32(e.Vnode)
	enc.U32(e.Unique)
	enc.U8(uint8(e.Type))
	return enc.B
}

func decodeEntry(b []byte) (entry, error) {
	d := proto.NewDecoder(b)
	e := entry{Vnode: d.U32(), Unique: d.U32(), Type: proto.ObjType(d.U8())}
	if err := d.Done(); err != nil {
		return entry{}, fmt.Errorf("corrupt directory entry: %w", err)
	}
	return e, nil
}

// header is the persistent record of a volume replica.
type header struct {
	ID        uint32
	Name      string
	Type      proto.VolumeType
	ReplicaID uint32
	Slot      uint8 // this replica's index in the version vectors
	Root      proto.FID
	Replicas  []proto.Replica
	Created   int64
	// A clone's (version 2): the read-write volume it was cloned from,
	// when (Unix ns), and Building while the copy is being made (a start
	// finding it set removes the unfinished clone).
	Source   uint32
	Frozen   int64
	Building bool
	// version 3: the quota (KB, 0: none) and messages (cfs setvol)
	Quota   int64
	MOTD    string
	Offline string
}

func (h *header) encode() []byte {
	var e proto.Encoder
	e.U8(headerVersion)
	e.U32(h.ID)
	e.String(h.Name)
	e.U8(uint8(h.Type))
	e.U32(h.ReplicaID)
	e.U8(h.Slot)
	e.FID(h.Root)
	e.Replicas(h.Replicas)
	e.I64(h.Created)
	e.U32(h.Source)
	e.I64(h.Frozen)
	e.Bool(h.Building)
	e.I64(h.Quota)
	e.String(h.MOTD)
	e.String(h.Offline)
	return e.B
}

func decodeHeader(b []byte) (*header, error) {
	d := proto.NewDecoder(b)
	version := d.U8()
	if (version < 1 || version > headerVersion) && d.Err == nil {
		return nil, fmt.Errorf("volume header version %d unknown", version)
	}
	h := &header{ID: d.U32(), Name: d.String(proto.MaxVolName), Type: proto.VolumeType(d.U8()),
		ReplicaID: d.U32(), Slot: d.U8(), Root: d.FID()}
	h.Replicas = d.Replicas()
	h.Created = d.I64()
	if version >= 2 {
		h.Source, h.Frozen, h.Building = d.U32(), d.I64(), d.Bool()
	}
	if version >= 3 {
		h.Quota, h.MOTD, h.Offline = d.I64(), d.String(proto.MaxVolMessage), d.String(proto.MaxVolMessage)
	}
	if err := d.Done(); err != nil {
		return nil, fmt.Errorf("corrupt volume header: %w", err)
	}
	return h, nil
}
