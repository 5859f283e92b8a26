package volume

import (
	"fmt"
	"io"

	"github.com/coda-fs/coda/server/proto"
	"github.com/coda-fs/coda/server/store"
)

// SetAttr changes mode, owner, size or mtime. A truncation that shrinks a
// file writes a new container holding the kept prefix (containers are
// immutable, so clones and open fetches keep their view).
func (v *Volume) SetAttr(c Cred, a proto.SetAttr) (proto.Attr, *Change, error) {
	var newCt store.ContainerID
	var newBlocks int64
	if a.Mask&proto.SetSize != 0 {
		n, err := v.object(a.FID)
		if err != nil {
			return proto.Attr{}, nil, err
		}
		if n.Type != proto.TypeFile {
			if n.Type == proto.TypeDir {
				return proto.Attr{}, nil, proto.ErrIsDir
			}
			return proto.Attr{}, nil, proto.ErrInvalid
		}
		if err := check(c, n, permW); err != nil {
			return proto.Attr{}, nil, err
		}
		if a.Size < n.Size && a.Size > 0 && n.Container != 0 {
			newCt, newBlocks, err = v.copyPrefix(store.ContainerID(n.Container), a.Size)
			if err != nil {
				return proto.Attr{}, nil, err
			}
		}
	}
	var out proto.Attr
	ch, err := v.update(a.StoreID, func(t *txn) error {
		n, err := t.getFID(a.FID)
		if err != nil {
			return err
		}
		if applied(n, a.StoreID) {
			out = n.attr(a.FID)
			return errApplied
		}
		if err := t.setattr(c, n, a, newCt, newBlocks); err != nil {
			return err
		}
		t.touch(a.FID.Vnode, n)
		out = n.attr(a.FID)
		return nil
	})
	if (err != nil || ch.Duplicate) && newCt != 0 {
		v.set.db.RemoveContainer(newCt)
	}
	return out, ch, err
}

func (t *txn) setattr(c Cred, n *vnode, a proto.SetAttr, newCt store.ContainerID, newBlocks int64) error {
	owner := c.root() || uint32(c.UID) == n.UID
	if a.Mask&proto.SetMode != 0 {
		if !owner {
			return proto.ErrPerm
		}
		n.Mode = a.Mode & 07777
	}
	if a.Mask&(proto.SetUID|proto.SetGID) != 0 {
		if a.Mask&proto.SetUID != 0 && a.UID != n.UID && !c.root() {
			return proto.ErrPerm
		}
		if a.Mask&proto.SetGID != 0 && a.GID != n.GID && !owner {
			return proto.ErrPerm
		}
		if a.Mask&proto.SetUID != 0 {
			n.UID = a.UID
		}
		if a.Mask&proto.SetGID != 0 {
			n.GID = a.GID
		}
		if !c.root() {
			n.Mode &^= 06000
		}
	}
	if a.Mask&proto.SetSize != 0 && a.Size != n.Size {
		if n.Type != proto.TypeFile {
			return proto.ErrInvalid
		}
		if a.Size < n.Size && n.inline() {
			if err := t.shrinkInline(n, a.FID.Vnode, a.Size); err != nil {
				return err
			}
		} else if a.Size < n.Size {
			if n.Container != 0 {
				t.ch.freed = append(t.ch.freed, store.ContainerID(n.Container))
			}
			t.ch.byteDelta += newBlocks - n.Blocks
			n.Container, n.Blocks = uint64(newCt), newBlocks
		}
		n.Size = a.Size
		n.Mtime = t.now
	}
	if a.Mask&proto.SetMtime != 0 {
		if !owner && !may(c, n, permW) {
			return proto.ErrPerm
		}
		n.Mtime = a.Mtime
	}
	n.Ctime = t.now
	return nil
}

