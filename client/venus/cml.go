package venus

import (
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/coda-fs/coda/server/proto"
	"github.com/coda-fs/coda/server/store"
)

// The client modification log (CML). While no replica of a volume can be
// reached, venus applies each update to its cache alone (emulate.go) and
// appends it here: the request as it would have gone to the servers, with
// its store id and the local uid that made it. The log lives in the cache
// database beside the objects and entries it changed, committed before the
// update returns (a kill -9 loses nothing acknowledged). When a replica is
// reachable again the records are replayed in order (reintegrate.go).
//
// Objects a record names are pinned: venus keeps serving its own version
// of them (no revalidation, no eviction) until the record is reintegrated.
//
// Records cancel as in Coda: a newer store of a file supersedes older
// ones, and everything done to an object created in the log goes when the
// object is removed again (create, write 10 times, rename, remove: nothing
// is left to send). Records being shipped are never touched.

// prefCML keys the log: L volume seq → record.
const prefCML = 'L'

// cmlRecord is one logged update.
type cmlRecord struct {
	seq     uint64
	uid     uint32 // the local uid whose token ships it
	who     int32  // the Coda user it acted as (0: anonymous)
	op      proto.Op
	sid     proto.StoreID
	req     []byte      // the request, proto-encoded
	subject proto.FID   // the object it changes
	fids    []proto.FID // every object it names (pinned while it is logged)
	// created: the record made subject (create, mkdir, symlink);
	// replaces: a rename over an existing name, or a link (cannot cancel).
	created, replaces bool
	size              int64  // bytes of data a store ships
	cont              string // the container holding a store's data when it was logged
	// base is the servers' version the change was made on (stores of
	// objects that existed on the servers): the servers refuse the store
	// if they hold another (a local/global conflict). force: send it
	// anyway (cfs preservelocal).
	base           proto.VV
	hasBase, force bool
	shipping       bool // being reintegrated: not to be cancelled
	// conflict: why the servers refused it (it waits, with what depends
	// on it, until cfs preservelocal or discardlocal; not kept across
	// restarts: it is tried again).
	conflict string
	made     int64 // when it was logged (ns since the epoch)
}

func cmlKey(vol uint32, seq uint64) []byte {
	k := make([]byte, 13)
	k[0] = prefCML
	binary.BigEndian.PutUint32(k[1:], vol)
	binary.BigEndian.PutUint64(k[5:], seq)
	return k
}

const cmlRecordVersion = 1

func (r *cmlRecord) encode() []byte {
	var e proto.Encoder
	e.U8(cmlRecordVersion)
	e.U32(r.uid)
	e.I32(r.who)
	e.U16(uint16(r.op))
	e.StoreID(r.sid)
	e.Bytes(r.req)
	e.FID(r.subject)
	e.U32(uint32(len(r.fids)))
	for _, f := range r.fids {
		e.FID(f)
	}
	e.Bool(r.created)
	e.Bool(r.replaces)
	e.I64(r.size)
	e.String(r.cont)
	e.VV(r.base)
	e.Bool(r.hasBase)
	e.Bool(r.force)
	e.I64(r.made)
	return e.B
}

func decodeCMLRecord(seq uint64, b []byte) (*cmlRecord, error) {
	d := proto.NewDecoder(b)
	if v := d.U8(); v != cmlRecordVersion {
		return nil, fmt.Errorf("log record %d has version %d", seq, v)
	}
	r := &cmlRecord{seq: seq, uid: d.U32(), who: d.I32(), op: proto.Op(d.U16()), sid: d.StoreID(), req: d.Bytes(proto.MaxFrame)}
	r.subject = d.FID()
	for n := d.Count(16, 12); n > 0; n-- {
		r.fids = append(r.fids, d.FID())
	}
	r.created, r.replaces, r.size, r.cont = d.Bool(), d.Bool(), d.I64(), d.String(64)
	r.base, r.hasBase, r.force, r.made = d.VV(), d.Bool(), d.Bool(), d.I64()
	if err := d.Done(); err != nil {
		return nil, fmt.Errorf("log record %d: %w", seq, err)
	}
	return r, nil
}

// request decodes the record's request.
func (r *cmlRecord) request() (proto.Message, error) {
	m := proto.NewLoggedRequest(r.op)
	if m == nil {
		return nil, fmt.Errorf("log record %d: op %v cannot be logged", r.seq, r.op)
	}
	return m, proto.Unmarshal(r.req, m)
}

