package backup

import (
	"fmt"
	"strconv"
)

// A sparse file goes into the tar archive in the PAX 1.0 sparse format
// that GNU tar and bsdtar restore with their holes: a PAX header naming
// the file (GNU.sparse.name) and its real size, then an entry whose data
// starts with the map of data spans ("N\n" then "offset\nlength\n" per
// span, padded to a block) followed by the spans' data. archive/tar does
// not write it, so these blocks are written here, between its entries.

const block = 512

// sparseHeader writes the headers and the map of file f, named name,
// whose spans hold data bytes; its data follows raw, then endFile pads.
func (t *tarrer) sparseHeader(f *File, name string, data int64) error {
	if err := t.tw.Flush(); err != nil {
		return err
	}
	var m []byte
	m = append(strconv.AppendInt(m, int64(len(f.Map)), 10), '\n')
	for _, sp := range f.Map {
		m = append(strconv.AppendInt(m, sp.Off, 10), '\n')
		m = append(strconv.AppendInt(m, sp.Len, 10), '\n')
	}
	m = append(m, make([]byte, (block-len(m)%block)%block)...)
	size := int64(len(m)) + data
	secs, nsec := f.Mtime/1e9, f.Mtime%1e9
	if nsec < 0 {
		secs, nsec = secs-1, nsec+1e9
	}
	var recs []byte
	for _, kv := range [][2]string{
		{"GNU.sparse.major", "1"}, {"GNU.sparse.minor", "0"}, {"GNU.sparse.name", name},
		{"GNU.sparse.realsize", strconv.FormatInt(f.Size, 10)}, {"size", strconv.FormatInt(size, 10)},
		{"uid", strconv.FormatUint(uint64(f.UID), 10)}, {"gid", strconv.FormatUint(uint64(f.GID), 10)},
		{"mtime", fmt.Sprintf("%d.%09d", secs, nsec)},
	} {
		recs = append(recs, paxRecord(kv[0], kv[1])...)
	}
	short := fmt.Sprintf("GNUSparseFile.0/%d", f.Vnode)
	hdrs := ustar(fmt.Sprintf("PaxHeaders.0/%d", f.Vnode), 'x', int64(len(recs)), 0o644, 0, 0, secs)
	hdrs = append(hdrs, recs...)
	hdrs = append(hdrs, make([]byte, (block-len(recs)%block)%block)...)
	hdrs = append(hdrs, ustar(short, '0', size, int64(f.Mode&0o7777), int64(f.UID), int64(f.GID), secs)...)
	hdrs = append(hdrs, m...)
	t.sparseLen = data
	_, err := t.raw.Write(hdrs)
	return err
}

// paxRecord formats "LEN KEY=VALUE\n", LEN counting the whole record.
func paxRecord(k, v string) []byte {
	size := len(k) + len(v) + 3
	size += len(strconv.Itoa(size))
	rec := strconv.Itoa(size) + " " + k + "=" + v + "\n"
	if len(rec) != size { // the length's digits grew it
		rec = strconv.Itoa(len(rec)) + " " + k + "=" + v + "\n"
	}
	return []byte(rec)
}

// ustar returns a header block; numbers that do not fit its octal fields
// are left 0 (the PAX records before it carry them).
func ustar(name string, typ byte, size, mode, uid, gid, mtime int64) []byte {
	b := make([]byte, block)
	copy(b[0:100], name)
	octal(b[100:108], mode)
	octal(b[108:116], uid)
	octal(b[116:124], gid)
	octal(b[124:136], size)
	octal(b[136:148], mtime)
	b[156] = typ
	copy(b[257:265], "ustar\x0000")
	copy(b[148:156], "        ")
	sum := 0
	for _, c := range b {
		sum += int(c)
	}
	copy(b[148:156], fmt.Sprintf("%06o\x00 ", sum))
	return b
}

// octal writes v as a NUL-terminated octal field, or zeros if it does not
// fit.
func octal(f []byte, v int64) {
	s := strconv.FormatInt(v, 8)
	if v < 0 || len(s) > len(f)-1 {
		s = "0"
	}
	copy(f, fmt.Sprintf("%0*s\x00", len(f)-1, s))
}