// copyPrefix writes a new container holding the first size bytes of ct,
// skipping all-zero blocks so holes stay holes.
func (v *Volume) copyPrefix(id store.ContainerID, size int64) (store.ContainerID, int64, error) {
	src, err := v.set.db.OpenContainer(id)
	if err != nil {
		return 0, 0, err
	}
	defer src.Close()
	w, err := v.set.db.NewContainer()
	if err != nil {
		return 0, 0, err
	}
	buf := make([]byte, 1<<20)
	var blocks int64
	for off := int64(0); off < size; {
		n := int64(len(buf))
		if size-off < n {
			n = size - off
		}
		if got, err := src.ReadAtLogical(buf[:n], off, size); int64(got) < n || (err != nil && err != io.EOF) {
			w.Abort()
			return 0, 0, fmt.Errorf("truncate: read container: %w", err)
		}
		for b := int64(0); b < n; b += 4096 {
			e := b + 4096
			if e > n {
				e = n
			}
			if !allZero(buf[b:e]) {
				if _, err := w.WriteAt(buf[b:e], off+b); err != nil {
					w.Abort()
					return 0, 0, err
				}
				blocks += 4096
			}
		}
		off += n
	}
	if err := w.Finish(size); err != nil {
		w.Abort()
		return 0, 0, err
	}
	nid, err := w.Commit()
	return nid, blocks, err
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// StoreArgs replace a file's content with a committed container.
type StoreArgs struct {
	FID       proto.FID
	Container store.ContainerID // 0 for an empty file
	Size      int64
	Blocks    int64
	Mtime     int64
	StoreID   proto.StoreID
	// Inline, when not nil, is the whole content of a small file
	// (len ≤ InlineMax), stored in the metadata batch instead of a
	// container; Container must then be 0.
	Inline []byte
}

// Store swaps in new content. The container must already be durable
// (ContainerWriter.Commit); on error the caller removes it.
func (v *Volume) Store(c Cred, a StoreArgs) (proto.Attr, *Change, error) {
	var out proto.Attr
	ch, err := v.update(a.StoreID, func(t *txn) error {
		n, err := t.getFID(a.FID)
		if err != nil {
			return err
		}
		switch n.Type {
		case proto.TypeDir:
			return proto.ErrIsDir
		case proto.TypeSymlink:
			return proto.ErrInvalid
		}
		if applied(n, a.StoreID) {
			out = n.attr(a.FID)
			return errApplied
		}
		// The owner may always store: open(O_CREAT|O_WRONLY, 0444) followed
		// by writes is valid POSIX (venus checked the open itself).
		if uint32(c.UID) != n.UID {
			if err := check(c, n, permW); err != nil {
				return err
			}
		}
		if n.Container != 0 {
			t.ch.freed = append(t.ch.freed, store.ContainerID(n.Container))
		}
		key := inlineKey(v.hdr.ID, a.FID.Vnode)
		switch {
		case a.Inline != nil:
			t.b.Set(key, a.Inline)
			n.Flags |= flagInline
		case n.inline():
			t.b.Delete(key)
			n.Flags &^= flagInline
		}
		t.ch.byteDelta += a.Blocks - n.Blocks
		n.Container, n.Size, n.Blocks = uint64(a.Container), a.Size, a.Blocks
		n.Mtime, n.Ctime = a.Mtime, t.now
		if n.Mtime == 0 {
			n.Mtime = t.now
		}
		t.touch(a.FID.Vnode, n)
		out = n.attr(a.FID)
		return nil
	})
	return out, ch, err
}

// shrinkInline cuts a file's inline data to size bytes.
func (t *txn) shrinkInline(n *vnode, vn uint32, size int64) error {
	key := inlineKey(t.v.hdr.ID, vn)
	data, err := t.v.set.db.Get(key)
	if err != nil {
		return fmt.Errorf("inline data of vnode %d: %w", vn, err)
	}
	if int64(len(data)) > size {
		data = data[:size]
	}
	t.b.Set(key, data)
	blocks := (int64(len(data)) + 4095) &^ 4095
	t.ch.byteDelta += blocks - n.Blocks
	n.Blocks = blocks
	return nil
}
