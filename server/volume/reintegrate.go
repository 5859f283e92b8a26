package volume

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/coda-fs/coda/server/proto"
	"github.com/coda-fs/coda/server/store"
)

// Reintegration. A client that worked disconnected replays its log (CML)
// in batches: Reintegrate applies a batch's records in order in one
// transaction, so a batch of hundreds of updates costs one durable commit
// (and, on the client's side, one round trip and one COP2) instead of one
// each. Each record keeps its own store id; the objects the batch changes
// carry the batch's store id, which its COP2 names.
//
// A replica remembers, per client, the store ids of the last records it
// took in batches (key 'M' vol client, the newest reintRing of them): a
// batch sent again after its reply was lost skips them, so every record is
// applied once. (A client resends from the head of its log, so a record
// whose outcome it does not know is in every batch it sends until one is
// acknowledged: the ring holds it as long as needed.) A record sent alone
// before, and applied, is recognised as a retried update always is, by its
// objects' last store id.

const pfxReint = 'M'

func reintKey(vol uint32, client uint64) []byte {
	k := binary.BigEndian.AppendUint32([]byte{pfxReint}, vol)
	return binary.BigEndian.AppendUint64(k, client)
}

// A Record is one logged update of a reintegration batch.
type Record struct {
	sid   proto.StoreID
	fids  []proto.FID       // the objects it names
	cont  store.ContainerID // a store's container, removed if not used
	apply func(t *txn, c Cred) error
}

// CreateRecord is a logged create, mkdir or symlink.
func CreateRecord(a CreateArgs) Record {
	return Record{sid: a.StoreID, fids: []proto.FID{a.Dir, a.FID}, apply: func(t *txn, c Cred) error {
		_, _, err := t.create(c, a)
		return err
	}}
}

// RemoveRecord is a logged remove or rmdir.
func RemoveRecord(r proto.Remove, rmdir bool) Record {
	return Record{sid: r.StoreID, fids: []proto.FID{r.Dir}, apply: func(t *txn, c Cred) error {
		_, _, err := t.remove(c, r, rmdir)
		return err
	}}
}

// RenameRecord is a logged rename.
func RenameRecord(a proto.Rename) Record {
	return Record{sid: a.StoreID, fids: []proto.FID{a.FromDir, a.ToDir}, apply: func(t *txn, c Cred) error {
		var res RenameResult
		return t.rename(c, a, &res)
	}}
}

// LinkRecord is a logged link.
func LinkRecord(dir proto.FID, name string, target proto.FID, sid proto.StoreID) Record {
	return Record{sid: sid, fids: []proto.FID{dir, target}, apply: func(t *txn, c Cred) error {
		_, _, err := t.link(c, dir, name, target, sid)
		return err
	}}
}

// StoreRecord is a logged store; its container (if any) is durable, and
// Reintegrate removes it unless the record is applied.
func StoreRecord(a StoreArgs) Record {
	return Record{sid: a.StoreID, fids: []proto.FID{a.FID}, cont: a.Container, apply: func(t *txn, c Cred) error {
		_, err := t.store(c, a)
		return err
	}}
}

// SetAttrRecord is a logged setattr. A size change is not taken in a
// batch (a truncation copies data before its transaction): it is sent
// alone.
func SetAttrRecord(a proto.SetAttr) (Record, error) {
	if a.Mask&proto.SetSize != 0 {
		return Record{}, proto.Errorf(proto.CodeInvalid, "a size change cannot be reintegrated in a batch")
	}
	return Record{sid: a.StoreID, fids: []proto.FID{a.FID}, apply: func(t *txn, c Cred) error {
		_, err := t.setAttr(c, a, 0, 0)
		return err
	}}, nil
}

// RecordError is a batch refused because of one of its records.
type RecordError struct {
	Index int // the record refused
	Err   error
}

func (e *RecordError) Error() string { return fmt.Sprintf("record %d: %v", e.Index, e.Err) }
func (e *RecordError) Unwrap() error { return e.Err }

