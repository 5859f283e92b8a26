package backup

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"strings"

	"github.com/klauspost/compress/zstd"

	"github.com/coda-fs/coda/server/proto"
)

// ErrCorrupt is wrapped by every error about a dump's bytes (as opposed
// to errors reading them).
var ErrCorrupt = errors.New("corrupt dump")

var zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}

// Reader reads a dump's records in order, checking each record's CRC and
// the stream's structure: Next returns *Header first, then *Dir (with
// every entry), then *File followed by its *Extent records and an
// *EndFile, *Symlink and *Removed records, then *Trailer, and io.EOF
// only after a trailer whose counts match and nothing following it.
type Reader struct {
	r    *bufio.Reader
	zr   *zstd.Decoder
	off  int64 // bytes of the (uncompressed) stream consumed
	recs uint64

	counts  Counts
	header  *Header
	pending *rawRecord // read ahead while gathering a directory's entries
	done    bool

	// the current file: its vnode, its map, the span being filled and
	// the bytes of it filled, the bytes its extents held
	inFile   bool
	fileVn   uint32
	fileMap  []Span
	span     int
	spanDone int64
	fileData int64
	phase    int // 0: directories; 1: files, symlinks, removed
	chain    bool
}

type rawRecord struct {
	kind byte
	body []byte
	at   int64 // the record's offset in the stream
}

// NewChainReader reads dumps that follow each other in r (a full dump and
// its incrementals, as volutil restore reads them): after each trailer
// Next returns io.EOF, and NextDump goes on to the next dump.
func NewChainReader(r io.Reader) (*Reader, error) {
	rd, err := NewReader(r)
	if rd != nil {
		rd.chain = true
	}
	return rd, err
}

// NextDump starts the next dump of a chain; io.EOF when the stream ends.
func (rd *Reader) NextDump() error {
	if !rd.done {
		return fmt.Errorf("backup: NextDump before the end of a dump")
	}
	if _, err := rd.r.Peek(1); err == io.EOF {
		return io.EOF
	}
	magic := make([]byte, len(Magic)+1)
	at := rd.off
	if n, err := io.ReadFull(rd.r, magic); err != nil {
		return rd.truncated(at, n, err)
	}
	if string(magic[:len(Magic)]) != Magic || magic[len(Magic)] != Version {
		return rd.corrupt(at, "what follows a dump is not a coda dump (version %d)", Version)
	}
	rd.off += int64(len(magic))
	*rd = Reader{r: rd.r, zr: rd.zr, off: rd.off, chain: true}
	return nil
}

// NewReader starts reading a dump from r (zstd-compressed or not).
func NewReader(r io.Reader) (*Reader, error) {
	br := bufio.NewReaderSize(r, 1<<20)
	rd := &Reader{}
	if head, _ := br.Peek(4); bytes.Equal(head, zstdMagic) {
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, err
		}
		rd.zr = zr
		br = bufio.NewReaderSize(zr, 1<<20)
	}
	rd.r = br
	magic := make([]byte, len(Magic)+1)
	if _, err := io.ReadFull(br, magic); err != nil {
		return nil, rd.corrupt(0, "not a coda dump: %d bytes only", len(bytes.TrimRight(magic, "\x00")))
	}
	if string(magic[:len(Magic)]) != Magic {
		return nil, rd.corrupt(0, "not a coda dump (it starts with %q)", magic[:len(Magic)])
	}
	if magic[len(Magic)] != Version {
		return nil, rd.corrupt(0, "dump format version %d; this coda reads version %d", magic[len(Magic)], Version)
	}
	rd.off = int64(len(magic))
	return rd, nil
}

// Close releases the decompressor.
func (rd *Reader) Close() {
	if rd.zr != nil {
		rd.zr.Close()
	}
}

// Header returns the dump's header once Next has returned it.
func (rd *Reader) Header() *Header { return rd.header }

// Offset returns the bytes of the (uncompressed) stream read so far.
func (rd *Reader) Offset() int64 { return rd.off }

func (rd *Reader) corrupt(at int64, format string, args ...any) error {
	return fmt.Errorf("%w at byte %d (record %d): %s", ErrCorrupt, at, rd.recs, fmt.Sprintf(format, args...))
}

