// Package backup is coda's volume dump format (coda-dump(5)) and what
// reads it: dump2tar, which turns a dump into a tar archive without a
// server, and the parsing that volutil restore feeds a server with. The
// server writes dumps (server/volume) with Writer.
//
// # Format
//
// A dump is a stream: the magic "CODADUMP", a version byte (1), then
// records. A record is a kind byte, a body length (uint32, little-endian),
// the body, and a CRC-32C of kind, length and body. The first record is
// the header, the last the trailer, which counts what came before; a
// reader that reaches the end of the stream without the trailer knows the
// dump is truncated, and a bad CRC says where it is corrupt. The whole
// stream may be compressed with zstd (volutil dump --compress); readers
// recognise it by zstd's magic.
//
// Records, in stream order:
//
//	H header     the dumped clone, its source volume, the replica, the
//	             level, when the clone was frozen, and the dump it is
//	             incremental against (level -1: none, a full dump)
//	D directory  every directory, parents before children, each with
//	             its status, ACL and complete entries (more entries in
//	             E records following it); Changed says whether it
//	             changed since the base
//	F file       a file changed since the base: status, every name
//	             (directory vnode, name) and the spans holding data (the
//	             rest are holes), then X extents filling the spans and a Z
//	             end record
//	S symlink    a symlink changed since the base, with its names
//	N names      after the directories: the names of the principals
//	             their ACLs name
//	R removed    an object of the base that is gone
//	T trailer    counts of directories, files, symlinks, removed
//	             objects, data bytes and records
//
// So a reader can name every object from the directories alone, with
// memory proportional to the directories, and file contents stream.
package backup

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"

	"github.com/coda-fs/coda/server/proto"
)

// Magic starts every dump; Version is the format's.
const (
	Magic   = "CODADUMP"
	Version = 1
)

// Record kinds.
const (
	KindHeader  = 'H'
	KindDir     = 'D'
	KindEntries = 'E'
	KindFile    = 'F'
	KindExtent  = 'X'
	KindEndFile = 'Z'
	KindSymlink = 'S'
	KindRemoved = 'R'
	KindNames   = 'N'
	KindTrailer = 'T'
)

