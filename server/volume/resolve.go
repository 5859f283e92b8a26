package volume

import (
	"errors"
	"fmt"
	"io"

	"github.com/coda-fs/coda/server/proto"
	"github.com/coda-fs/coda/server/store"
)

// Dominance resolution moves whole object states between replicas: the
// coordinating server reads every replica's state (ReadState), picks the
// dominant one (package resolve) and installs it on the replicas that lag
// (Install). Installing a directory makes this replica's entries those of
// the dominant state: names that went away are removed (with the objects
// they held, when no other name holds them), new names get a placeholder
// object with the right FID and a zero version vector, which every other
// replica dominates, so the object itself is resolved on its first access
// (or by volutil resync).

// ReadState returns this replica's state of fid and, for a file with data,
// its content (the caller closes Data.Container). The state is read under
// the volume lock, so it is one consistent version.
func (v *Volume) ReadState(fid proto.FID) (proto.VnodeState, *Data, error) {
	st := proto.VnodeState{FID: fid}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.deleted {
		return st, nil, proto.Errorf(proto.CodeNoVolume, fmt.Sprintf("volume %s was deleted", v.hdr.Name))
	}
	if fid.Volume != v.hdr.ID {
		return st, nil, proto.ErrCrossDevice
	}
	n, err := v.readVnode(fid.Vnode)
	if err == proto.ErrNotFound || err == nil && n.Unique != fid.Unique {
		return st, nil, nil
	}
	if err != nil {
		return st, nil, err
	}
	st.Exists, st.VV, st.Type, st.Mtime = true, n.VV, n.Type, n.Mtime
	if n.Type == proto.TypeFile {
		st.Size = n.Size
	}
	if p, err := v.readVnode(n.Parent); err == nil {
		st.Parent = proto.FID{Volume: fid.Volume, Vnode: n.Parent, Unique: p.Unique}
	}
	rec := *n
	rec.Container, rec.Flags, rec.Blocks = 0, 0, 0
	st.Record = rec.encode()
	var data *Data
	switch n.Type {
	case proto.TypeDir:
		st.Entries, err = v.allEntries(fid.Vnode)
		if err == nil {
			err = v.readLogInto(&st)
		}
		if err == nil {
			st.Policy, err = v.readPolicy(fid.Vnode)
		}
	case proto.TypeFile:
		data, err = v.openContent(fid, n)
	}
	if err != nil {
		return st, nil, err
	}
	return st, data, nil
}

// allEntries lists every entry of directory dir.
func (v *Volume) allEntries(dir uint32) ([]proto.DirEntry, error) {
	p := entryPrefix(v.hdr.ID, dir)
	it, err := v.set.db.NewIter(p, prefixEnd(p))
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var out []proto.DirEntry
	for it.First(); it.Valid(); it.Next() {
		e, err := decodeEntry(it.Value())
		if err != nil {
			return nil, err
		}
		name := string(it.Key()[len(p):])
		out = append(out, proto.DirEntry{Name: name, Type: e.Type,
			FID: proto.FID{Volume: v.hdr.ID, Vnode: e.Vnode, Unique: e.Unique}})
	}
	return out, it.Error()
}

// InstallArgs is a state to install and this server's copy of its data: a
// durable container (owned by Install from then on) or inline bytes.
type InstallArgs struct {
	State     proto.VnodeState
	Container store.ContainerID
	Blocks    int64
	Inline    []byte
}

// Install makes st this replica's state of the object, if the replica
// still holds the version st.Expect names (nothing when the object is
// missing); else it fails with CodeStale and changes nothing. The version
// vector is the installed state's, exactly; the COP2 mark is cleared.
func (v *Volume) Install(a InstallArgs) (*Change, error) {
	return v.transact(proto.StoreID{}, true, func(t *txn) error { // indexed: relink reads the names it made
		if err := t.install(a); err != nil {
			return err
		}
		return t.relink()
	})
}

// InstallMany installs a batch of states (small files' data in
// State.Data) in one transaction. A state whose replica changed since it
// was read, or whose vnode holds another object, is skipped with its
// error in errs; any other error fails the whole batch.
func (v *Volume) InstallMany(states []proto.VnodeState) (errs []error, ch *Change, err error) {
	errs = make([]error, len(states))
	ch, err = v.transact(proto.StoreID{}, true, func(t *txn) error { // indexed, for relink
		for i, st := range states {
			a := InstallArgs{State: st}
			if st.Type == proto.TypeFile && len(st.Record) > 0 {
				a.Inline = st.Data
				if a.Inline == nil {
					a.Inline = []byte{}
				}
			}
			if err := t.check(st); err != nil {
				errs[i] = err
				continue
			}
			if err := t.install(a); err != nil {
				return err
			}
		}
		return t.relink()
	})
	return errs, ch, err
}