// raw reads one framed record.
func (rd *Reader) raw() (*rawRecord, error) {
	if rd.pending != nil {
		r := rd.pending
		rd.pending = nil
		return r, nil
	}
	at := rd.off
	var head [5]byte
	n, err := io.ReadFull(rd.r, head[:])
	if err == io.EOF {
		return nil, io.EOF
	}
	if err != nil {
		return nil, rd.truncated(at, n, err)
	}
	size := binary.LittleEndian.Uint32(head[1:])
	if size > MaxRecord {
		return nil, rd.corrupt(at, "a %s record of %d bytes (the most is %d)", kindName(head[0]), size, MaxRecord)
	}
	buf := make([]byte, 5+int(size)+4)
	copy(buf, head[:])
	if n, err := io.ReadFull(rd.r, buf[5:]); err != nil {
		return nil, rd.truncated(at, 5+n, err)
	}
	body := buf[5 : 5+size]
	if crc32.Checksum(buf[:5+size], crcTable) != binary.LittleEndian.Uint32(buf[5+size:]) {
		return nil, rd.corrupt(at, "the %s record's checksum does not match", kindName(head[0]))
	}
	rd.off += int64(len(buf))
	rd.recs++
	return &rawRecord{kind: head[0], body: body, at: at}, nil
}

func (rd *Reader) truncated(at int64, got int, err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return rd.corrupt(at+int64(got), "truncated in the middle of a record")
	}
	return fmt.Errorf("read the dump at byte %d: %w", at+int64(got), err)
}

// Next returns the next record: *Header, *Dir, Names, *File, *Extent,
// *EndFile, *Symlink, *Removed or *Trailer; io.EOF after the trailer.
func (rd *Reader) Next() (any, error) {
	if rd.done && rd.chain {
		return nil, io.EOF
	}
	if rd.done {
		if _, err := rd.raw(); err != io.EOF {
			if err == nil {
				return nil, rd.corrupt(rd.off, "data after the trailer")
			}
			return nil, err
		}
		return nil, io.EOF
	}
	r, err := rd.raw()
	if err == io.EOF {
		return nil, rd.corrupt(rd.off, "truncated: the stream ends without a trailer")
	}
	if err != nil {
		return nil, err
	}
	rec, err := rd.decode(r)
	if err != nil {
		return nil, err
	}
	if err := rd.check(r, rec); err != nil {
		return nil, err
	}
	return rec, nil
}

func (rd *Reader) decode(r *rawRecord) (any, error) {
	d := proto.NewDecoder(r.body)
	var rec any
	switch r.kind {
	case KindHeader:
		h := &Header{}
		h.decode(d)
		rec = h
	case KindDir:
		dir := &Dir{}
		dir.Status.decode(d)
		dir.Parent, dir.Changed = d.U32(), d.Bool()
		if acl := d.Bytes(64 << 10); len(acl) > 0 {
			dir.ACL = append([]byte(nil), acl...)
		}
		dir.Entries = decodeEntries(d)
		if err := d.Done(); err != nil {
			return nil, rd.corrupt(r.at, "directory record: %v", err)
		}
		if err := rd.moreEntries(dir); err != nil {
			return nil, err
		}
		return dir, nil
	case KindEntries:
		return nil, rd.corrupt(r.at, "directory entries without their directory")
	case KindFile:
		f := &File{}
		f.Status.decode(d)
		f.Nlink, f.Size = d.U32(), d.I64()
		f.Names = decodeNames(d)
		n := d.Count(MaxSpans, 16)
		f.Map = make([]Span, 0, n)
		for range n {
			f.Map = append(f.Map, Span{Off: d.I64(), Len: d.I64()})
		}
		rec = f
	case KindExtent:
		x := &Extent{Offset: d.I64()}
		x.Data = d.Bytes(MaxExtent)
		rec = x
	case KindEndFile:
		rec = &EndFile{Vnode: d.U32(), Bytes: d.I64()}
	case KindSymlink:
		s := &Symlink{}
		s.Status.decode(d)
		s.Target = d.String(proto.MaxPath)
		s.Names = decodeNames(d)
		rec = s
	case KindRemoved:
		rec = &Removed{Vnode: d.U32(), Unique: d.U32()}
	case KindNames:
		n := d.Count(1<<16, 5)
		names := make(Names, n)
		for range n {
			id := d.I32()
			names[id] = d.String(proto.MaxName)
		}
		rec = names
	case KindTrailer:
		t := &Trailer{}
		t.decode(d)
		rec = t
	default:
		return nil, rd.corrupt(r.at, "a record of %s", kindName(r.kind))
	}
	if err := d.Done(); err != nil {
		return nil, rd.corrupt(r.at, "%s record: %v", kindName(r.kind), err)
	}
	return rec, nil
}

// moreEntries appends the E records that follow dir.
func (rd *Reader) moreEntries(dir *Dir) error {
	for {
		r, err := rd.raw()
		if err == io.EOF {
			return nil // Next reports the missing trailer
		}
		if err != nil {
			return err
		}
		if r.kind != KindEntries {
			rd.pending = r
			return nil
		}
		d := proto.NewDecoder(r.body)
		vn := d.U32()
		more := decodeEntries(d)
		if err := d.Done(); err != nil {
			return rd.corrupt(r.at, "directory entries record: %v", err)
		}
		if vn != dir.Vnode {
			return rd.corrupt(r.at, "entries of directory %d after directory %d", vn, dir.Vnode)
		}
		dir.Entries = append(dir.Entries, more...)
	}
}

