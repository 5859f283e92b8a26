package volume

import (
	"encoding/binary"
	"errors"
	"fmt"

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
