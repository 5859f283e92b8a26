package venus

import (
	"context"
	"errors"
	"syscall"
	"time"

	"github.com/coda-fs/coda/auth/acl"
	"github.com/coda-fs/coda/server/proto"
)

// prepChange checks that c may add or remove names in directory parent
// and returns it with its entries current.
func (v *Venus) prepChange(ctx context.Context, c Caller, parent uint64, name string, right acl.Rights) (*object, error) {
	if isSynthetic(parent) {
		return nil, proto.ErrAccess
	}
	if err := proto.CheckName(name); err != nil {
		return nil, err
	}
	if reservedName(name) {
		return nil, proto.Errorf(proto.CodeInvalid, "names of the form @VOLUME.VNODE.UNIQUE@REALM are reserved for conflicts")
	}
	d, err := v.dirObject(parent)
	if err != nil {
		return nil, err
	}
	if err := v.ensureDir(ctx, c, d); err != nil {
		return nil, err
	}
	return d, v.checkMutation(c, d, right)
}

// applyDirChange records a directory's status after a change this client
// made, patching the cached entries when they were current and no one
// else changed the directory meanwhile (else they are refetched on next
// use). add is the new entry, or nil when name went away. Callers hold v.mu.
func (v *Venus) applyDirChange(st stamp, d *object, dirAttr proto.Attr, name string, add *proto.DirEntry) {
	patch := dirValid(d) && (d.cbGen == st.gen && v.promiseOK(st, d.fid) || v.pinned(d))
	if !patch {
		v.setAttr(d, dirAttr, false)
		d.dir = nil
		v.meta.putDir(d)
		return
	}
	d.dir.vv = dirAttr.VV
	v.setAttr(d, dirAttr, true)
	if add != nil {
		d.dir.add(*add)
		v.meta.setEntry(d, *add)
	} else {
		d.dir.del(name)
		v.meta.delEntry(d, name)
	}
}

// applyNewChild records the result of a create, mkdir, symlink or link in d.
// Callers hold v.mu.
func (v *Venus) applyNewChild(st stamp, d *object, name string, r *proto.DirOpReply) *object {
	de := proto.DirEntry{Name: name, FID: r.Attr.FID, Type: r.Attr.Type}
	v.applyDirChange(st, d, r.Dir, name, &de)
	o := v.objectFor(r.Attr.FID)
	o.parent = d.fid
	v.applyAttr(o, r.Attr, st)
	return o
}

// newOwner returns the group of a new object in d (0: the server gives
// the directory's) and the setgid bit it inherits. The owner is always
// the caller's Coda identity, set by the server.
func newOwner(d *proto.Attr) (gid, sgid uint32) {
	if d.Mode&syscall.S_ISGID != 0 {
		return d.GID, syscall.S_ISGID
	}
	return 0, 0
}

