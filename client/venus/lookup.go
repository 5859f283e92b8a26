package venus

import (
	"context"
	"syscall"

	"github.com/coda-fs/coda/auth/acl"
	"github.com/coda-fs/coda/server/proto"
)

// dirObject returns the directory object of ino.
func (v *Venus) dirObject(ino uint64) (*object, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	o, err := v.objByIno(ino)
	if err != nil {
		return nil, err
	}
	if x := v.expanded[o.fid]; x != nil && !x.real {
		return nil, proto.ErrReadOnly // its entries are the replicas
	}
	if o.hasAttr && !o.isDir() {
		return nil, proto.ErrNotDir
	}
	return o, nil
}

// object returns the object of ino.
func (v *Venus) object(ino uint64) (*object, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.objByIno(ino)
}

// entryOf looks name up in the cached entries of d, which ensureDir made
// current. ok is false when the entries were dropped meanwhile.
func (v *Venus) entryOf(d *object, name string) (de proto.DirEntry, found, ok bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if !dirValid(d) {
		return de, false, false
	}
	if de, found = d.dir.entries[name]; !found {
		if fid, ghost := v.ghosts(d.fid)[name]; ghost {
			return proto.DirEntry{Name: name, FID: fid, Type: proto.TypeSymlink}, true, true
		}
	}
	return de, found, true
}

// resolve finds name in directory d with its entries current.
func (v *Venus) resolve(ctx context.Context, c Caller, d *object, name string) (proto.DirEntry, bool, error) {
	for tries := 0; tries < 3; tries++ {
		if err := v.ensureDir(ctx, c, d); err != nil {
			return proto.DirEntry{}, false, err
		}
		if de, found, ok := v.entryOf(d, name); ok {
			return de, found, nil
		}
	}
	return proto.DirEntry{}, false, proto.ErrStale
}

// Lookup finds name in the directory parent. With the directory and the
// object holding callbacks it makes no RPC.
func (v *Venus) Lookup(ctx context.Context, c Caller, parent uint64, name string) (Entry, error) {
	if isSynthetic(parent) {
		return v.syntheticLookup(ctx, c, parent, name)
	}
	if e, ok, err := v.viewLookup(ctx, c, parent, name); ok {
		return e, err
	}
	d, err := v.dirObject(parent)
	if err != nil {
		return Entry{}, err
	}
	if err := v.ensureDir(ctx, c, d); err != nil {
		return Entry{}, err
	}
	if err := v.checkAccess(ctx, c, d, acl.Lookup, permX); err != nil {
		return Entry{}, err
	}
	for tries := 0; tries < 3; tries++ {
		de, found, err := v.resolve(ctx, c, d, name)
		if err != nil {
			return Entry{}, err
		}
		if !found {
			return Entry{}, proto.ErrNotFound
		}
		v.mu.Lock()
		o := v.objectFor(de.FID)
		o.parent = d.fid
		if o.removed && o.of == nil {
			// Named again: a repair or a conflict brought back what this
			// client saw removed. Its status comes fresh from the servers.
			o.removed, o.hasAttr = false, false
		}
		v.mu.Unlock()
		err = v.ensureValid(ctx, c, o)
		if isGone(err) {
			continue // the entry is older than the directory's change
		}
		if err != nil {
			return Entry{}, err
		}
		if o, err = v.crossMount(ctx, c, d, o); err != nil {
			return Entry{}, err
		}
		v.mu.Lock()
		e := Entry{Attr: v.attrOf(o), EntryTimeout: v.dur(v.trusted(d) && v.trusted(o))}
		v.mu.Unlock()
		return e, nil
	}
	return Entry{}, proto.ErrNotFound
}

// GetAttr returns the attributes of ino, with no RPC while it holds a
// callback.
func (v *Venus) GetAttr(ctx context.Context, c Caller, ino uint64) (Attr, error) {
	if isSynthetic(ino) {
		return v.syntheticAttr(ino), nil
	}
	if vw, _, _ := v.under(ino); vw != nil {
		v.mu.Lock()
		defer v.mu.Unlock()
		return viewAttr(vw), nil
	}
	o, err := v.object(ino)
	if err != nil {
		return Attr{}, err
	}
	v.mu.Lock()
	local := o.of != nil || o.removed
	v.mu.Unlock()
	if !local {
		if err := v.ensureValid(ctx, c, o); err != nil {
			return Attr{}, err
		}
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.attrOf(o), nil
}

// ReadDir lists the directory ino, sorted by name. The slice is shared and
// must not be changed.
func (v *Venus) ReadDir(ctx context.Context, c Caller, ino uint64) ([]DirEntry, error) {
	if isSynthetic(ino) {
		return v.syntheticReadDir(ctx, c, ino)
	}
	if list, ok, err := v.viewReadDir(ctx, c, ino); ok {
		return list, err
	}
	d, err := v.dirObject(ino)
	if err != nil {
		return nil, err
	}
	for tries := 0; tries < 3; tries++ {
		if err := v.ensureDir(ctx, c, d); err != nil {
			return nil, err
		}
		if err := v.checkAccess(ctx, c, d, acl.Lookup, permR); err != nil {
			return nil, err
		}
		if err := v.prefetchChildren(ctx, c, d); err != nil {
			return nil, err
		}
		v.mu.Lock()
		if dirValid(d) {
			list := v.listing(d)
			v.mu.Unlock()
			return list, nil
		}
		v.mu.Unlock()
	}
	return nil, proto.ErrStale
}

// Readlink returns a symlink's target, cached with its version.
func (v *Venus) Readlink(ctx context.Context, c Caller, ino uint64) (string, error) {
	if vw, x, _ := v.under(ino); vw != nil {
		return v.viewReadlink(ctx, c, vw)
	} else if x != nil {
		return "", syscall.EINVAL
	}
	o, err := v.object(ino)
	if err != nil {
		return "", err
	}
	if err := v.ensureValid(ctx, c, o); err != nil {
		return "", err
	}
	v.mu.Lock()
	if v.inConflict(o.fid) {
		v.mu.Unlock()
		return v.conflictTarget(o.fid), nil
	}
	if o.attr.Type != proto.TypeSymlink {
		v.mu.Unlock()
		return "", syscall.EINVAL
	}
	if o.hasTarget && o.targetVV == o.attr.VV {
		t := o.target
		v.mu.Unlock()
		return t, nil
	}
	vv := o.attr.VV
	v.mu.Unlock()
	var r proto.ReadlinkReply
	if _, err := v.callVol(ctx, c, o.fid.Volume, proto.OpReadlink, &proto.FIDReq{FID: o.fid}, &r, nil); err != nil {
		return "", err
	}
	v.mu.Lock()
	if o.attr.VV == vv {
		o.target, o.targetVV, o.hasTarget = r.Target, vv, true
		v.meta.putObject(o)
	}
	v.mu.Unlock()
	return r.Target, nil
}
