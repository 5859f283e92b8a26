package volume

import (
	"fmt"

	"github.com/coda-fs/coda/auth/acl"
	"github.com/coda-fs/coda/server/proto"
	"github.com/coda-fs/coda/server/store"
)

// object reads the object named by fid, checking volume and uniquifier.
func (v *Volume) object(fid proto.FID) (*vnode, error) {
	if fid.Volume != v.hdr.ID {
		return nil, proto.ErrCrossDevice
	}
	n, err := v.readVnode(fid.Vnode)
	if err != nil {
		return nil, err
	}
	if n.Unique != fid.Unique {
		return nil, proto.ErrNotFound
	}
	return n, nil
}

// GetAttr returns the status of fid with c's rights. It needs 'l' on the
// governing ACL; a directory other than the volume root is also visible
// with 'l' on its parent's ACL (so that listing the parent shows it).
// Validate uses it for each cached object.
func (v *Volume) GetAttr(c Cred, fid proto.FID) (proto.Attr, error) {
	n, err := v.object(fid)
	if err != nil {
		return proto.Attr{}, err
	}
	return visible(v.readVnode, c, fid, n)
}

// visible returns n's status for c if c may see it.
func visible(get getter, c Cred, fid proto.FID, n *vnode) (proto.Attr, error) {
	a, err := attrFor(get, c, fid, n)
	if err != nil {
		return proto.Attr{}, err
	}
	if acl.Rights(a.Rights).Has(acl.Lookup) {
		return a, nil
	}
	if n.Type == proto.TypeDir && fid.Vnode != RootVnode {
		p, err := get(n.Parent)
		if err != nil {
			return proto.Attr{}, fmt.Errorf("parent directory %d: %w", n.Parent, err)
		}
		pa, err := dirACL(p)
		if err != nil {
			return proto.Attr{}, err
		}
		if rightsOn(c, pa).Has(acl.Lookup) {
			return a, nil
		}
	}
	return proto.Attr{}, proto.ErrAccess
}

// childAttr returns the status of n, named in a directory whose ACL is
// dacl, for c: a directory is governed by its own ACL, anything else by
// dacl.
func childAttr(c Cred, fid proto.FID, n *vnode, dacl acl.ACL) (proto.Attr, error) {
	if n.Type == proto.TypeDir {
		own, err := dirACL(n)
		if err != nil {
			return proto.Attr{}, err
		}
		return stamp(n.attr(fid), c, own), nil
	}
	return stamp(n.attr(fid), c, dacl), nil
}

// Lookup finds name in directory dir: 'l' on dir and its x mode bit.
func (v *Volume) Lookup(c Cred, dir proto.FID, name string) (proto.Attr, error) {
	d, err := v.object(dir)
	if err != nil {
		return proto.Attr{}, err
	}
	if d.Type != proto.TypeDir {
		return proto.Attr{}, proto.ErrNotDir
	}
	da, err := dirACL(d)
	if err != nil {
		return proto.Attr{}, err
	}
	if err := need(rightsOn(c, da), acl.Lookup); err != nil {
		return proto.Attr{}, err
	}
	if err := check(c, d, permX); err != nil {
		return proto.Attr{}, err
	}
	e, err := v.lookupEntry(dir.Vnode, name)
	if err != nil {
		return proto.Attr{}, err
	}
	fid := proto.FID{Volume: v.hdr.ID, Vnode: e.Vnode, Unique: e.Unique}
	n, err := v.object(fid)
	if err != nil {
		return proto.Attr{}, err
	}
	return childAttr(c, fid, n, da)
}