// check does an install's checks, which change nothing: the FID and record
// are sound, the vnode holds no other object, and it still holds what
// Expect names.
func (t *txn) check(st proto.VnodeState) error {
	fid := st.FID
	if len(st.Record) > 0 {
		if _, err := decodeVnode(st.Record); err != nil {
			return proto.Errorf(proto.CodeProtocol, err.Error())
		}
	}
	if fid.Volume != t.v.hdr.ID || fid.Vnode == 0 || fid.Unique == 0 {
		return proto.Errorf(proto.CodeInvalid, fmt.Sprintf("install: bad FID %v", fid))
	}
	cur, err := t.get(fid.Vnode)
	switch {
	case err == proto.ErrNotFound:
		cur = nil
	case err != nil:
		return err
	case cur.Unique != fid.Unique:
		return proto.Errorf(proto.CodeExists, fmt.Sprintf("install %v: vnode %d holds another object", fid, fid.Vnode))
	}
	if st.HasExpect {
		if cur == nil && st.Expect != (proto.VV{}) || cur != nil && cur.VV != st.Expect {
			return proto.Errorf(proto.CodeStale, fmt.Sprintf("install %v: the replica changed since it was read", fid))
		}
	}
	if len(st.Record) == 0 && cur == nil {
		return proto.Errorf(proto.CodeStale, fmt.Sprintf("install %v: the replica lacks the object", fid))
	}
	return nil
}

// install applies one state (see Install).
func (t *txn) install(a InstallArgs) error {
	st := a.State
	if err := t.check(st); err != nil {
		return err
	}
	v, fid := t.v, st.FID
	cur, err := t.get(fid.Vnode)
	if err == proto.ErrNotFound {
		cur = nil
	} else if err != nil {
		return err
	}
	if len(st.Record) == 0 { // only a new version vector (weak equality)
		cur.VV = st.VV
		cur.Flags &^= flagCOP2
		cur.Pending = nil
		t.dirty[fid.Vnode] = cur
		if cur.Type == proto.TypeDir {
			return t.clearLog(fid.Vnode) // the replicas are equal now
		}
		return nil
	}
	src, err := decodeVnode(st.Record)
	if err != nil {
		return proto.Errorf(proto.CodeProtocol, err.Error())
	}
	n := *src
	n.VV = st.VV
	n.Unique = fid.Unique   // a copy under another FID (repair --keep-all) has its own
	n.Flags &= flagConflict // a conflict object stays one
	n.Pending = nil
	n.Container, n.Blocks = 0, 0
	if cur != nil {
		if err := t.release(fid.Vnode, cur); err != nil {
			return err
		}
		if cur.inline() {
			t.b.Delete(inlineKey(v.hdr.ID, fid.Vnode))
		}
		t.ch.byteDelta -= cur.Blocks
	} else {
		t.ch.fileDelta++
	}
	if n.Type == proto.TypeFile {
		switch {
		case a.Inline != nil:
			t.b.Set(inlineKey(v.hdr.ID, fid.Vnode), a.Inline)
			n.Flags |= flagInline
			n.Blocks = (int64(len(a.Inline)) + 4095) &^ 4095
		case a.Container != 0:
			n.Container, n.Blocks = uint64(a.Container), a.Blocks
		}
		t.ch.byteDelta += n.Blocks
	}
	if n.Type == proto.TypeDir {
		if err := t.installEntries(fid.Vnode, st.Entries); err != nil {
			return err
		}
		if err := t.clearLog(fid.Vnode); err != nil { // the replicas are equal now
			return err
		}
		if st.Policy == proto.PolicyInherit {
			t.b.Delete(policyKey(v.hdr.ID, fid.Vnode))
		} else {
			t.b.Set(policyKey(v.hdr.ID, fid.Vnode), []byte{st.Policy})
		}
	}
	t.dirty[fid.Vnode] = &n
	t.ch.FIDs = append(t.ch.FIDs, fid)
	v.reserve(fid)
	return nil
}

// ReadStates reads a batch of states (see ReadState), each file's data
// in State.Data: for small files only (resync batches them).
func (v *Volume) ReadStates(fids []proto.FID) ([]proto.VnodeState, error) {
	out := make([]proto.VnodeState, len(fids))
	for i, fid := range fids {
		st, data, err := v.ReadState(fid)
		if err != nil {
			return nil, err
		}
		if data != nil {
			st.Data, err = smallData(data, st.Size)
			if err != nil {
				return nil, fmt.Errorf("%v: %w", fid, err)
			}
		}
		out[i] = st
	}
	return out, nil
}

