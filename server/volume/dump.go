package volume

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"golang.org/x/sys/unix"

	"github.com/coda-fs/coda/auth/acl"
	"github.com/coda-fs/coda/backup"
	"github.com/coda-fs/coda/server/proto"
	"github.com/coda-fs/coda/server/rpc"
	"github.com/coda-fs/coda/server/store"
)

// DumpInfo says what a dump holds.
type DumpInfo struct {
	Level     uint8 // as written: 0 when no base was found for the level asked
	BaseLevel int8  // -1: full
	Counts    backup.Counts
}

// DumpOptions say what Dump writes: the level (0-9), this server's id and
// the time (for the header), and, when set, the names of principals (the
// realm's protection database), for the ACLs' ids.
type DumpOptions struct {
	Level  uint8
	Server uint32
	Now    int64
	Names  func(id int32) (string, bool)
}

// Dump writes clone v to w. Memory: the directories' queue, not the
// volume's size.
func (v *Volume) Dump(w io.Writer, o DumpOptions) (DumpInfo, error) {
	level := o.Level
	if v.hdr.Source == 0 {
		return DumpInfo{}, proto.Errorf(proto.CodeInvalid, fmt.Sprintf("volume %s is read-write and changes under a dump: back it up first (volutil backup %s) and dump %s.backup", v.hdr.Name, v.hdr.Name, v.hdr.Name))
	}
	if level > MaxLevel {
		return DumpInfo{}, proto.Errorf(proto.CodeInvalid, fmt.Sprintf("dump levels are 0-%d, not %d", MaxLevel, level))
	}
	s := v.set
	srcName := ""
	if v.source != nil {
		srcName = v.source.hdr.Name
	}
	h := &backup.Header{Volume: v.hdr.Name, VolumeID: v.hdr.ID, Source: srcName, SourceID: v.hdr.Source,
		Server: o.Server, Level: level, Frozen: v.hdr.Frozen, BaseLevel: -1, Dumped: o.Now}
	if level > 0 {
		bases, err := s.bases(v.hdr.Source)
		if err != nil {
			return DumpInfo{}, err
		}
		if b, ok := baseFor(bases, level); ok {
			h.BaseLevel, h.BaseFrozen = int8(b.level), b.frozen
		} else {
			h.Level = 0
		}
	}
	snap, err := s.db.NewSnapshot()
	if err != nil {
		return DumpInfo{}, err
	}
	defer snap.Close()
	d := &dumper{v: v, r: snap, w: backup.NewWriter(w), h: h, principal: o.Names, ids: map[int32]bool{}}
	if err := d.run(); err != nil {
		return DumpInfo{}, err
	}
	b := s.db.NewBatch()
	var e proto.Encoder
	e.U32(v.hdr.ID)
	e.U8(h.Level)
	e.I64(v.hdr.Frozen)
	b.Set(lastDumpKey(v.hdr.Source), e.B)
	if err := s.db.Commit(b); err != nil {
		return DumpInfo{}, err
	}
	return DumpInfo{Level: h.Level, BaseLevel: h.BaseLevel, Counts: d.w.Counts}, nil
}

type dumper struct {
	v         *Volume
	r         store.Reader
	w         *backup.Writer
	h         *backup.Header
	principal func(int32) (string, bool)
	ids       map[int32]bool // named in the ACLs
}

// changed reports whether vnode vn (record n) differs from the base.
func (d *dumper) changed(vn uint32, n *vnode) (bool, error) {
	if d.h.Full() {
		return true, nil
	}
	return changedSince(d.r, d.v.hdr.Source, uint8(d.h.BaseLevel), vn, n)
}

// changedSince reports whether vnode vn (record n) differs from what the
// base of level recorded for read-write volume src (or is not in it).
func changedSince(r store.Reader, src uint32, level uint8, vn uint32, n *vnode) (bool, error) {
	val, err := r.Get(baseVnKey(src, level, vn))
	if errors.Is(err, store.ErrNotFound) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	return len(val) != 12 || binary.BigEndian.Uint64(val[4:]) != vvHash(n), nil
}

func (d *dumper) run() error {
	if err := d.w.Header(d.h); err != nil {
		return err
	}
	if err := d.dirs(); err != nil {
		return err
	}
	if d.principal != nil && len(d.ids) > 0 {
		names := backup.Names{}
		for id := range d.ids {
			if n, ok := d.principal(id); ok {
				names[id] = n
			}
		}
		if err := d.w.Names(names); err != nil {
			return err
		}
	}
	if err := d.objects(); err != nil {
		return err
	}
	if !d.h.Full() {
		if err := d.removed(); err != nil {
			return err
		}
	}
	return d.w.Trailer()
}

