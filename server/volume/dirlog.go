package volume

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/coda-fs/coda/auth/acl"
	"github.com/coda-fs/coda/resolve"
	"github.com/coda-fs/coda/server/proto"
	"github.com/coda-fs/coda/server/store"
)

// Resolution logs. Every change of a directory (insert, delete, rename in
// and out, its own attributes and ACL) is logged under the directory with
// the client update's StoreID, for log-based resolution after a partition
// (resolve.MergeDir). A record is dropped once it is no longer needed: when
// the update's COP2 names every replica and every older record of the
// directory is done too (in normal service a directory's log is empty
// again after each update), and when resolution made the directory's
// replicas equal. A replica that misses updates therefore keeps, on the
// others, the log of everything since the replicas were last equal.
//
// A volume of one replica logs nothing. The log of a volume is bounded (LogSize records). Beyond it the oldest
// record is dropped and its directory marked truncated: resolution of that
// directory then compares entries instead of replaying logs (correct, but
// it may report a conflict the log would have merged).
//
// Keys:
//
//	'L' vol dir seq → record     (a directory's log, oldest first)
//	'l' vol seq     → dir        (the volume's log order, for the bound)
//	'T' vol dir     → ""         (the directory's log was truncated)
//	'S' vol         → u32        (the log bound set by volutil setlogparms)
const (
	pfxLog       = 'L'
	pfxLogOrder  = 'l'
	pfxTruncated = 'T'
	pfxLogSize   = 'S'
)

// DefaultLogSize is a volume's resolution log bound, in records.
const DefaultLogSize = 16384

// logRecordVersion is the encoding version of a log record.
const logRecordVersion = 1

func logKey(vol, dir uint32, seq uint64) []byte {
	k := binary.BigEndian.AppendUint32([]byte{pfxLog}, vol)
	k = binary.BigEndian.AppendUint32(k, dir)
	return binary.BigEndian.AppendUint64(k, seq)
}

func logPrefix(vol, dir uint32) []byte {
	k := binary.BigEndian.AppendUint32([]byte{pfxLog}, vol)
	return binary.BigEndian.AppendUint32(k, dir)
}

func logOrderKey(vol uint32, seq uint64) []byte {
	k := binary.BigEndian.AppendUint32([]byte{pfxLogOrder}, vol)
	return binary.BigEndian.AppendUint64(k, seq)
}

func truncatedKey(vol, dir uint32) []byte {
	k := binary.BigEndian.AppendUint32([]byte{pfxTruncated}, vol)
	return binary.BigEndian.AppendUint32(k, dir)
}

// logRecord is one stored record: the operation and whether its update is
// done on every replica.
type logRecord struct {
	op   resolve.LogOp
	done bool
}

func (r logRecord) encode() []byte {
	var e proto.Encoder
	e.U8(logRecordVersion)
	e.Bool(r.done)
	e.U8(uint8(r.op.Kind))
	e.StoreID(r.op.Store)
	e.String(r.op.Name)
	e.FID(r.op.FID)
	e.U8(uint8(r.op.Type))
	e.VV(r.op.ObjVV)
	e.FID(r.op.Peer)
	e.String(r.op.PeerName)
	return e.B
}

func decodeLogRecord(b []byte) (logRecord, error) {
	d := proto.NewDecoder(b)
	if v := d.U8(); v != logRecordVersion && d.Err == nil {
		return logRecord{}, fmt.Errorf("log record version %d unknown", v)
	}
	r := logRecord{done: d.Bool()}
	r.op.Kind = resolve.OpKind(d.U8())
	r.op.Store = d.StoreID()
	r.op.Name = d.String(proto.MaxName)
	r.op.FID = d.FID()
	r.op.Type = proto.ObjType(d.U8())
	r.op.ObjVV = d.VV()
	r.op.Peer = d.FID()
	r.op.PeerName = d.String(proto.MaxName)
	if err := d.Done(); err != nil {
		return logRecord{}, fmt.Errorf("corrupt log record: %w", err)
	}
	return r, nil
}

func logSizeKey(vol uint32) []byte { return binary.BigEndian.AppendUint32([]byte{pfxLogSize}, vol) }

