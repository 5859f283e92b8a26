package venus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/coda-fs/coda/server/proto"
	"github.com/coda-fs/coda/server/rpc"
)

// storeIfDirty stores o's open container when it changed since it was
// last clean. Called with o.io held and o open.
func (v *Venus) storeIfDirty(ctx context.Context, c Caller, o *object) error {
	v.mu.Lock()
	of, clean, removed := o.of, o.contStat, o.removed
	pending := o.pending
	v.mu.Unlock()
	if of == nil || removed {
		return nil
	}
	cur, _, err := fstat(of.f)
	if err != nil {
		return err
	}
	if cur == clean && !pending {
		return nil
	}
	ext, err := rpc.FileExtents(of.f, cur.Size)
	if err != nil {
		return err
	}
	req := proto.Store{FID: o.fid, Size: cur.Size, Mtime: cur.Mtime, StoreID: v.nextStoreID()}
	start := time.Now()
	st, r, err := updateAs[proto.AttrReply](ctx, v, c, o.fid.Volume, proto.OpStore, &req, req.StoreID,
		&rpc.CallOpts{Upload: &rpc.Source{R: of.f, Size: cur.Size, Extents: ext}})
	if err != nil {
		return v.storeFailed(o, err)
	}
	if !st.local {
		v.noteTransfer(cur.Size, time.Since(start))
	}
	_, blocks, _ := fstat(of.f)
	v.stats.storedBytes.Add(cur.Size)
	v.event(&c, EventStore, o.fid, fmt.Sprintf("%d bytes", cur.Size))
	v.mu.Lock()
	defer v.mu.Unlock()
	v.applyAttr(o, r.Attr, st)
	o.contVV, o.contStat, o.pending = r.Attr.VV, cur, false
	if st.local {
		o.unsynced = false // emulate synced it before logging the store
	} else {
		v.markUnsynced(o)
	}
	v.setContBytes(o, blocks)
	v.meta.putObject(o)
	if st.local {
		v.cmlCommit() // the record naming the container, beside the log's
	}
	return nil
}

// storeFailed keeps the changes in the container (pending) so that a later
// close stores them; a file removed meanwhile just drops them.
func (v *Venus) storeFailed(o *object, err error) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if isGone(err) {
		v.forget(o)
		return err
	}
	if !o.pending {
		v.log.Warn("store failed; the changes stay in the cache until a later close stores them",
			"fid", o.fid, "err", err)
	}
	o.pending = true
	v.markUnsynced(o)
	v.meta.putObject(o)
	return err
}

// Flush is close(2) of a handle: a writable handle whose container changed
// stores the whole file, and close returns when the server has it.
func (v *Venus) Flush(ctx context.Context, c Caller, h *Handle) error {
	if !h.writable {
		return nil
	}
	h.o.io.Lock()
	defer h.o.io.Unlock()
	return v.storeIfDirty(ctx, c, h.o)
}

// Fsync stores the file if it changed (the server's copy is what
// survives); while its volume logs updates, it waits until the log is on
// disk.
func (v *Venus) Fsync(ctx context.Context, c Caller, h *Handle) error {
	if err := v.Flush(ctx, c, h); err != nil {
		return err
	}
	if v.logging(h.o.fid.Volume) {
		return v.meta.flush()
	}
	return nil
}

// Release ends a handle. The last release stores changes made since the
// last flush (through mmap), closes the container and makes it evictable.
func (v *Venus) Release(ctx context.Context, c Caller, h *Handle) error {
	if h.view != nil {
		return v.releaseView(h)
	}
	o := h.o
	o.io.Lock()
	defer o.io.Unlock()
	if h.released {
		return errors.New("handle released twice")
	}
	h.released = true
	var err error
	v.mu.Lock()
	last := h.of.refs == 1
	v.mu.Unlock()
	if last {
		err = v.storeIfDirty(ctx, c, o)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	h.of.refs--
	if h.of.refs > 0 {
		return err
	}
	h.of.f.Close()
	close(h.of.released)
	o.of = nil
	v.openFiles--
	if o.removed {
		v.forget(o)
		return err
	}
	v.touchLRU(o)
	v.evict()
	return err
}