// newReply makes the reply message of the record's op.
func (r *cmlRecord) newReply() proto.Message {
	switch r.op {
	case proto.OpStore, proto.OpSetAttr:
		return &proto.AttrReply{}
	case proto.OpRename:
		return &proto.RenameReply{}
	}
	return &proto.DirOpReply{}
}

// cmlAppend logs rec for volume vol, cancelling what it makes pointless,
// and writes it (and every cache change before it) to the cache database
// without waiting for the disk: a crash of venus loses nothing, a power
// cut at most the writes of the last moments. Callers hold v.mu.
func (v *Venus) cmlAppend(vol *volume, rec *cmlRecord) {
	switch {
	case rec.op == proto.OpStore:
		var older []*cmlRecord
		for _, old := range vol.naming[rec.subject] {
			if old.op == proto.OpStore && old.subject == rec.subject {
				older = append(older, old)
			}
		}
		v.cmlDrop(vol, older)
	case (rec.op == proto.OpRemove || rec.op == proto.OpRmdir) && v.cmlCancels(vol, rec.subject):
		v.cmlDrop(vol, vol.naming[rec.subject])
		v.cmlCommit()
		return
	}
	v.cmlNext++
	rec.seq = v.cmlNext
	v.cmlAdd(vol, rec)
	v.meta.write(func(b *store.Batch) { b.Set(cmlKey(vol.id, rec.seq), rec.encode()) })
	v.cmlCommit()
}

// cmlAdd appends rec to vol's log and its index, and pins what it names.
// Callers hold v.mu.
func (v *Venus) cmlAdd(vol *volume, rec *cmlRecord) {
	vol.cml = append(vol.cml, rec)
	for _, f := range rec.fids {
		v.pins[f]++
	}
	if vol.naming == nil {
		vol.naming = map[proto.FID][]*cmlRecord{}
	}
	for _, f := range rec.names() {
		vol.naming[f] = append(vol.naming[f], rec)
	}
}