// loadLog reads the log bound, counts the volume's log records and finds
// the last sequence number. Called at open.
func (v *Volume) loadLog() error {
	b, err := v.set.db.Get(logSizeKey(v.hdr.ID))
	switch {
	case err == nil && len(b) == 4:
		v.maxLog = int(binary.BigEndian.Uint32(b))
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return err
	}
	p := binary.BigEndian.AppendUint32([]byte{pfxLogOrder}, v.hdr.ID)
	it, err := v.set.db.NewIter(p, prefixEnd(p))
	if err != nil {
		return err
	}
	defer it.Close()
	for it.First(); it.Valid(); it.Next() {
		v.logCount++
		v.lastLog = binary.BigEndian.Uint64(it.Key()[len(p):])
	}
	return it.Error()
}

// logOp appends op, made by this transaction's update, to directory dir's
// log, dropping the volume's oldest records beyond the bound.
func (t *txn) logOp(dir uint32, op resolve.LogOp) {
	v := t.v
	if len(v.hdr.Replicas) <= 1 {
		return // a volume of one replica never needs resolution
	}
	seq := max(uint64(t.now), v.lastLog+1)
	v.lastLog = seq
	op.Store = t.sid
	t.b.Set(logKey(v.hdr.ID, dir, seq), logRecord{op: op}.encode())
	t.b.Set(logOrderKey(v.hdr.ID, seq), binary.BigEndian.AppendUint32(nil, dir))
	v.logCount++
	if v.logCount > v.logSize() {
		t.dropOldest(v.logCount - v.logSize())
	}
}

// logSize is the volume's bound.
func (v *Volume) logSize() int {
	if v.maxLog > 0 {
		return v.maxLog
	}
	return DefaultLogSize
}

// MinLogSize is the smallest log bound volutil setlogparms accepts.
const MinLogSize = 16

// SetLogSize sets and keeps the volume's resolution log bound (volutil
// setlogparms); it takes effect with the next logged change.
func (v *Volume) SetLogSize(n int) error {
	if n < MinLogSize || n > 1<<24 {
		return proto.Errorf(proto.CodeInvalid, fmt.Sprintf("log size %d: %d-%d records", n, MinLogSize, 1<<24))
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	b := v.set.db.NewBatch()
	b.Set(logSizeKey(v.hdr.ID), binary.BigEndian.AppendUint32(nil, uint32(n)))
	if err := v.set.db.Commit(b); err != nil {
		return err
	}
	v.maxLog = n
	return nil
}

// LogSize is the volume's log bound and how many records it holds now.
func (v *Volume) LogSize() (bound, used int) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.logSize(), v.logCount
}

// dropOldest removes the volume's n oldest log records (already committed)
// and marks their directories truncated.
func (t *txn) dropOldest(n int) {
	v := t.v
	p := binary.BigEndian.AppendUint32([]byte{pfxLogOrder}, v.hdr.ID)
	it, err := v.set.db.NewIter(p, prefixEnd(p))
	if err != nil {
		v.set.log.Warn("resolution log: cannot trim", "volume", v.hdr.Name, "err", err)
		return
	}
	defer it.Close()
	for it.First(); it.Valid() && n > 0; it.Next() {
		if t.trimmed[string(it.Key())] {
			continue
		}
		seq := binary.BigEndian.Uint64(it.Key()[len(p):])
		dir := binary.BigEndian.Uint32(it.Value())
		t.markTrimmed(it.Key())
		t.b.Delete(it.Key())
		t.b.Delete(logKey(v.hdr.ID, dir, seq))
		t.b.Set(truncatedKey(v.hdr.ID, dir), nil)
		v.logCount--
		n--
	}
}

func (t *txn) markTrimmed(k []byte) {
	if t.trimmed == nil {
		t.trimmed = map[string]bool{}
	}
	t.trimmed[string(k)] = true
}

// dirLog reads directory dir's log records in order (committed state),
// with their sequence numbers.
func (v *Volume) dirLog(r store.Reader, dir uint32) ([]logRecord, []uint64, error) {
	p := logPrefix(v.hdr.ID, dir)
	it, err := r.NewIter(p, prefixEnd(p))
	if err != nil {
		return nil, nil, err
	}
	defer it.Close()
	var recs []logRecord
	var seqs []uint64
	for it.First(); it.Valid(); it.Next() {
		rec, err := decodeLogRecord(it.Value())
		if err != nil {
			return nil, nil, err
		}
		recs = append(recs, rec)
		seqs = append(seqs, binary.BigEndian.Uint64(it.Key()[len(p):]))
	}
	return recs, seqs, it.Error()
}

// DirLog returns directory fid's resolution log, oldest first, and whether
// it was truncated.
func (v *Volume) DirLog(fid proto.FID) ([]resolve.LogOp, bool, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.logOf(fid.Vnode)
}