// makeChild sends a create, mkdir or symlink.
func (v *Venus) makeChild(ctx context.Context, c Caller, d *object, op proto.Op, name string, mode uint32, target string) (*object, Entry, error) {
	v.mu.Lock()
	gid, sgid := newOwner(&d.attr)
	v.mu.Unlock()
	if op != proto.OpMkdir {
		sgid = 0
	}
	fid, err := v.newFID(ctx, c, d.fid.Volume)
	if err != nil {
		return nil, Entry{}, err
	}
	req := proto.Create{Dir: d.fid, Name: name, Mode: mode&0o7777 | sgid, GID: gid,
		Mtime: time.Now().UnixNano(), Target: target, StoreID: v.nextStoreID(), FID: fid}
	st, r, err := updateAs[proto.DirOpReply](ctx, v, c, d.fid.Volume, op, &req, req.StoreID, nil)
	if err != nil {
		return nil, Entry{}, err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	o := v.applyNewChild(st, d, name, r)
	switch r.Attr.Type {
	case proto.TypeDir:
		if v.hasCB(o) {
			o.dir = newDirCache(r.Attr.VV, nil)
			v.meta.putDir(o)
		}
	case proto.TypeSymlink:
		o.target, o.targetVV, o.hasTarget = target, r.Attr.VV, true
		v.meta.putObject(o)
	}
	return o, Entry{Attr: v.attrOf(o), EntryTimeout: v.dur(v.trusted(d) && v.trusted(o))}, nil
}

// Create makes and opens a new file. An existing name is opened instead
// unless flags has O_EXCL.
func (v *Venus) Create(ctx context.Context, c Caller, parent uint64, name string, mode, flags uint32) (Entry, *Handle, error) {
	d, err := v.prepChange(ctx, c, parent, name, acl.Insert)
	if err != nil {
		return Entry{}, nil, err
	}
	if _, found, err := v.resolve(ctx, c, d, name); err != nil || found {
		if err == nil {
			err = proto.ErrExists
		}
		return v.createExisting(ctx, c, parent, name, flags, err)
	}
	o, e, err := v.makeChild(ctx, c, d, proto.OpCreate, name, mode, "")
	if err != nil {
		return v.createExisting(ctx, c, parent, name, flags, err)
	}
	o.io.Lock()
	defer o.io.Unlock()
	f, err := v.emptyContainer(o, false)
	if err != nil {
		return Entry{}, nil, err
	}
	_, writable := accessOf(flags)
	v.mu.Lock()
	defer v.mu.Unlock()
	o.of = &openFile{f: f, refs: 1, released: make(chan struct{})}
	v.openFiles++
	return e, &Handle{o: o, of: o.of, writable: writable}, nil
}

// createExisting opens name when a create found it existing (and O_EXCL
// was not given); other errors are returned as they are.
func (v *Venus) createExisting(ctx context.Context, c Caller, parent uint64, name string, flags uint32, err error) (Entry, *Handle, error) {
	if !errors.Is(err, proto.ErrExists) || flags&syscall.O_EXCL != 0 {
		return Entry{}, nil, err
	}
	e, err := v.Lookup(ctx, c, parent, name)
	if err != nil {
		return Entry{}, nil, err
	}
	h, err := v.Open(ctx, c, e.Ino, flags&^(syscall.O_CREAT|syscall.O_EXCL))
	if err != nil {
		return Entry{}, nil, err
	}
	return e, h, nil
}

// Mkdir makes a directory.
func (v *Venus) Mkdir(ctx context.Context, c Caller, parent uint64, name string, mode uint32) (Entry, error) {
	d, err := v.prepChange(ctx, c, parent, name, acl.Insert)
	if err != nil {
		return Entry{}, err
	}
	_, e, err := v.makeChild(ctx, c, d, proto.OpMkdir, name, mode, "")
	return e, err
}

// Symlink makes a symbolic link.
func (v *Venus) Symlink(ctx context.Context, c Caller, parent uint64, name, target string) (Entry, error) {
	d, err := v.prepChange(ctx, c, parent, name, acl.Insert)
	if err != nil {
		return Entry{}, err
	}
	if len(target) > proto.MaxPath || target == "" {
		return Entry{}, syscall.ENAMETOOLONG
	}
	_, e, err := v.makeChild(ctx, c, d, proto.OpSymlink, name, 0o777, target)
	return e, err
}

// Link adds name in parent for the file target, which may live in any
// directory of the same volume; across volumes it is EXDEV.
func (v *Venus) Link(ctx context.Context, c Caller, parent uint64, name string, target uint64) (Entry, error) {
	d, err := v.prepChange(ctx, c, parent, name, acl.Insert)
	if err != nil {
		return Entry{}, err
	}
	o, err := v.object(target)
	if err != nil {
		return Entry{}, err
	}
	v.mu.Lock()
	typ := o.attr.Type
	v.mu.Unlock()
	if typ == proto.TypeDir {
		return Entry{}, proto.ErrPerm
	}
	if o.fid.Volume != d.fid.Volume {
		return Entry{}, proto.ErrCrossDevice
	}
	req := proto.Link{Dir: d.fid, Name: name, Target: o.fid, StoreID: v.nextStoreID()}
	st, r, err := updateAs[proto.DirOpReply](ctx, v, c, d.fid.Volume, proto.OpLink, &req, req.StoreID, nil)
	if err != nil {
		return Entry{}, err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	o = v.applyNewChild(st, d, name, r)
	return Entry{Attr: v.attrOf(o), EntryTimeout: v.dur(v.trusted(d) && v.trusted(o))}, nil
}
