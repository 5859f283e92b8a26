package volume

import (
	"io"

	"github.com/cespare/xxhash/v2"

	"github.com/coda-fs/coda/server/proto"
	"github.com/coda-fs/coda/server/store"
)

// Summaries returns up to max vnodes of the replica after vnode number
// after, in vnode order, each with a checksum of its content (a file's
// bytes; a directory's entries, in name order, and ACL; a symlink's
// target), and whether more follow. Two replicas that are in step give
// identical summaries: volutil info -all prints them for diff. With quick
// the checksums are left out.
func (v *Volume) Summaries(after uint32, max int, quick bool) ([]proto.VnodeSummary, bool, error) {
	id := v.hdr.ID
	_, hi := vnodeSpan(id)
	it, err := v.set.db.NewIter(vnodeKey(id, after+1), hi)
	if err != nil {
		return nil, false, err
	}
	defer it.Close()
	var out []proto.VnodeSummary
	for it.First(); it.Valid(); it.Next() {
		if len(out) == max {
			return out, true, nil
		}
		vn := keyVnode(it.Key())
		n, err := decodeVnode(it.Value())
		if err != nil {
			return nil, false, err
		}
		var sum uint64
		if !quick {
			if sum, err = v.contentSum(vn, n); err != nil {
				return nil, false, err
			}
		}
		out = append(out, proto.VnodeSummary{FID: proto.FID{Volume: id, Vnode: vn, Unique: n.Unique},
			Type: n.Type, Mode: n.Mode, UID: n.UID, GID: n.GID, Nlink: n.Nlink, Size: n.Size, VV: n.VV, Sum: sum})
	}
	return out, false, nil
}

// contentSum is the xxhash64 of what vnode vn holds.
func (v *Volume) contentSum(vn uint32, n *vnode) (uint64, error) {
	h := xxhash.New()
	switch {
	case n.Type == proto.TypeSymlink:
		h.WriteString(n.Target)
	case n.Type == proto.TypeDir:
		h.Write(n.ACL)
		p := entryPrefix(v.hdr.ID, vn)
		it, err := v.set.db.NewIter(p, prefixEnd(p))
		if err != nil {
			return 0, err
		}
		for it.First(); it.Valid(); it.Next() {
			h.Write(it.Key()[len(p):])
			h.Write([]byte{0})
			h.Write(it.Value())
		}
		it.Close()
	case n.Flags&flagInline != 0:
		data, err := v.readInline(vn, n)
		if err != nil && n.Size > 0 {
			return 0, err
		}
		h.Write(data)
		writeZeros(h, n.Size-int64(len(data))) // the rest of an inline file reads as zeros
	case n.Container != 0:
		c, err := v.set.db.OpenContainer(store.ContainerID(n.Container))
		if err != nil {
			return 0, err
		}
		defer c.Close()
		if _, err := io.Copy(h, c.NewReader(n.Size)); err != nil {
			return 0, err
		}
	}
	return h.Sum64(), nil
}

var zeros [4096]byte

func writeZeros(w io.Writer, n int64) {
	for n > 0 {
		k := min(n, int64(len(zeros)))
		w.Write(zeros[:k])
		n -= k
	}
}