func status(vn uint32, n *vnode) backup.Status {
	return backup.Status{Vnode: vn, Unique: n.Unique, Mode: n.Mode, UID: n.UID, GID: n.GID, Mtime: n.Mtime, Ctime: n.Ctime, VV: n.VV}
}

// dirs writes every directory, breadth first from the root.
func (d *dumper) dirs() error {
	id := d.v.hdr.ID
	queue := []uint32{d.v.hdr.Root.Vnode}
	for len(queue) > 0 {
		vn := queue[0]
		queue = queue[1:]
		n, err := d.v.readVnodeFrom(d.r, vn)
		if err != nil {
			return fmt.Errorf("directory vnode %d: %w", vn, err)
		}
		changed, err := d.changed(vn, n)
		if err != nil {
			return err
		}
		dir := &backup.Dir{Status: status(vn, n), Parent: n.Parent, Changed: changed, ACL: n.ACL}
		if a, err := acl.Decode(n.ACL); err == nil {
			for _, e := range append(a.Positive, a.Negative...) {
				d.ids[e.ID] = true
			}
		}
		p := entryPrefix(id, vn)
		it, err := d.r.NewIter(p, prefixEnd(p))
		if err != nil {
			return err
		}
		for it.First(); it.Valid(); it.Next() {
			e, err := decodeEntry(it.Value())
			if err != nil {
				it.Close()
				return fmt.Errorf("directory vnode %d: %w", vn, err)
			}
			dir.Entries = append(dir.Entries, backup.Entry{Name: string(it.Key()[len(p):]), Vnode: e.Vnode, Unique: e.Unique, Type: e.Type})
			if e.Type == proto.TypeDir {
				queue = append(queue, e.Vnode)
			}
		}
		if err := it.Close(); err != nil {
			return err
		}
		if err := d.w.Dir(dir); err != nil {
			return err
		}
	}
	return nil
}

// objects writes the files and symlinks that changed, in vnode order.
func (d *dumper) objects() error {
	lo, hi := vnodeSpan(d.v.hdr.ID)
	it, err := d.r.NewIter(lo, hi)
	if err != nil {
		return err
	}
	defer it.Close()
	for it.First(); it.Valid(); it.Next() {
		vn := keyVnode(it.Key())
		n, err := decodeVnode(it.Value())
		if err != nil {
			return fmt.Errorf("vnode %d: %w", vn, err)
		}
		if n.Type == proto.TypeDir {
			continue
		}
		if changed, err := d.changed(vn, n); err != nil || !changed {
			if err != nil {
				return err
			}
			continue
		}
		names, err := d.names(vn)
		if err != nil {
			return err
		}
		if n.Type == proto.TypeSymlink {
			if err := d.w.Symlink(&backup.Symlink{Status: status(vn, n), Target: n.Target, Names: names}); err != nil {
				return err
			}
			continue
		}
		src, spans, err := d.content(vn, n)
		if err != nil {
			return fmt.Errorf("the data of vnode %d: %w", vn, err)
		}
		err = d.w.File(&backup.File{Status: status(vn, n), Nlink: n.Nlink, Size: n.Size, Names: names, Map: spans})
		var held int64
		if err == nil {
			held, err = d.data(src, spans)
		}
		if c, ok := src.(io.Closer); ok {
			c.Close()
		}
		if err != nil {
			return fmt.Errorf("the data of vnode %d: %w", vn, err)
		}
		if err := d.w.EndFile(vn, held); err != nil {
			return err
		}
	}
	return it.Error()
}

// names lists every name of vnode vn, from its back-references.
func (d *dumper) names(vn uint32) ([]backup.Name, error) {
	p := parentPrefix(d.v.hdr.ID, vn)
	it, err := d.r.NewIter(p, prefixEnd(p))
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var out []backup.Name
	for it.First(); it.Valid(); it.Next() {
		k := it.Key()[len(p):]
		if len(k) < 5 {
			return nil, fmt.Errorf("corrupt back-reference of vnode %d", vn)
		}
		out = append(out, backup.Name{Dir: binary.BigEndian.Uint32(k), Name: string(k[4:])})
	}
	return out, it.Error()
}