// smallData returns the bytes of a small file's content and closes it.
func smallData(d *Data, size int64) ([]byte, error) {
	if d.Container == nil {
		return d.Inline, nil
	}
	defer d.Container.Close()
	if size > proto.MaxInlineData {
		return nil, proto.Errorf(proto.CodeInvalid, fmt.Sprintf("%d bytes is too large for a batch", size))
	}
	b := make([]byte, size)
	n, err := d.Container.NewReader(size).ReadAt(b, 0)
	if err != nil && n < int(size) && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return b, nil
}

// reserve keeps this replica from handing out fid's numbers again. Callers
// hold v.mu.
func (v *Volume) reserve(fid proto.FID) {
	if fid.Vnode >= v.nextVnode {
		v.nextVnode = fid.Vnode + 1
	}
	if fid.Unique >= v.nextUnique {
		v.nextUnique = fid.Unique + 1
	}
}

// installEntries makes directory dir's entries want.
func (t *txn) installEntries(dir uint32, want []proto.DirEntry) error {
	have, err := t.v.allEntries(dir)
	if err != nil {
		return err
	}
	wanted := make(map[string]proto.DirEntry, len(want))
	for _, de := range want {
		if de.FID.Volume != t.v.hdr.ID {
			return proto.ErrCrossDevice
		}
		wanted[de.Name] = de
	}
	for _, de := range have {
		if w, ok := wanted[de.Name]; ok && w.FID == de.FID {
			delete(wanted, de.Name)
			continue
		}
		t.delEntry(dir, de.Name, de.FID.Vnode)
		if err := t.unref(de.FID, dir, de.Name); err != nil {
			return err
		}
	}
	for name, de := range wanted {
		t.setEntry(dir, name, entry{Vnode: de.FID.Vnode, Unique: de.FID.Unique, Type: de.Type})
		n, err := t.get(de.FID.Vnode)
		switch {
		case err == proto.ErrNotFound:
			t.placeholder(dir, de)
		case err != nil:
			return err
		case n.Unique != de.FID.Unique:
			return proto.Errorf(proto.CodeExists, fmt.Sprintf("install: vnode %d holds another object than %v", de.FID.Vnode, de.FID))
		case n.Type != proto.TypeDir:
			n.Nlink++
			t.dirty[de.FID.Vnode] = n
		}
	}
	return nil
}

// notPlaceholder refuses a client's change to a placeholder: the object
// holds nothing yet, and a change would give it a version that hides
// that; the replicas that hold it take the change, and resolution fills
// this one. The refusal says stale, not busy: busy has the client wait
// for a resolution that nothing starts while its update is pending.
func notPlaceholder(n *vnode) error {
	if n.VV == (proto.VV{}) {
		return proto.Errorf(proto.CodeStale, "not resolved yet: this replica holds only the object's name")
	}
	return nil
}

// placeholder creates the object a new entry names, empty and with a zero
// version vector: every replica that has it dominates, so its first access
// resolves it.
func (t *txn) placeholder(dir uint32, de proto.DirEntry) {
	n := &vnode{Type: de.Type, Nlink: 1, Unique: de.FID.Unique, Parent: dir, Ctime: t.now, Mtime: t.now}
	if de.Type == proto.TypeDir {
		n.Nlink = 2
	}
	t.dirty[de.FID.Vnode] = n
	t.ch.fileDelta++
	t.v.reserve(de.FID)
}

// unref drops fid's name (dir, name), which the caller just removed: a
// file or symlink goes with its last name (its other names, in any
// directory, are counted from the back-references), a directory with its
// whole subtree (the dominant replica removed it).
func (t *txn) unref(fid proto.FID, dir uint32, name string) error {
	n, err := t.get(fid.Vnode)
	if err == proto.ErrNotFound {
		return nil
	}
	if err != nil {
		return err
	}
	if n.Unique != fid.Unique {
		return nil
	}
	if n.Type == proto.TypeDir {
		kids, err := t.v.allEntries(fid.Vnode)
		if err != nil {
			return err
		}
		for _, de := range kids {
			t.delEntry(fid.Vnode, de.Name, de.FID.Vnode)
			if err := t.unref(de.FID, fid.Vnode, de.Name); err != nil {
				return err
			}
		}
		return t.drop(fid.Vnode, n)
	}
	ns, err := t.names(fid.Vnode, dir, name)
	if err != nil {
		return err
	}
	if ns.count == 0 {
		return t.drop(fid.Vnode, n)
	}
	ns.apply(n)
	t.dirty[fid.Vnode] = n
	return nil
}