// Reintegrate applies recs in order as c, in one transaction whose store
// id is sid: all of them or, when one is refused (a *RecordError says
// which and why), none. It returns the statuses of the objects the batch
// changed that still exist, for c (of the objects the records name, when
// every record was applied before).
func (v *Volume) Reintegrate(c Cred, sid proto.StoreID, recs []Record) ([]proto.Attr, *Change, error) {
	var attrs []proto.Attr
	used := make([]bool, len(recs))
	ch, err := v.transact(sid, true, func(t *txn) error {
		rings := map[uint64]*reintRing{}
		applied := 0
		for i, r := range recs {
			ring := rings[r.sid.Client]
			if ring == nil {
				ring = t.reintRing(r.sid.Client)
				rings[r.sid.Client] = ring
			}
			if ring.has[r.sid.Seq] {
				continue // taken in an earlier batch
			}
			switch err := r.apply(t, c); {
			case err == errApplied:
				continue // sent alone before, and applied
			case err != nil:
				return &RecordError{Index: i, Err: err}
			}
			used[i] = true
			applied++
			ring.add(r.sid.Seq)
		}
		if applied == 0 {
			var err error
			attrs, err = t.named(c, recs)
			if err != nil {
				return err
			}
			return errApplied
		}
		for client, ring := range rings {
			t.b.Set(reintKey(v.hdr.ID, client), ring.encode())
		}
		var err error
		attrs, err = t.changed(c)
		return err
	})
	for i, r := range recs {
		if !used[i] || err != nil || ch.Duplicate {
			if r.cont != 0 {
				v.set.db.RemoveContainer(r.cont)
			}
		}
	}
	if err != nil {
		return nil, nil, err
	}
	return attrs, ch, nil
}

// reintRingSize is how many of a client's records a replica remembers
// having taken in batches: eight batches' worth.
const reintRingSize = 8 * proto.MaxReintRecords

// reintRing is the store ids of the last records a replica took from one
// client in batches, oldest first.
type reintRing struct {
	seqs []uint64
	has  map[uint64]bool
}

// reintRing reads client's ring.
func (t *txn) reintRing(client uint64) *reintRing {
	ring := &reintRing{has: map[uint64]bool{}}
	b, err := t.r.Get(reintKey(t.v.hdr.ID, client))
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			t.v.set.log.Warn("reintegration: cannot read the records taken", "volume", t.v.hdr.Name, "err", err)
		}
		return ring
	}
	for ; len(b) >= 8; b = b[8:] {
		ring.add(binary.BigEndian.Uint64(b))
	}
	return ring
}

func (r *reintRing) add(seq uint64) {
	r.seqs = append(r.seqs, seq)
	r.has[seq] = true
}

// encode keeps the newest reintRingSize store ids.
func (r *reintRing) encode() []byte {
	seqs := r.seqs[max(0, len(r.seqs)-reintRingSize):]
	b := make([]byte, 0, 8*len(seqs))
	for _, s := range seqs {
		b = binary.BigEndian.AppendUint64(b, s)
	}
	return b
}

// changed lists the statuses of the objects this transaction changed that
// still exist, once each.
func (t *txn) changed(c Cred) ([]proto.Attr, error) {
	var out []proto.Attr
	seen := map[uint32]bool{}
	for _, fid := range t.ch.FIDs {
		n := t.dirty[fid.Vnode]
		if n == nil || seen[fid.Vnode] || n.Unique != fid.Unique {
			continue
		}
		seen[fid.Vnode] = true
		a, err := attrFor(t.get, c, fid, n)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// named lists the current statuses of the objects recs name that exist.
func (t *txn) named(c Cred, recs []Record) ([]proto.Attr, error) {
	var out []proto.Attr
	seen := map[proto.FID]bool{}
	for _, r := range recs {
		for _, fid := range r.fids {
			if fid.IsZero() || seen[fid] {
				continue
			}
			seen[fid] = true
			n, err := t.getFID(fid)
			if err != nil {
				continue
			}
			a, err := attrFor(t.get, c, fid, n)
			if err != nil {
				return nil, err
			}
			out = append(out, a)
		}
	}
	return out, nil
}