// logOf reads directory dir's log and truncation mark. Callers hold v.mu.
func (v *Volume) logOf(dir uint32) ([]resolve.LogOp, bool, error) {
	recs, _, err := v.dirLog(v.set.db, dir)
	if err != nil {
		return nil, false, err
	}
	ops := make([]resolve.LogOp, len(recs))
	for i, r := range recs {
		ops[i] = r.op
	}
	_, err = v.set.db.Get(truncatedKey(v.hdr.ID, dir))
	switch {
	case err == nil:
		return ops, true, nil
	case errors.Is(err, store.ErrNotFound):
		return ops, false, nil
	}
	return nil, false, err
}

// completeLog marks update sid done in directory dir's log (its COP2 named
// every replica) and drops the records at the head of the log that are
// done: what every replica has needs no resolution.
func (t *txn) completeLog(dir uint32, sid proto.StoreID) error {
	v := t.v
	recs, seqs, err := v.dirLog(v.set.db, dir)
	if err != nil {
		return err
	}
	head := true
	for i, r := range recs {
		if r.op.Store == sid {
			r.done = true
		}
		switch {
		case head && r.done:
			t.b.Delete(logKey(v.hdr.ID, dir, seqs[i]))
			t.b.Delete(logOrderKey(v.hdr.ID, seqs[i]))
			v.logCount--
		case r.done:
			t.b.Set(logKey(v.hdr.ID, dir, seqs[i]), r.encode())
			head = false
		default:
			head = false
		}
	}
	return nil
}

// clearLog drops directory dir's whole log and its truncation mark: its
// replicas were made equal.
func (t *txn) clearLog(dir uint32) error {
	v := t.v
	_, seqs, err := v.dirLog(v.set.db, dir)
	if err != nil {
		return err
	}
	for _, seq := range seqs {
		t.b.Delete(logKey(v.hdr.ID, dir, seq))
		t.b.Delete(logOrderKey(v.hdr.ID, seq))
		v.logCount--
	}
	t.b.Delete(truncatedKey(v.hdr.ID, dir))
	return nil
}

// readLogInto adds directory st.FID's resolution log to st. Callers hold
// v.mu.
func (v *Volume) readLogInto(st *proto.VnodeState) error {
	ops, truncated, err := v.logOf(st.FID.Vnode)
	if err != nil {
		return err
	}
	for _, op := range ops {
		st.Log = append(st.Log, LogToWire(op))
	}
	st.LogTruncated = truncated
	return nil
}

// LogToWire and LogFromWire convert a log record to and from its wire form.
func LogToWire(op resolve.LogOp) proto.DirLogOp {
	return proto.DirLogOp{Kind: uint8(op.Kind), Store: op.Store, Name: op.Name, FID: op.FID, Type: op.Type,
		ObjVV: op.ObjVV, Peer: op.Peer, PeerName: op.PeerName}
}

// LogFromWire is the inverse of LogToWire.
func LogFromWire(op proto.DirLogOp) resolve.LogOp {
	return resolve.LogOp{Kind: resolve.OpKind(op.Kind), Store: op.Store, Name: op.Name, FID: op.FID, Type: op.Type,
		ObjVV: op.ObjVV, Peer: op.Peer, PeerName: op.PeerName}
}