// names lists the objects r names (its subject and fids), once each.
func (r *cmlRecord) names() []proto.FID {
	out := make([]proto.FID, 0, len(r.fids)+1)
	out = append(out, r.subject)
	for _, f := range r.fids {
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

// cmlCancels reports whether every record about obj can go with its
// removal: obj was created in the log, nothing else names it, and no
// record about it has effects beyond it (or is being shipped).
func (v *Venus) cmlCancels(vol *volume, obj proto.FID) bool {
	created := false
	for _, r := range vol.naming[obj] {
		if r.subject != obj {
			return false // e.g. a name made or moved in it
		}
		if r.shipping || r.replaces {
			return false
		}
		created = created || r.created
	}
	return created
}

// logBase is the servers' version a logged change of o is checked
// against (a store, a remove): o's version when the log names o nowhere
// else (this change is the log's first of o), or, for a store, the base
// of the earlier stores of o it supersedes when nothing else names o. A
// later change gets none: the servers checked the first one, and what the
// log did to o since is this client's own. Callers hold v.mu.
func (v *Venus) logBase(vol *volume, o *object, op proto.Op) (proto.VV, bool) {
	recs := vol.naming[o.fid]
	if len(recs) == 0 {
		return o.attr.VV, true
	}
	if op != proto.OpStore {
		return proto.VV{}, false
	}
	for _, r := range recs {
		if r.op != proto.OpStore || r.subject != o.fid || r.shipping {
			return proto.VV{}, false
		}
	}
	return recs[0].base, recs[0].hasBase
}

// cmlDrop removes the records drop of vol's log, except those being
// shipped. Callers hold v.mu.
func (v *Venus) cmlDrop(vol *volume, drop []*cmlRecord) {
	var gone []*cmlRecord
	for _, r := range drop {
		if !r.shipping {
			gone = append(gone, r)
		}
	}
	v.cmlRemove(vol, gone)
}

// cmlRemove takes the records gone out of vol's log, wherever they are,
// and forgets them. Callers hold v.mu.
func (v *Venus) cmlRemove(vol *volume, gone []*cmlRecord) {
	if len(gone) == 0 {
		return
	}
	set := make(map[*cmlRecord]bool, len(gone))
	for _, r := range gone {
		set[r] = true
	}
	kept := vol.cml[:0]
	for _, r := range vol.cml {
		if !set[r] {
			kept = append(kept, r)
		}
	}
	clear(vol.cml[len(kept):])
	vol.cml = kept
	for r := range set {
		v.cmlForget(vol, r)
	}
}

// cmlForget deletes r (already out of vol.cml) from the database and the
// index, and unpins its objects. Callers hold v.mu.
func (v *Venus) cmlForget(vol *volume, r *cmlRecord) {
	for _, f := range r.fids {
		if v.pins[f]--; v.pins[f] <= 0 {
			delete(v.pins, f)
		}
	}
	for _, f := range r.names() {
		list := vol.naming[f]
		if i := slices.Index(list, r); i >= 0 {
			list = slices.Delete(list, i, i+1)
		}
		if len(list) == 0 {
			delete(vol.naming, f)
		} else {
			vol.naming[f] = list
		}
	}
	v.meta.write(func(b *store.Batch) { b.Delete(cmlKey(vol.id, r.seq)) })
	if r.conflict != "" {
		v.endLocalConflict(vol, r)
	}
}

// preserve has r sent again over whatever the servers hold now (cfs
// preservelocal). Callers hold v.mu, and commit.
func (v *Venus) preserve(vol *volume, r *cmlRecord) {
	v.endLocalConflict(vol, r)
	r.force, r.conflict = true, ""
	v.meta.write(func(b *store.Batch) { b.Set(cmlKey(vol.id, r.seq), r.encode()) })
}

// cmlCommit writes the pending cache changes to the database's log now,
// not waiting for the disk (the flusher's next sync covers them).
// Callers hold v.mu.
func (v *Venus) cmlCommit() {
	if err := v.meta.apply(); err != nil {
		v.log.Error("client modification log not saved", "err", err)
	}
}

// pinned reports whether o has logged updates not yet reintegrated.
// Callers hold v.mu.
func (v *Venus) pinned(o *object) bool { return v.pins[o.fid] > 0 }

// loadCML reads every volume's log at startup and pins its objects.
func (v *Venus) loadCML() error {
	return v.meta.scan(prefCML, func(k, val []byte) error {
		if len(k) != 13 {
			return fmt.Errorf("bad log key %x", k)
		}
		id, seq := binary.BigEndian.Uint32(k[1:]), binary.BigEndian.Uint64(k[5:])
		r, err := decodeCMLRecord(seq, val)
		if err != nil {
			return err
		}
		v.cmlAdd(v.volumeFor(id), r)
		v.cmlNext = max(v.cmlNext, seq)
		return nil
	})
}

// CMLStatus is what a volume's log holds.
type CMLStatus struct {
	Records int
	Bytes   int64
}

// cmlStatus sums vol's log. Callers hold v.mu.
func cmlStatus(vol *volume) CMLStatus {
	var s CMLStatus
	for _, r := range vol.cml {
		s.Records++
		s.Bytes += int64(len(r.req)) + r.size
	}
	return s
}

// LocalRecord describes one logged update (cfs listlocal).
type LocalRecord struct {
	Seq     uint64    `json:"seq"`
	UID     uint32    `json:"uid"`
	Op      string    `json:"op"`
	Subject proto.FID `json:"subject"`
	What    string    `json:"what"`
	Bytes   int64     `json:"bytes,omitempty"`
}

// describe says what r does, from its request.
func (r *cmlRecord) describe() string {
	req, err := r.request()
	if err != nil {
		return err.Error()
	}
	switch m := req.(type) {
	case *proto.Create:
		if r.op == proto.OpSymlink {
			return fmt.Sprintf("%q in %v -> %q", m.Name, m.Dir, m.Target)
		}
		return fmt.Sprintf("%q in %v (mode %o)", m.Name, m.Dir, m.Mode)
	case *proto.Remove:
		return fmt.Sprintf("%q in %v", m.Name, m.Dir)
	case *proto.Rename:
		return fmt.Sprintf("%q in %v to %q in %v", m.FromName, m.FromDir, m.ToName, m.ToDir)
	case *proto.Link:
		return fmt.Sprintf("%q in %v to %v", m.Name, m.Dir, m.Target)
	case *proto.Store:
		return fmt.Sprintf("%v: %d bytes", m.FID, m.Size)
	case *proto.SetAttr:
		return fmt.Sprintf("%v: attributes (mask %#x)", m.FID, m.Mask)
	}
	return ""
}

// line is r on one line of a checkpoint's listing.
func (r *cmlRecord) line() string {
	return fmt.Sprintf("%6d uid %d %-8s %v %s", r.seq, r.uid, r.op, r.subject, r.describe())
}

// ListLocal lists the logged updates of the volume holding ino, oldest
// first, and why reintegration waits ("" when it does not).
func (v *Venus) ListLocal(ino uint64) ([]LocalRecord, string, error) {
	o, err := v.object(ino)
	if err != nil {
		return nil, "", err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	vol := v.volumeFor(o.fid.Volume)
	out := make([]LocalRecord, 0, len(vol.cml))
	for _, r := range vol.cml {
		out = append(out, LocalRecord{Seq: r.seq, UID: r.uid, Op: r.op.String(), Subject: r.subject, What: r.describe(), Bytes: r.size})
	}
	return out, vol.waitReason, nil
}

// DiscardLocal drops the oldest logged update of the volume holding ino
// (all of them with all), for root or the user who made them; the objects
// they named are forgotten, to be fetched again from the servers. It
// returns how many went.
func (v *Venus) DiscardLocal(ino uint64, c Caller, all bool) (int, error) {
	o, err := v.object(ino)
	if err != nil {
		return 0, err
	}
	v.mu.Lock()
	vol := v.volumeFor(o.fid.Volume)
	empty := len(vol.cml) == 0
	v.mu.Unlock()
	if !empty {
		// Nothing logged goes without a copy in the spool.
		if _, err := v.spoolCheckpoint(vol); err != nil {
			return 0, fmt.Errorf("checkpoint before the discard: %w", err)
		}
	}
	defer v.startReintegration() // what waited on a discarded record may go now
	var notes kernelNotes
	defer func() { v.notify(notes, kernelWait) }() // after v.mu is released
	v.mu.Lock()
	defer v.mu.Unlock()
	n := 0
	for len(vol.cml) > 0 && (all || n == 0) {
		r := vol.cml[0]
		if r.shipping {
			return n, proto.Errorf(proto.CodeBusy, "the oldest update is being sent to the servers now")
		}
		if c.UID != 0 && c.UID != r.uid {
			return n, proto.Errorf(proto.CodePerm, fmt.Sprintf("update %d was made by local uid %d: only that user or root may discard it", r.seq, r.uid))
		}
		notes.add(v.discard(vol, []*cmlRecord{r}))
		n++
	}
	v.cmlCommit()
	return n, nil
}

// discard drops recs from vol's log: the objects they named are
// forgotten, to be fetched again from the servers, and the returned notes
// say what the kernel must forget. Callers hold v.mu, and commit.
func (v *Venus) discard(vol *volume, recs []*cmlRecord) kernelNotes {
	var notes kernelNotes
	v.cmlRemove(vol, recs)
	for _, r := range recs {
		for _, f := range r.fids {
			if ob := v.objs[f]; ob != nil && !v.pinned(ob) {
				ob.cbGen, ob.dir = 0, nil // fetched again from the servers
				notes.inodes = append(notes.inodes, ob.ino)
				notes.children = append(notes.children, ob.ino)
				if ob.cont != "" && ob.of == nil && !ob.pending {
					v.dropContainer(ob)
				}
				v.meta.putObject(ob)
			}
		}
	}
	if len(vol.cml) == 0 {
		vol.waitReason = ""
	}
	return notes
}

// PreserveLocal has the oldest logged update of the volume holding ino
// (every one with all) sent over whatever the servers hold now, instead of
// waiting on a change made there meanwhile (cfs preservelocal), and starts
// reintegration. It returns how many records it marked.
func (v *Venus) PreserveLocal(ino uint64, c Caller, all bool) (int, error) {
	o, err := v.object(ino)
	if err != nil {
		return 0, err
	}
	v.mu.Lock()
	vol := v.volumeFor(o.fid.Volume)
	n := 0
	for _, r := range vol.cml {
		if n > 0 && !all {
			break
		}
		if c.UID != 0 && c.UID != r.uid {
			v.mu.Unlock()
			return n, proto.Errorf(proto.CodePerm, fmt.Sprintf("update %d was made by local uid %d: only that user or root may preserve it", r.seq, r.uid))
		}
		v.preserve(vol, r)
		n++
	}
	v.cmlCommit()
	v.mu.Unlock()
	v.startReintegration()
	return n, nil
}
