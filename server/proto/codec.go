package proto

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Message is a request or reply body. Encode appends the message to e;
// Decode reads it from d, recording the first error in d (so a message's
// Decode is a straight list of reads). Messages are hand-encoded: no
// reflection, every length checked before anything is allocated.
type Message interface {
	Encode(e *Encoder)
	Decode(d *Decoder)
}

// Encoder appends little-endian values to a byte slice.
type Encoder struct{ B []byte }

func (e *Encoder) U8(v uint8)   { e.B = append(e.B, v) }
func (e *Encoder) U16(v uint16) { e.B = binary.LittleEndian.AppendUint16(e.B, v) }
func (e *Encoder) U32(v uint32) { e.B = binary.LittleEndian.AppendUint32(e.B, v) }
func (e *Encoder) U64(v uint64) { e.B = binary.LittleEndian.AppendUint64(e.B, v) }
func (e *Encoder) I64(v int64)  { e.U64(uint64(v)) }
func (e *Encoder) I32(v int32)  { e.U32(uint32(v)) }
func (e *Encoder) Bool(v bool) {
	if v {
		e.U8(1)
	} else {
		e.U8(0)
	}
}

// Bytes appends a length-prefixed byte string.
func (e *Encoder) Bytes(b []byte) {
	e.U32(uint32(len(b)))
	e.B = append(e.B, b...)
}

// String appends a length-prefixed string.
func (e *Encoder) String(s string) {
	e.U32(uint32(len(s)))
	e.B = append(e.B, s...)
}

func (e *Encoder) FID(f FID) {
	e.U32(f.Volume)
	e.U32(f.Vnode)
	e.U32(f.Unique)
}

func (e *Encoder) VV(v VV) {
	for _, c := range v.Counters {
		e.U32(c)
	}
	e.StoreID(v.Store)
}

func (e *Encoder) StoreID(s StoreID) {
	e.U64(s.Client)
	e.U64(s.Seq)
}

// Replicas appends a counted list of replicas.
func (e *Encoder) Replicas(rs []Replica) {
	e.U32(uint32(len(rs)))
	for _, r := range rs {
		e.U32(r.ServerID)
		e.String(r.Addr)
		e.U32(r.ReplicaID)
	}
}

func (e *Encoder) Attr(a Attr) {
	e.FID(a.FID)
	e.U8(uint8(a.Type))
	e.U32(a.Mode)
	e.U32(a.UID)
	e.U32(a.GID)
	e.U32(a.Nlink)
	e.I64(a.Size)
	e.I64(a.Blocks)
	e.I64(a.Mtime)
	e.I64(a.Ctime)
	e.VV(a.VV)
	e.U8(a.Rights)
	e.U8(a.AnyRights)
	e.U8(a.Flags)
}

// ErrShort is recorded when a message ends before its fields do.
var ErrShort = errors.New("message truncated")

// Decoder reads little-endian values; the first error sticks and every
// later read returns zero values.
type Decoder struct {
	B   []byte
	Err error
}

// NewDecoder returns a decoder over b.
func NewDecoder(b []byte) *Decoder { return &Decoder{B: b} }

func (d *Decoder) take(n int) []byte {
	if d.Err != nil {
		return nil
	}
	if n < 0 || n > len(d.B) {
		d.Err = ErrShort
		return nil
	}
	b := d.B[:n]
	d.B = d.B[n:]
	return b
}

// Fail records err unless an error is already recorded.
func (d *Decoder) Fail(err error) {
	if d.Err == nil {
		d.Err = err
	}
}

func (d *Decoder) U8() uint8 {
	if b := d.take(1); b != nil {
		return b[0]
	}
	return 0
}

func (d *Decoder) U16() uint16 {
	if b := d.take(2); b != nil {
		return binary.LittleEndian.Uint16(b)
	}
	return 0
}

func (d *Decoder) U32() uint32 {
	if b := d.take(4); b != nil {
		return binary.LittleEndian.Uint32(b)
	}
	return 0
}

func (d *Decoder) U64() uint64 {
	if b := d.take(8); b != nil {
		return binary.LittleEndian.Uint64(b)
	}
	return 0
}

func (d *Decoder) I64() int64 { return int64(d.U64()) }
func (d *Decoder) I32() int32 { return int32(d.U32()) }

func (d *Decoder) Bool() bool {
	v := d.U8()
	if v > 1 {
		d.Fail(fmt.Errorf("bad bool %d", v))
	}
	return v == 1
}

// Bytes reads a length-prefixed byte string of at most max bytes. The
// result aliases the decoder's buffer.
func (d *Decoder) Bytes(max int) []byte {
	n := d.U32()
	if d.Err != nil {
		return nil
	}
	if int64(n) > int64(max) {
		d.Fail(fmt.Errorf("field of %d bytes exceeds limit %d", n, max))
		return nil
	}
	return d.take(int(n))
}