// ApplyMerge applies a directory merge (resolve.MergeDir's actions for
// this replica): the directory must still hold version m.Expect. Names go
// (with the objects only they held) or come (with a placeholder for an
// object this replica lacks, resolved on its first access); the directory
// takes version m.VV and drops its log.
func (v *Volume) ApplyMerge(m proto.MergeActions) (*Change, error) {
	return v.update(proto.StoreID{}, func(t *txn) error {
		d, err := t.getDir(m.Dir)
		if err != nil {
			return err
		}
		if d.VV != m.Expect {
			return proto.Errorf(proto.CodeStale, fmt.Sprintf("merge %v: the replica changed since it was read", m.Dir))
		}
		for _, a := range m.Actions {
			switch {
			case a.Conflict:
				if err := t.makeConflict(m.Dir, d, m.VV, a); err != nil {
					return err
				}
				continue
			case a.Dissolve:
				if err := t.dissolve(m.Dir, d, a); err != nil {
					return err
				}
				continue
			}
			if a.Delete {
				e, err := t.lookup(m.Dir.Vnode, a.Name)
				if err == proto.ErrNotFound {
					continue
				}
				if err != nil {
					return err
				}
				t.delEntry(m.Dir.Vnode, a.Name, e.Vnode)
				d.Size--
				if e.Type == proto.TypeDir {
					d.Nlink-- // its ".."
				}
				if n, err := t.get(e.Vnode); err == nil && n.Type == proto.TypeDir {
					other, err := t.v.otherName(e.Vnode, m.Dir.Vnode, a.Name)
					if err != nil {
						return err
					}
					if other {
						continue // a directory that moved (inserted under its new name first)
					}
				}
				if err := t.unref(proto.FID{Volume: v.hdr.ID, Vnode: e.Vnode, Unique: e.Unique}); err != nil {
					return err
				}
				continue
			}
			if a.FID.Volume != v.hdr.ID {
				return proto.ErrCrossDevice
			}
			if _, err := t.lookup(m.Dir.Vnode, a.Name); err == nil {
				return proto.Errorf(proto.CodeExists, fmt.Sprintf("merge %v: %s exists", m.Dir, a.Name))
			}
			n, err := t.insertEntry(m.Dir.Vnode, d, proto.DirEntry{Name: a.Name, FID: a.FID, Type: a.Type})
			if err != nil {
				return err
			}
			if n == nil {
				continue // a placeholder
			}
			if n.Type != proto.TypeDir {
				n.Nlink++ // its old name, if it moved, goes in the next step
			}
			n.Parent = m.Dir.Vnode // a directory that moved here changes parent
			t.dirty[a.FID.Vnode] = n
		}
		if !m.Final {
			t.dirty[m.Dir.Vnode] = d
			return nil
		}
		d.VV = m.VV
		d.Flags &^= flagCOP2
		d.Mtime, d.Ctime = t.now, t.now
		t.dirty[m.Dir.Vnode] = d
		t.ch.FIDs = append(t.ch.FIDs, m.Dir)
		return t.clearLog(m.Dir.Vnode)
	})
}

// otherName reports whether object vn has a name other than name in
// directory dir (committed state).
func (v *Volume) otherName(vn, dir uint32, name string) (bool, error) {
	p := parentPrefix(v.hdr.ID, vn)
	it, err := v.set.db.NewIter(p, prefixEnd(p))
	if err != nil {
		return false, err
	}
	defer it.Close()
	self := string(parentKey(v.hdr.ID, vn, dir, name))
	for it.First(); it.Valid(); it.Next() {
		if string(it.Key()) != self {
			return true, nil
		}
	}
	return false, it.Error()
}

// makeConflict makes name a.Name of directory dir (d) the new conflict
// object a.FID holding a.Versions, at version vv on every replica. This
// replica's object for the name moves into it (the reference passes, so
// nothing is unlinked); the other versions are referenced, as placeholders
// where this replica lacks them (resolution fills them).
func (t *txn) makeConflict(dir proto.FID, d *vnode, vv proto.VV, a proto.MergeAction) error {
	if a.FID.Volume != t.v.hdr.ID {
		return proto.ErrCrossDevice
	}
	if _, err := t.get(a.FID.Vnode); err == nil {
		return proto.Errorf(proto.CodeExists, fmt.Sprintf("merge: conflict object %v exists", a.FID))
	}
	gov, err := dirACL(d)
	if err != nil {
		return err
	}
	ro, err := acl.Encode(readOnly(gov))
	if err != nil {
		return err
	}
	vv.Store = proto.StoreID{}
	c := &vnode{Type: proto.TypeDir, Mode: d.Mode & 0o555, UID: d.UID, GID: d.GID, Nlink: 2,
		Unique: a.FID.Unique, Mtime: t.now, Ctime: t.now, VV: vv, Parent: dir.Vnode, Flags: flagConflict, ACL: ro}
	old, err := t.lookup(dir.Vnode, a.Name)
	if err != nil && err != proto.ErrNotFound {
		return err
	}
	had := err == nil
	moved := false
	for _, ver := range a.Versions {
		if ver.FID.Volume != t.v.hdr.ID {
			return proto.ErrCrossDevice
		}
		n, err := t.insertEntry(a.FID.Vnode, c, ver)
		if err != nil {
			return err
		}
		if n == nil {
			continue // a placeholder
		}
		if had && old.Vnode == ver.FID.Vnode && old.Unique == ver.FID.Unique {
			moved = true // the name's reference passes to the conflict
		} else if n.Type != proto.TypeDir {
			n.Nlink++
		}
		n.Parent = a.FID.Vnode
		t.dirty[ver.FID.Vnode] = n
	}
	if had {
		t.delEntry(dir.Vnode, a.Name, old.Vnode)
		d.Size--
		if old.Type == proto.TypeDir {
			d.Nlink--
		}
		if !moved {
			if err := t.unref(proto.FID{Volume: t.v.hdr.ID, Vnode: old.Vnode, Unique: old.Unique}); err != nil {
				return err
			}
		}
	}
	t.setEntry(dir.Vnode, a.Name, entry{Vnode: a.FID.Vnode, Unique: a.FID.Unique, Type: proto.TypeDir})
	d.Size++
	d.Nlink++
	t.dirty[a.FID.Vnode] = c
	t.ch.fileDelta++
	t.ch.FIDs = append(t.ch.FIDs, a.FID)
	t.v.reserve(a.FID)
	return nil
}

