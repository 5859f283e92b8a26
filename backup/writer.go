package backup

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"slices"

	"github.com/coda-fs/coda/server/proto"
)

// Writer writes a dump's records to an io.Writer, counting them for the
// trailer. A dump made in pieces (a server answering one request per
// chunk) starts each piece with Resume and the counts of the pieces
// before.
type Writer struct {
	w    io.Writer
	buf  []byte
	data []byte // ExtentFrom's buffer when w is no Reserver
	err  error
	Counts
}

// A Reserver is an io.Writer that lends the space its next Write will
// fill: Reserve(n) returns n bytes of its own buffer, and a Write of
// exactly those bytes (once filled) takes them without copying. A dump's
// file data then goes from the disk into the bytes sent (ExtentFrom).
type Reserver interface {
	io.Writer
	Reserve(n int) []byte
}

// flushAt is the buffered bytes a Writer writes out at.
const flushAt = 256 << 10

// NewWriter starts a dump on w: the magic and version.
func NewWriter(w io.Writer) *Writer {
	bw := &Writer{w: w}
	bw.buf = append(bw.buf, Magic...)
	bw.buf = append(bw.buf, Version)
	return bw
}

// Resume continues a dump on w after pieces that held counts.
func Resume(w io.Writer, counts Counts) *Writer {
	return &Writer{w: w, Counts: counts}
}

func (w *Writer) record(kind byte, enc func(e *proto.Encoder)) error {
	if w.err != nil {
		return w.err
	}
	var e proto.Encoder
	enc(&e)
	w.buf = appendRecord(w.buf, kind, e.B)
	w.Records++
	if len(w.buf) >= flushAt {
		return w.Flush()
	}
	return nil
}

// Flush writes out what is buffered.
func (w *Writer) Flush() error {
	if w.err == nil && len(w.buf) > 0 {
		_, w.err = w.w.Write(w.buf)
		w.buf = w.buf[:0]
	}
	return w.err
}

// Header writes the header, the first record.
func (w *Writer) Header(h *Header) error {
	return w.record(KindHeader, h.encode)
}

// Dir writes a directory and its entries.
func (w *Writer) Dir(d *Dir) error {
	w.Dirs++
	first := d.Entries[:min(len(d.Entries), entriesPerRec)]
	err := w.record(KindDir, func(e *proto.Encoder) {
		d.Status.encode(e)
		e.U32(d.Parent)
		e.Bool(d.Changed)
		e.Bytes(d.ACL)
		encodeEntries(e, first)
	})
	for rest := d.Entries[len(first):]; err == nil && len(rest) > 0; {
		part := rest[:min(len(rest), entriesPerRec)]
		rest = rest[len(part):]
		err = w.record(KindEntries, func(e *proto.Encoder) {
			e.U32(d.Vnode)
			encodeEntries(e, part)
		})
	}
	return err
}

// File starts a file; Extent and EndFile follow.
func (w *Writer) File(f *File) error {
	w.Files++
	return w.record(KindFile, func(e *proto.Encoder) {
		f.Status.encode(e)
		e.U32(f.Nlink)
		e.I64(f.Size)
		encodeNames(e, f.Names)
		e.U32(uint32(len(f.Map)))
		for _, sp := range f.Map {
			e.I64(sp.Off)
			e.I64(sp.Len)
		}
	})
}

// Extent writes data of the current file at off, in pieces of at most
// MaxExtent bytes. The data goes to the underlying writer as it is, not
// through the buffer: one copy less for the bulk of a dump.
func (w *Writer) Extent(off int64, data []byte) error {
	for len(data) > 0 {
		part := data[:min(len(data), MaxExtent)]
		data = data[len(part):]
		w.DataBytes += uint64(len(part))
		if err := w.extent(off, part); err != nil {
			return err
		}
		off += int64(len(part))
	}
	return nil
}

// ExtentFrom writes n bytes (at most MaxExtent) of the current file at
// off as one X record, their bytes put in place by fill: straight into the
// underlying writer's space when it is a Reserver, else into a buffer of
// the Writer's. An error of fill is returned and ends the dump.
func (w *Writer) ExtentFrom(off int64, n int, fill func(p []byte) error) error {
	if w.err != nil {
		return w.err
	}
	if n <= 0 || n > MaxExtent {
		w.err = fmt.Errorf("backup: an extent of %d bytes (1 to %d)", n, MaxExtent)
		return w.err
	}
	crc := w.extentHeader(off, n)
	var p []byte
	if r, ok := w.w.(Reserver); ok {
		if err := w.Flush(); err != nil { // the header goes before the space
			return err
		}
		p = r.Reserve(n)
	} else {
		if cap(w.data) < n {
			w.data = make([]byte, MaxExtent)
		}
		p = w.data[:n]
	}
	if err := fill(p); err != nil {
		w.err = err
		return err
	}
	w.DataBytes += uint64(n)
	return w.extentData(crc, p)
}

// extent frames one X record around data without copying it.
func (w *Writer) extent(off int64, data []byte) error {
	if w.err != nil {
		return w.err
	}
	return w.extentData(w.extentHeader(off, len(data)), data)
}

// extentHeader buffers the head of an X record of n bytes at off and
// returns its CRC-32C so far.
func (w *Writer) extentHeader(off int64, n int) uint32 {
	start := len(w.buf)
	w.buf = append(w.buf, KindExtent)
	w.buf = binary.LittleEndian.AppendUint32(w.buf, uint32(8+4+n))
	w.buf = binary.LittleEndian.AppendUint64(w.buf, uint64(off))
	w.buf = binary.LittleEndian.AppendUint32(w.buf, uint32(n))
	w.Records++
	return crc32.Checksum(w.buf[start:], crcTable)
}

// extentData writes an X record's data after its head and buffers its
// CRC-32C (crc: of the head).
func (w *Writer) extentData(crc uint32, data []byte) error {
	crc = crc32.Update(crc, crcTable, data)
	if err := w.Flush(); err != nil {
		return err
	}
	if _, w.err = w.w.Write(data); w.err != nil {
		return w.err
	}
	w.buf = binary.LittleEndian.AppendUint32(w.buf, crc)
	return nil
}

// EndFile ends the current file, which held bytes of data.
func (w *Writer) EndFile(vnode uint32, bytes int64) error {
	return w.record(KindEndFile, func(e *proto.Encoder) {
		e.U32(vnode)
		e.I64(bytes)
	})
}

// Symlink writes a symbolic link.
func (w *Writer) Symlink(s *Symlink) error {
	w.Symlinks++
	return w.record(KindSymlink, func(e *proto.Encoder) {
		s.Status.encode(e)
		e.String(s.Target)
		encodeNames(e, s.Names)
	})
}

// Names records the names of principals the ACLs name, after the
// directories.
func (w *Writer) Names(n Names) error {
	ids := make([]int32, 0, len(n))
	for id := range n {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return w.record(KindNames, func(e *proto.Encoder) {
		e.U32(uint32(len(ids)))
		for _, id := range ids {
			e.I32(id)
			e.String(n[id])
		}
	})
}

// Removed records an object of the base that is gone.
func (w *Writer) Removed(vnode, unique uint32) error {
	w.Counts.Removed++
	return w.record(KindRemoved, func(e *proto.Encoder) {
		e.U32(vnode)
		e.U32(unique)
	})
}

// Trailer ends the dump and flushes it.
func (w *Writer) Trailer() error {
	c := w.Counts
	if err := w.record(KindTrailer, c.encode); err != nil {
		return err
	}
	return w.Flush()
}