// content returns what holds a file's data and the spans of it that hold
// data (the rest are holes): inline data, or the container with the
// spans SEEK_DATA finds, at most backup.MaxSpans (smaller holes are
// filled in beyond that).
func (d *dumper) content(vn uint32, n *vnode) (io.ReaderAt, []backup.Span, error) {
	switch {
	case n.inline():
		b, err := d.v.readInline(vn, n)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, nil, err
		}
		b = b[:min(int64(len(b)), n.Size)]
		if len(b) == 0 {
			return nil, nil, nil
		}
		return bytes.NewReader(b), []backup.Span{{Off: 0, Len: int64(len(b))}}, nil
	case n.Container == 0 || n.Size == 0:
		return nil, nil, nil
	}
	ct, err := d.v.set.db.OpenContainer(store.ContainerID(n.Container))
	if err != nil {
		return nil, nil, err
	}
	size := min(n.Size, ct.Size())
	extents := []rpc.Extent{{Off: 0, Len: size}}
	if fd := ct.Fd(); fd != store.InvalidFd {
		if extents, err = rpc.FdExtents(int(fd), size); err != nil {
			ct.Close()
			return nil, nil, err
		}
	}
	spans := make([]backup.Span, 0, len(extents))
	for _, x := range extents {
		if x.Len > 0 {
			spans = append(spans, backup.Span{Off: x.Off, Len: x.Len})
		}
	}
	for len(spans) > backup.MaxSpans { // join neighbours: their hole reads as zeros
		joined := spans[:0]
		for i := 0; i < len(spans); i += 2 {
			if i+1 < len(spans) {
				joined = append(joined, backup.Span{Off: spans[i].Off, Len: spans[i+1].Off + spans[i+1].Len - spans[i].Off})
			} else {
				joined = append(joined, spans[i])
			}
		}
		spans = joined
	}
	return ct, spans, nil
}

// data writes the spans of src as extents and returns their bytes.
func (d *dumper) data(src io.ReaderAt, spans []backup.Span) (int64, error) {
	ahead := newReadAhead(src)
	var total int64
	for _, sp := range spans {
		for off, end := sp.Off, sp.Off+sp.Len; off < end; {
			n := int(min(backup.MaxExtent, end-off))
			ahead.advise(off, end)
			err := d.w.ExtentFrom(off, n, func(p []byte) error {
				m, err := src.ReadAt(p, off)
				if m == len(p) {
					return nil
				}
				if err == nil || errors.Is(err, io.EOF) {
					err = io.ErrUnexpectedEOF
				}
				return err
			})
			if err != nil {
				return total, err
			}
			off += int64(n)
			total += int64(n)
		}
	}
	return total, nil
}

// readAheadWindow is how far ahead of the dump's reads the kernel is asked
// to read a container: the disk works on the next megabytes while the dump
// encodes and sends the last ones (a cold dump otherwise runs at about 70 %
// of cat's rate, waiting for each read).
const readAheadWindow = 32 << 20

// readAhead asks the kernel to read a container's data ahead
// (POSIX_FADV_WILLNEED), a window at a time; for sources without a file it
// does nothing.
type readAhead struct {
	fd      int
	advised int64 // read ahead up to here
}

func newReadAhead(src io.ReaderAt) *readAhead {
	if f, ok := src.(interface{ Fd() uintptr }); ok && f.Fd() != store.InvalidFd {
		return &readAhead{fd: int(f.Fd())}
	}
	return &readAhead{fd: -1}
}

// advise is told that the dump reads at off of a span ending at end.
func (r *readAhead) advise(off, end int64) {
	if r.fd < 0 || r.advised >= end || off+readAheadWindow/2 < r.advised {
		return
	}
	from := max(off, r.advised)
	to := min(end, off+readAheadWindow)
	_ = unix.Fadvise(r.fd, from, to-from, unix.FADV_WILLNEED) // advice only
	r.advised = to
}

// removed writes the objects of the base that the clone no longer holds.
func (d *dumper) removed() error {
	p := baseVnPrefix(d.v.hdr.Source, uint8(d.h.BaseLevel))
	it, err := d.r.NewIter(p, prefixEnd(p))
	if err != nil {
		return err
	}
	defer it.Close()
	for it.First(); it.Valid(); it.Next() {
		k, val := it.Key(), it.Value()
		if len(k) != len(p)+4 || len(val) != 12 {
			return fmt.Errorf("corrupt dump base record %x", k)
		}
		vn, unique := binary.BigEndian.Uint32(k[len(p):]), binary.BigEndian.Uint32(val)
		n, err := d.v.readVnodeFrom(d.r, vn)
		if err != nil && !errors.Is(err, proto.ErrNotFound) {
			return err
		}
		if n == nil || n.Unique != unique {
			if err := d.w.Removed(vn, unique); err != nil {
				return err
			}
		}
	}
	return it.Error()
}