// Limits a reader enforces.
const (
	MaxRecord     = 4 << 20 // body bytes
	MaxExtent     = 1 << 20 // data bytes per X record
	entriesPerRec = 8192
	maxNames      = 65535
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// Header describes a dump.
type Header struct {
	Volume     string // the dumped clone (web.backup)
	VolumeID   uint32
	Source     string // the read-write volume it is a clone of (web)
	SourceID   uint32
	Server     uint32 // the server whose replica was dumped
	Level      uint8  // 0: full; N: changes since the last good dump below N
	Frozen     int64  // when the clone was made (Unix ns)
	BaseLevel  int8   // the level of the base; -1: none (a full dump)
	BaseFrozen int64  // when the base's clone was made
	Dumped     int64  // when the dump was written
}

// Full reports whether the dump holds every object.
func (h *Header) Full() bool { return h.BaseLevel < 0 }

// Status is what dumps keep of an object's status.
type Status struct {
	Vnode, Unique uint32
	Mode          uint32 // permission bits (and setuid, setgid, sticky)
	UID, GID      uint32
	Mtime, Ctime  int64 // Unix ns
	VV            proto.VV
}

// Entry is a directory entry.
type Entry struct {
	Name          string
	Vnode, Unique uint32
	Type          proto.ObjType
}

// Dir is a directory with its entries.
type Dir struct {
	Status
	Parent  uint32 // its parent's vnode; the root is its own parent
	Changed bool   // changed since the base (always, in a full dump)
	ACL     []byte // acl.Encode form
	Entries []Entry
}

// Name is one name of a file or symlink: its directory and name there.
type Name struct {
	Dir  uint32
	Name string
}

// File starts a file: its status, names and the spans of its data (the
// rest, up to Size, is holes); the data follows as Extents, in order,
// exactly filling the spans, and an EndFile.
type File struct {
	Status
	Nlink uint32
	Size  int64
	Names []Name
	Map   []Span
}

// DataBytes is the bytes of f's spans: its data, holes left out.
func (f *File) DataBytes() int64 {
	var n int64
	for _, sp := range f.Map {
		n += sp.Len
	}
	return n
}

// Span is a range of a file holding data.
type Span struct{ Off, Len int64 }

// MaxSpans bounds a file's map (a writer fills smaller holes with zeros).
const MaxSpans = 65536

// Extent is data of the current file at Offset; what no extent covers up
// to the file's size is a hole (zeros).
type Extent struct {
	Offset int64
	Data   []byte
}

// EndFile ends the current file; Bytes is the data its extents held.
type EndFile struct {
	Vnode uint32
	Bytes int64
}

// Symlink is a symbolic link.
type Symlink struct {
	Status
	Target string
	Names  []Name
}

// Removed is an object of the base dump that the volume no longer holds.
type Removed struct{ Vnode, Unique uint32 }

// Names are the principals the directories' ACLs name (id → name, from
// the realm's protection database when the dump was made), so that a
// reader without the database shows names.
type Names map[int32]string

// Trailer ends a dump.
type Trailer struct {
	Counts
}

// Counts are what a dump holds, as its trailer says.
type Counts struct {
	Dirs, Files, Symlinks, Removed uint64
	DataBytes                      uint64
	Records                        uint64 // before the trailer, the header included
}

func (s *Status) encode(e *proto.Encoder) {
	e.U32(s.Vnode)
	e.U32(s.Unique)
	e.U32(s.Mode)
	e.U32(s.UID)
	e.U32(s.GID)
	e.I64(s.Mtime)
	e.I64(s.Ctime)
	e.VV(s.VV)
}

func (s *Status) decode(d *proto.Decoder) {
	s.Vnode, s.Unique, s.Mode, s.UID, s.GID = d.U32(), d.U32(), d.U32(), d.U32(), d.U32()
	s.Mtime, s.Ctime = d.I64(), d.I64()
	s.VV = d.VV()
}

func encodeNames(e *proto.Encoder, names []Name) {
	e.U32(uint32(len(names)))
	for _, n := range names {
		e.U32(n.Dir)
		e.String(n.Name)
	}
}

func decodeNames(d *proto.Decoder) []Name {
	n := d.Count(maxNames, 5)
	out := make([]Name, 0, n)
	for range n {
		out = append(out, Name{Dir: d.U32(), Name: d.String(proto.MaxName)})
	}
	return out
}

func encodeEntries(e *proto.Encoder, list []Entry) {
	e.U32(uint32(len(list)))
	for _, en := range list {
		e.String(en.Name)
		e.U32(en.Vnode)
		e.U32(en.Unique)
		e.U8(uint8(en.Type))
	}
}

func decodeEntries(d *proto.Decoder) []Entry {
	n := d.Count(entriesPerRec, 13)
	out := make([]Entry, 0, n)
	for range n {
		out = append(out, Entry{Name: d.String(proto.MaxName), Vnode: d.U32(), Unique: d.U32(), Type: proto.ObjType(d.U8())})
	}
	return out
}

func (h *Header) encode(e *proto.Encoder) {
	e.String(h.Volume)
	e.U32(h.VolumeID)
	e.String(h.Source)
	e.U32(h.SourceID)
	e.U32(h.Server)
	e.U8(h.Level)
	e.I64(h.Frozen)
	e.U8(uint8(h.BaseLevel))
	e.I64(h.BaseFrozen)
	e.I64(h.Dumped)
}

func (h *Header) decode(d *proto.Decoder) {
	h.Volume, h.VolumeID = d.String(proto.MaxVolName), d.U32()
	h.Source, h.SourceID = d.String(proto.MaxVolName), d.U32()
	h.Server, h.Level, h.Frozen = d.U32(), d.U8(), d.I64()
	h.BaseLevel, h.BaseFrozen, h.Dumped = int8(d.U8()), d.I64(), d.I64()
}

func (c *Counts) encode(e *proto.Encoder) {
	for _, v := range []uint64{c.Dirs, c.Files, c.Symlinks, c.Removed, c.DataBytes, c.Records} {
		e.U64(v)
	}
}

func (c *Counts) decode(d *proto.Decoder) {
	c.Dirs, c.Files, c.Symlinks, c.Removed, c.DataBytes, c.Records = d.U64(), d.U64(), d.U64(), d.U64(), d.U64(), d.U64()
}

// appendRecord frames body as a record of kind.
func appendRecord(out []byte, kind byte, body []byte) []byte {
	start := len(out)
	out = append(out, kind)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(body)))
	out = append(out, body...)
	return binary.LittleEndian.AppendUint32(out, crc32.Checksum(out[start:], crcTable))
}

// kindName names a record kind in messages.
func kindName(k byte) string {
	switch k {
	case KindHeader:
		return "header"
	case KindDir:
		return "directory"
	case KindEntries:
		return "directory entries"
	case KindFile:
		return "file"
	case KindExtent:
		return "file data"
	case KindEndFile:
		return "end of file"
	case KindSymlink:
		return "symlink"
	case KindRemoved:
		return "removed object"
	case KindNames:
		return "principal names"
	case KindTrailer:
		return "trailer"
	}
	return fmt.Sprintf("unknown kind %#x", k)
}