// insertEntry adds de to directory dir (d), counting it in d's size and
// links. It returns the object de names, or nil when this replica lacks
// it and a placeholder took its place; the caller counts the object's new
// link.
func (t *txn) insertEntry(dir uint32, d *vnode, de proto.DirEntry) (*vnode, error) {
	t.setEntry(dir, de.Name, entry{Vnode: de.FID.Vnode, Unique: de.FID.Unique, Type: de.Type})
	d.Size++
	if de.Type == proto.TypeDir {
		d.Nlink++
	}
	n, err := t.get(de.FID.Vnode)
	switch {
	case err == proto.ErrNotFound:
		t.placeholder(dir, de)
		return nil, nil
	case err != nil:
		return nil, err
	case n.Unique != de.FID.Unique:
		return nil, proto.Errorf(proto.CodeExists, fmt.Sprintf("merge: vnode %d holds another object than %v", de.FID.Vnode, de.FID))
	}
	return n, nil
}

// readOnly is a conflict object's ACL: its directory's with every right
// but read and lookup taken away, so its versions cannot change.
func readOnly(a acl.ACL) acl.ACL {
	var out acl.ACL
	for _, e := range a.Positive {
		if r := e.Rights & (acl.Read | acl.Lookup); r != 0 {
			out.Positive = append(out.Positive, acl.Entry{ID: e.ID, Rights: r})
		}
	}
	out.Negative = slices.Clone(a.Negative)
	return out
}

// dissolve removes the conflict object a.FID at name a.Name of directory
// dir (d): each version listed in a.Versions takes the name given there
// (the conflict's reference passes to it), the others go.
func (t *txn) dissolve(dir proto.FID, d *vnode, a proto.MergeAction) error {
	e, err := t.lookup(dir.Vnode, a.Name)
	if err != nil {
		return err
	}
	if e.Vnode != a.FID.Vnode || e.Unique != a.FID.Unique {
		return proto.Errorf(proto.CodeStale, fmt.Sprintf("%s no longer names conflict %v", a.Name, a.FID))
	}
	c, err := t.get(e.Vnode)
	if err != nil {
		return err
	}
	if c.Flags&flagConflict == 0 {
		return proto.Errorf(proto.CodeInvalid, fmt.Sprintf("%v is not a conflict", a.FID))
	}
	keep := map[proto.FID]string{}
	for _, ver := range a.Versions {
		if ver.Name != a.Name {
			if _, err := t.lookup(dir.Vnode, ver.Name); err == nil {
				return proto.Errorf(proto.CodeExists, fmt.Sprintf("%s exists", ver.Name))
			}
		}
		keep[ver.FID] = ver.Name
	}
	kids, err := t.v.allEntries(e.Vnode)
	if err != nil {
		return err
	}
	t.delEntry(dir.Vnode, a.Name, e.Vnode)
	d.Size--
	d.Nlink--
	for _, k := range kids {
		t.delEntry(e.Vnode, k.Name, k.FID.Vnode)
		name, kept := keep[k.FID]
		if !kept {
			if err := t.unref(k.FID); err != nil {
				return err
			}
			continue
		}
		delete(keep, k.FID)
		t.setEntry(dir.Vnode, name, entry{Vnode: k.FID.Vnode, Unique: k.FID.Unique, Type: k.Type})
		d.Size++
		if k.Type == proto.TypeDir {
			d.Nlink++
		}
		if n, err := t.get(k.FID.Vnode); err == nil {
			n.Parent = dir.Vnode
			t.dirty[k.FID.Vnode] = n
		}
	}
	if len(keep) > 0 {
		return proto.Errorf(proto.CodeInvalid, fmt.Sprintf("not versions of conflict %v: %v", a.FID, keep))
	}
	t.drop(e.Vnode, c)
	return t.clearLog(e.Vnode)
}