// ReadDir returns up to max entries of dir after the name after, in name
// order, and whether more follow: 'l' on dir and its r mode bit.
func (v *Volume) ReadDir(c Cred, dir proto.FID, after string, max int) (proto.Attr, []proto.DirEntry, bool, error) {
	snap, err := v.set.db.NewSnapshot()
	if err != nil {
		return proto.Attr{}, nil, false, err
	}
	defer snap.Close()
	if dir.Volume != v.hdr.ID {
		return proto.Attr{}, nil, false, proto.ErrCrossDevice
	}
	d, err := v.readVnodeFrom(snap, dir.Vnode)
	if err == nil && d.Unique != dir.Unique {
		err = proto.ErrNotFound
	}
	if err != nil {
		return proto.Attr{}, nil, false, err
	}
	if d.Type != proto.TypeDir {
		return proto.Attr{}, nil, false, proto.ErrNotDir
	}
	da, err := dirACL(d)
	if err != nil {
		return proto.Attr{}, nil, false, err
	}
	if err := need(rightsOn(c, da), acl.Lookup); err != nil {
		return proto.Attr{}, nil, false, err
	}
	if err := check(c, d, permR); err != nil {
		return proto.Attr{}, nil, false, err
	}
	dattr := stamp(d.attr(dir), c, da)
	if max <= 0 || max > proto.MaxBatch {
		max = proto.MaxBatch
	}
	prefix := entryPrefix(v.hdr.ID, dir.Vnode)
	it, err := snap.NewIter(prefix, prefixEnd(prefix))
	if err != nil {
		return proto.Attr{}, nil, false, err
	}
	defer it.Close()
	var out []proto.DirEntry
	if after == "" {
		it.First()
	} else {
		it.SeekGE(append(append([]byte(nil), prefix...), after+"\x00"...))
	}
	for ; it.Valid(); it.Next() {
		if len(out) == max {
			return dattr, out, true, nil
		}
		e, err := decodeEntry(it.Value())
		if err != nil {
			return proto.Attr{}, nil, false, err
		}
		out = append(out, proto.DirEntry{Name: string(it.Key()[len(prefix):]),
			FID: proto.FID{Volume: v.hdr.ID, Vnode: e.Vnode, Unique: e.Unique}, Type: e.Type})
	}
	return dattr, out, false, nil
}

// Readlink returns a symlink's target: 'l' on its directory's ACL.
func (v *Volume) Readlink(c Cred, fid proto.FID) (string, error) {
	n, err := v.object(fid)
	if err != nil {
		return "", err
	}
	if n.Type != proto.TypeSymlink {
		return "", proto.ErrInvalid
	}
	gov, err := governing(v.readVnode, n)
	if err != nil {
		return "", err
	}
	if err := need(rightsOn(c, gov), acl.Lookup); err != nil {
		return "", err
	}
	return n.Target, nil
}

// Data is an open file's content for a fetch.
type Data struct {
	Attr      proto.Attr
	Container *store.Container // nil for an empty or inline file
	Inline    []byte           // the data of an inline file (zeros follow up to Attr.Size)
}

// OpenData opens fid's content for reading (a fetch): 'r' and the r mode
// bit, or the owner with 'w' or 'i'. The caller closes Container.
func (v *Volume) OpenData(c Cred, fid proto.FID) (*Data, error) {
	n, err := v.object(fid)
	if err != nil {
		return nil, err
	}
	if err := fileOnly(n); err != nil {
		return nil, err
	}
	gov, err := governing(v.readVnode, n)
	if err != nil {
		return nil, err
	}
	if !mayReadData(c, n, rightsOn(c, gov)) {
		return nil, proto.ErrAccess
	}
	// A concurrent store may free the container (or replace the inline
	// data) between the read of the vnode and the open; then the vnode names
	// newer content: read it again.
	for tries := 0; ; tries++ {
		d, err := v.openContent(fid, n)
		if err == nil {
			d.Attr = stamp(d.Attr, c, gov)
		}
		if err == nil || tries == 3 {
			return d, err
		}
		if n, err = v.object(fid); err != nil {
			return nil, err
		}
	}
}

// openContent opens the content n names: inline data, a container, or
// nothing for an empty file.
func (v *Volume) openContent(fid proto.FID, n *vnode) (*Data, error) {
	d := &Data{Attr: n.attr(fid)}
	switch {
	case n.inline():
		b, err := v.readInline(fid.Vnode, n)
		if err != nil {
			return nil, err
		}
		d.Inline = b
	case n.Container != 0:
		ct, err := v.set.db.OpenContainer(store.ContainerID(n.Container))
		if err != nil {
			return nil, err
		}
		d.Container = ct
	}
	return d, nil
}