// String reads a length-prefixed string of at most max bytes.
func (d *Decoder) String(max int) string { return string(d.Bytes(max)) }

// Count reads a count of items each at least minSize bytes long and checks
// it against max and against the bytes left, so that a hostile count never
// sizes an allocation.
func (d *Decoder) Count(max, minSize int) int {
	n := d.U32()
	if d.Err != nil {
		return 0
	}
	if int64(n) > int64(max) || (minSize > 0 && int64(n)*int64(minSize) > int64(len(d.B))) {
		d.Fail(fmt.Errorf("count %d exceeds limit or message size", n))
		return 0
	}
	return int(n)
}

func (d *Decoder) FID() FID {
	return FID{Volume: d.U32(), Vnode: d.U32(), Unique: d.U32()}
}

func (d *Decoder) VV() VV {
	var v VV
	for i := range v.Counters {
		v.Counters[i] = d.U32()
	}
	v.Store = d.StoreID()
	return v
}

func (d *Decoder) StoreID() StoreID {
	return StoreID{Client: d.U64(), Seq: d.U64()}
}

// Replicas reads a counted list of at most MaxReplicas replicas.
func (d *Decoder) Replicas() []Replica {
	n := d.Count(MaxReplicas, 12)
	rs := make([]Replica, n)
	for i := range rs {
		rs[i] = Replica{ServerID: d.U32(), Addr: d.String(MaxName), ReplicaID: d.U32()}
	}
	return rs
}

func (d *Decoder) Attr() Attr {
	a := d.AttrBeforeFlags()
	a.Flags = d.U8()
	return a
}

// AttrBeforeFlags reads an Attr as encoded before it had Flags (venus
// reads its older cache records with it).
func (d *Decoder) AttrBeforeFlags() Attr {
	var a Attr
	a.FID = d.FID()
	a.Type = ObjType(d.U8())
	if a.Type > TypeSymlink {
		d.Fail(fmt.Errorf("bad object type %d", a.Type))
	}
	a.Mode = d.U32()
	a.UID = d.U32()
	a.GID = d.U32()
	a.Nlink = d.U32()
	a.Size = d.I64()
	a.Blocks = d.I64()
	a.Mtime = d.I64()
	a.Ctime = d.I64()
	a.VV = d.VV()
	a.Rights = d.U8()
	a.AnyRights = d.U8()
	return a
}

// DirEntries writes a list of directory entries: a count, then each
// entry's name, FID and type.
func (e *Encoder) DirEntries(list []DirEntry) {
	e.U32(uint32(len(list)))
	for _, de := range list {
		e.String(de.Name)
		e.FID(de.FID)
		e.U8(uint8(de.Type))
	}
}

// DirEntries reads what Encoder.DirEntries wrote, at most max entries; an
// empty list reads as nil.
func (d *Decoder) DirEntries(max int) []DirEntry {
	n := d.Count(max, 4+1+12+1)
	if n == 0 {
		return nil
	}
	list := make([]DirEntry, n)
	for i := range list {
		list[i] = DirEntry{Name: d.Name(), FID: d.FID(), Type: ObjType(d.U8())}
	}
	return list
}

// Name reads a directory entry name and checks it: non-empty, at most
// MaxName bytes, no '/' or NUL, not "." or "..".
func (d *Decoder) Name() string {
	s := d.String(MaxName)
	if d.Err == nil {
		if err := CheckName(s); err != nil {
			d.Fail(err)
		}
	}
	return s
}

// CheckName validates a directory entry name.
func CheckName(s string) error {
	if s == "" || s == "." || s == ".." {
		return Errorf(CodeInvalid, fmt.Sprintf("invalid name %q", s))
	}
	if len(s) > MaxName {
		return ErrNameTooLong
	}
	for i := 0; i < len(s); i++ {
		if s[i] == '/' || s[i] == 0 {
			return Errorf(CodeInvalid, fmt.Sprintf("invalid name %q", s))
		}
	}
	return nil
}

// Done checks that the whole buffer was consumed.
func (d *Decoder) Done() error {
	if d.Err == nil && len(d.B) != 0 {
		d.Err = fmt.Errorf("%d trailing bytes", len(d.B))
	}
	return d.Err
}

// Marshal encodes m into a new byte slice.
func Marshal(m Message) []byte {
	var e Encoder
	m.Encode(&e)
	return e.B
}

// Unmarshal decodes b into m, requiring that every byte is consumed.
func Unmarshal(b []byte, m Message) error {
	d := NewDecoder(b)
	m.Decode(d)
	return d.Done()
}