// check enforces the stream's structure and counts what it holds.
func (rd *Reader) check(r *rawRecord, rec any) error {
	if rd.header == nil {
		if h, ok := rec.(*Header); ok {
			rd.header = h
			rd.counts.Records++
			return nil
		}
		return rd.corrupt(r.at, "a %s record before the header", kindName(r.kind))
	}
	if rd.inFile {
		switch x := rec.(type) {
		case *Extent:
			rd.counts.Records++
			if rd.span >= len(rd.fileMap) {
				return rd.corrupt(r.at, "file data of vnode %d beyond its map", rd.fileVn)
			}
			sp := rd.fileMap[rd.span]
			if x.Offset != sp.Off+rd.spanDone || int64(len(x.Data)) > sp.Len-rd.spanDone || len(x.Data) == 0 {
				return rd.corrupt(r.at, "file data [%d, +%d) of vnode %d does not follow its map (span [%d, +%d), %d filled)", x.Offset, len(x.Data), rd.fileVn, sp.Off, sp.Len, rd.spanDone)
			}
			if rd.spanDone += int64(len(x.Data)); rd.spanDone == sp.Len {
				rd.span, rd.spanDone = rd.span+1, 0
			}
			rd.fileData += int64(len(x.Data))
			rd.counts.DataBytes += uint64(len(x.Data))
			return nil
		case *EndFile:
			rd.counts.Records++
			if rd.span != len(rd.fileMap) {
				return rd.corrupt(r.at, "vnode %d ends before its data (%d of %d spans)", rd.fileVn, rd.span, len(rd.fileMap))
			}
			if x.Vnode != rd.fileVn || x.Bytes != rd.fileData {
				return rd.corrupt(r.at, "the end of vnode %d (%d bytes) does not match its data (vnode %d, %d bytes)", x.Vnode, x.Bytes, rd.fileVn, rd.fileData)
			}
			rd.inFile = false
			return nil
		}
		return rd.corrupt(r.at, "a %s record inside the data of vnode %d", kindName(r.kind), rd.fileVn)
	}
	rd.counts.Records++
	switch x := rec.(type) {
	case *Header:
		return rd.corrupt(r.at, "a second header")
	case *Dir:
		if rd.phase > 0 {
			return rd.corrupt(r.at, "directory %d after the files", x.Vnode)
		}
		rd.counts.Records += uint64((max(len(x.Entries), 1) - 1) / entriesPerRec)
		rd.counts.Dirs++
		for _, e := range x.Entries {
			if err := checkName(e.Name); err != nil {
				return rd.corrupt(r.at, "directory %d: %v", x.Vnode, err)
			}
		}
		return nil
	case *File:
		rd.phase = 1
		rd.counts.Files++
		if x.Size < 0 {
			return rd.corrupt(r.at, "vnode %d has size %d", x.Vnode, x.Size)
		}
		end := int64(0)
		for _, sp := range x.Map {
			if sp.Off < end || sp.Len <= 0 || sp.Off+sp.Len > x.Size || sp.Off+sp.Len < sp.Off {
				return rd.corrupt(r.at, "vnode %d: a data span [%d, +%d) out of order or beyond its size %d", x.Vnode, sp.Off, sp.Len, x.Size)
			}
			end = sp.Off + sp.Len
		}
		rd.inFile, rd.fileVn, rd.fileMap, rd.span, rd.spanDone, rd.fileData = true, x.Vnode, x.Map, 0, 0, 0
		return checkNames(rd, r, x.Vnode, x.Names)
	case *Symlink:
		rd.phase = 1
		rd.counts.Symlinks++
		return checkNames(rd, r, x.Vnode, x.Names)
	case *Removed:
		rd.phase = 1
		rd.counts.Removed++
		return nil
	case Names:
		if rd.phase > 0 {
			return rd.corrupt(r.at, "principal names after the files")
		}
		rd.phase = 1
		return nil
	case *Trailer:
		rd.counts.Records-- // the trailer counts the records before it
		if x.Counts != rd.counts {
			return rd.corrupt(r.at, "the trailer counts %+v; the dump holds %+v", x.Counts, rd.counts)
		}
		rd.done = true
		return nil
	}
	return rd.corrupt(r.at, "a %s record out of place", kindName(r.kind))
}

func checkNames(rd *Reader, r *rawRecord, vn uint32, names []Name) error {
	for _, n := range names {
		if err := checkName(n.Name); err != nil {
			return rd.corrupt(r.at, "vnode %d: %v", vn, err)
		}
	}
	return nil
}

// checkName refuses names that are not one path component.
func checkName(name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00") {
		return fmt.Errorf("bad name %q", name)
	}
	return nil
}
