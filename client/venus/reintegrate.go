package venus

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/coda-fs/coda/server/proto"
	"github.com/coda-fs/coda/server/rpc"
)

// Reintegration replays a volume's CML on the servers once a replica is
// reachable again, oldest record first, each with the store id it was
// logged with (a record sent twice is applied once). It runs as the local
// user who made each record; a record whose user has no valid token waits,
// as does the rest of the log behind it, until clog gives one. The servers'
// replies replace the emulated versions of the objects no later record
// names. A record the servers refuse stays in the log (nothing is lost),
// with the records that name its object; the rest goes on, and cfs lv and
// cfs checklocal say why those wait.

// logging reports whether updates of volume id go to its log: it is
// disconnected or write-disconnected, or its log still holds updates (they
// go first).
func (v *Venus) logging(id uint32) bool {
	v.mu.Lock()
	vol := v.vols[id]
	pending := vol != nil && (len(vol.cml) > 0 || vol.wd.on)
	v.mu.Unlock()
	return pending || v.disconnected(id)
}

// startReintegration reintegrates, in the background, every volume whose
// log holds updates (a server came back, a user got a token).
func (v *Venus) startReintegration() {
	v.background(func() {
		v.mu.Lock()
		var ids []uint32
		for id, vol := range v.vols {
			if len(vol.cml) > 0 && !vol.reintegrating {
				ids = append(ids, id)
			}
		}
		v.mu.Unlock()
		for _, id := range ids {
			v.reintegrateMode(id, false)
		}
	})
}

// reintegrateMode replays volume id's log until it is empty or a record
// cannot go yet; a write-disconnected volume sends only the records old
// enough, for about its chunk of time, unless force (cfs fr, cfs strong),
// which also waits for a replay already running to end and goes on after
// it.
func (v *Venus) reintegrateMode(id uint32, force bool) {
	v.mu.Lock()
	vol := v.volumeFor(id)
	for force && vol.reintegrating {
		done := vol.reintDone
		v.mu.Unlock()
		select {
		case <-done:
		case <-v.closing:
			return
		}
		v.mu.Lock()
	}
	if vol.reintegrating || len(vol.cml) == 0 {
		v.mu.Unlock()
		return
	}
	vol.reintegrating = true
	vol.reintDone = make(chan struct{})
	trickle := vol.wd.on && !force
	v.mu.Unlock()
	if !trickle {
		v.awaitReplicas(id)
	}
	start, shipped := time.Now(), 0
	why, conflicted := "", false
	if !trickle {
		v.mu.Lock()
		total := len(vol.cml)
		v.mu.Unlock()
		v.event(nil, EventReintegrating, proto.FID{}, fmt.Sprintf("volume %s: reintegrating %d updates", vol.label(), total))
	}
	defer func() {
		v.mu.Lock()
		vol.reintegrating = false
		close(vol.reintDone)
		news := why != vol.waitReason
		vol.waitReason = why
		left := len(vol.cml)
		v.mu.Unlock()
		if shipped > 0 && !trickle || why != "" && (news || !trickle) {
			msg := fmt.Sprintf("volume %s: %d updates reintegrated in %v, %d left", vol.label(), shipped, time.Since(start).Round(time.Millisecond), left)
			if why != "" {
				msg += "; waiting: " + why
			}
			v.event(nil, EventReintegrated, proto.FID{}, msg)
			v.log.Info("reintegration", "volume", vol.label(), "shipped", shipped, "left", left, "waiting", why)
		}
	}()
	for {
		select {
		case <-v.closing:
			return
		default:
		}
		v.mu.Lock()
		if len(vol.cml) == 0 || trickle && !vol.due(vol.cml[0], start) {
			v.mu.Unlock()
			return
		}
		batch, sid := v.retryBatch(vol)
		if batch == nil {
			batch = v.nextBatch(vol, trickle, start)
		}
		if len(batch) == 0 {
			// Everything left waits on a record the servers refused.
			why = v.conflictWait(vol)
			v.mu.Unlock()
			return
		}
		for _, r := range batch {
			r.shipping = true
		}
		v.mu.Unlock()
		n := 0
		switch {
		case v.disconnected(id):
			why = "no replica reachable"
		case len(batch) == 1 && !batchable(batch[0]):
			if why = v.ship(vol, batch[0]); why == "" {
				n = 1
			}
		default:
			n, why = v.shipBatch(vol, batch, sid)
		}
		v.mu.Lock()
		var refused []*cmlRecord
		for _, r := range batch {
			r.shipping = false
			if r.conflict != "" {
				refused = append(refused, r)
			}
		}
		v.mu.Unlock()
		shipped += n
		if why != "" && len(refused) > 0 {
			// The servers refused a record: it waits (with what depends
			// on it) and the rest of the log goes on. A copy of the log
			// goes to the spool first.
			if !conflicted {
				conflicted = true
				if cp, err := v.spoolCheckpoint(vol); err != nil {
					v.log.Error("checkpoint of the log not written", "volume", vol.label(), "err", err)
				} else {
					v.log.Info("log checkpointed after a refused update", "volume", vol.label(), "archive", cp)
				}
			}
			v.event(nil, EventConflict, proto.FID{}, fmt.Sprintf("volume %s: %s; it waits (cfs checklocal, preservelocal, discardlocal), the rest of the log goes on", vol.label(), why))
			for _, r := range refused {
				v.applyPolicy(vol, r)
			}
			why = ""
			continue
		}
		if why != "" {
			return
		}
		v.mu.Lock()
		left := len(vol.cml)
		v.mu.Unlock()
		if !trickle && left > 0 {
			v.event(nil, EventReintegrating, proto.FID{}, fmt.Sprintf("volume %s: %d updates reintegrated, %d to go", vol.label(), shipped, left))
		}
	}
}

// maxBatchBytes bounds the requests of one batch (a frame holds 4 MiB).
const maxBatchBytes = 1 << 20

// nextBatch returns the records at the head of vol's log that go to the
// servers together: made by one local user, each one a batch may carry
// (else the head alone), at most proto.MaxReintRecords, and for a trickle
// only those due. Callers hold v.mu.
func (v *Venus) nextBatch(vol *volume, trickle bool, start time.Time) []*cmlRecord {
	var out []*cmlRecord
	blocked := map[proto.FID]bool{}
	bytes := 0
	for _, r := range vol.cml {
		if r.conflict != "" || r.dependsOn(blocked) {
			blocked[r.subject] = true // what names it waits too
			continue
		}
		if trickle && !vol.due(r, start) {
			break
		}
		bytes += len(r.req) + 16
		alone := !batchable(r)
		if len(out) > 0 && (len(out) == proto.MaxReintRecords || bytes > maxBatchBytes || r.uid != out[0].uid || alone) {
			break
		}
		out = append(out, r)
		if alone {
			break
		}
	}
	return out
}

// dependsOn reports whether r names an object in blocked.
func (r *cmlRecord) dependsOn(blocked map[proto.FID]bool) bool {
	if len(blocked) == 0 {
		return false
	}
	if blocked[r.subject] {
		return true
	}
	for _, f := range r.fids {
		if blocked[f] {
			return true
		}
	}
	return false
}

// conflictWait says why vol's log waits on records the servers refused.
// Callers hold v.mu.
func (v *Venus) conflictWait(vol *volume) string {
	for _, r := range vol.cml {
		if r.conflict != "" {
			return fmt.Sprintf("%s (%d logged updates wait: cfs preservelocal or discardlocal)", r.conflict, len(vol.cml))
		}
	}
	return ""
}

// batchable reports whether a batch may carry r: all but a size change
// (its servers copy data before their transaction), which goes alone.
func batchable(r *cmlRecord) bool {
	if r.op != proto.OpSetAttr {
		return true
	}
	req, err := r.request()
	return err == nil && req.(*proto.SetAttr).Mask&proto.SetSize == 0
}

// batchRefusal is a batch every replica refused because of one record.
type batchRefusal struct {
	index int
	err   error
}

func (e *batchRefusal) Error() string { return e.err.Error() }
func (e *batchRefusal) Unwrap() error { return e.err }

// refusal turns a batch's reply that refused a record into an error.
func refusal(m proto.Message) error {
	if r, ok := m.(*proto.ReintegrateReply); ok && r.Refused > 0 {
		return &batchRefusal{index: int(r.Refused) - 1, err: r.Err()}
	}
	return nil
}

// batchRetry is a batch sent with store id sid whose outcome is unknown.
type batchRetry struct {
	sid  proto.StoreID
	recs []*cmlRecord
}

// retryBatch returns the batch whose outcome is not known, and its store
// id, while its records are still the head of vol's log: a replica that
// took it then recognises it whole (its objects carry that store id), so
// that the COP2 that completes it names every replica. Callers hold v.mu.
func (v *Venus) retryBatch(vol *volume) ([]*cmlRecord, proto.StoreID) {
	r := vol.retry
	if r == nil {
		return nil, proto.StoreID{}
	}
	if len(vol.cml) >= len(r.recs) {
		same := true
		for i, rec := range r.recs {
			same = same && vol.cml[i] == rec && rec.conflict == ""
		}
		if same {
			return r.recs, r.sid
		}
	}
	vol.retry = nil
	return nil, proto.StoreID{}
}

// shipBatch sends records recs (the head of vol's log) in one
// Reintegrate, with store id sid (zero: a new one): the servers apply
// them in one transaction each, and one COP2 completes them. When a record
// is refused, the records before it go again as a batch and it goes alone
// (ship), which says why it cannot go. It returns how many records went
// and, when not all, why.
func (v *Venus) shipBatch(vol *volume, recs []*cmlRecord, sid proto.StoreID) (int, string) {
	c := Caller{UID: recs[0].uid}
	if idn, _ := v.identityOf(c); idn.uid != recs[0].who {
		return 0, fmt.Sprintf("no valid token for local uid %d (run clog as that user)", recs[0].uid)
	}
	ctx, cancel := context.WithTimeout(context.Background(), v.opts.DataTimeout)
	defer cancel()
	if err := v.claimFIDs(ctx, c, vol, recs); err != nil {
		return 0, "no replica reachable"
	}
	if sid == (proto.StoreID{}) {
		sid = v.nextStoreID()
	}
	req := &proto.Reintegrate{Volume: vol.id, StoreID: sid, Records: make([]proto.ReintRecord, len(recs))}
	var data multiSource
	defer data.close()
	for i, r := range recs {
		body := r.req
		if r.op == proto.OpStore || r.force {
			m, f, size, err := v.outgoing(r)
			if err != nil {
				return 0, err.Error()
			}
			if f != nil {
				if err := data.add(f, size); err != nil {
					return 0, err.Error()
				}
			}
			body = proto.Marshal(m)
		}
		req.Records[i] = proto.ReintRecord{Op: r.op, Req: body}
	}
	var opts *rpc.CallOpts
	if data.size > 0 {
		opts = &rpc.CallOpts{Upload: &rpc.Source{R: &data, Size: data.size, Extents: data.extents}}
	}
	st, resp, err := v.send(ctx, c, vol.id, proto.OpReintegrate, req, req.StoreID, func() proto.Message { return &proto.ReintegrateReply{} }, opts)
	v.mu.Lock()
	vol.retry = nil
	if err != nil && connFailure(err) {
		vol.retry = &batchRetry{sid: sid, recs: recs} // it may have been applied
	}
	v.mu.Unlock()
	var refused *batchRefusal
	switch {
	case errors.As(err, &refused) && refused.index < len(recs):
		n := 0
		if refused.index > 0 {
			var why string
			if n, why = v.shipBatch(vol, recs[:refused.index], proto.StoreID{}); why != "" {
				return n, why
			}
		}
		if why := v.ship(vol, recs[n]); why != "" {
			return n, why
		}
		return n + 1, ""
	case err != nil && connFailure(err):
		return 0, "no replica reachable"
	case err != nil:
		v.log.Warn("a batch of logged updates was refused; it stays in the log", "volume", vol.label(), "records", len(recs), "err", err)
		return 0, fmt.Sprintf("the servers refused %d logged updates: %v", len(recs), err)
	}
	v.shipped(vol, recs, replyAttrs(resp), st)
	return len(recs), ""
}

// claimFIDs gives the objects recs create under local FIDs FIDs the
// servers reserved, renaming them (and the records naming them) before
// the records go.
func (v *Venus) claimFIDs(ctx context.Context, c Caller, vol *volume, recs []*cmlRecord) error {
	remap := map[proto.FID]proto.FID{}
	for _, r := range recs {
		if r.created && isLocalFID(r.subject) {
			fid, err := v.newFID(ctx, c, vol.id)
			if err != nil {
				return err
			}
			remap[r.subject] = fid
		}
	}
	if len(remap) > 0 {
		v.mu.Lock()
		v.remapFIDs(vol, remap)
		v.mu.Unlock()
	}
	return nil
}

// outgoing is rec's request as it goes to the servers: a store's size is
// that of its data now (the open file it returns, which the caller
// closes), and after cfs preservelocal no version is checked.
func (v *Venus) outgoing(rec *cmlRecord) (proto.Message, *os.File, int64, error) {
	req, err := rec.request()
	if err != nil {
		return nil, nil, 0, err
	}
	var f *os.File
	var size int64
	if st, ok := req.(*proto.Store); ok {
		if f, size, err = v.shipData(rec); err != nil {
			return nil, nil, 0, err
		}
		st.Size = size
	}
	if b, ok := req.(proto.Based); ok && rec.force {
		b.SetBase(proto.VV{}, false) // cfs preservelocal: over the servers' version
	}
	return req, f, size, nil
}

// shipped drops recs, which the servers took, from vol's log and applies
// their reply attrs. A file a record stored holds venus's data in the
// servers' new version; anything else is taken from the servers again
// (others may have changed it meanwhile: a directory's entries above all),
// unless a later record changes it again.
func (v *Venus) shipped(vol *volume, recs []*cmlRecord, attrs []*proto.Attr, st stamp) {
	v.stats.reintegrated.Add(int64(len(recs)))
	v.mu.Lock()
	defer v.mu.Unlock()
	v.cmlRemove(vol, recs)
	stored := map[proto.FID]bool{}
	for _, r := range recs {
		if r.op == proto.OpStore {
			stored[r.subject] = true
		}
	}
	for _, a := range attrs {
		o := v.objs[a.FID]
		if a.FID.IsZero() || o == nil || v.pinned(o) {
			continue // a later record changes it again: venus's version stands
		}
		if stored[a.FID] && o.cont != "" && o.contVV == o.attr.VV {
			o.contVV = a.VV // the servers hold the data venus has
		}
		v.applyAttr(o, *a, st)
	}
}

// reintegrateGrace is how long reintegration waits for every replica of a
// volume once one is back: the log then goes to all of them at once
// instead of leaving the late ones to resolution.
const reintegrateGrace = 5 * time.Second

// awaitReplicas waits, at most reintegrateGrace, until every replica of
// volume id is reachable, asking the probers to try the others at once.
func (v *Venus) awaitReplicas(id uint32) {
	v.link.kick()
	deadline := time.NewTimer(reintegrateGrace)
	defer deadline.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		v.mu.Lock()
		reps := v.volumeFor(id).reps
		v.mu.Unlock()
		up := 0
		for _, r := range reps {
			if !v.link.isDown(r.Addr) {
				up++
			}
		}
		if up == len(reps) {
			return
		}
		select {
		case <-tick.C:
		case <-deadline.C:
			return
		case <-v.closing:
			return
		}
	}
}

// ship sends one record and, when the servers took it, drops it from the
// log and applies their reply. It returns why the record could not go
// ("" when it went).
func (v *Venus) ship(vol *volume, rec *cmlRecord) string {
	c := Caller{UID: rec.uid}
	if idn, _ := v.identityOf(c); idn.uid != rec.who {
		return fmt.Sprintf("no valid token for local uid %d (run clog as that user)", rec.uid)
	}
	ctx, cancel := context.WithTimeout(context.Background(), v.opts.DataTimeout)
	defer cancel()
	if err := v.claimFIDs(ctx, c, vol, []*cmlRecord{rec}); err != nil {
		return "no replica reachable"
	}
	req, f, size, err := v.outgoing(rec)
	if err != nil {
		return err.Error()
	}
	var opts *rpc.CallOpts
	if f != nil {
		defer f.Close()
		ext, err := rpc.FileExtents(f, size)
		if err != nil {
			return err.Error()
		}
		opts = &rpc.CallOpts{Upload: &rpc.Source{R: f, Size: size, Extents: ext}}
	}
	st, resp, err := v.send(ctx, c, vol.id, rec.op, req, rec.sid, rec.newReply, opts)
	if err != nil {
		if connFailure(err) {
			return "no replica reachable"
		}
		v.log.Warn("a logged update was refused; it stays in the log", "volume", vol.label(), "op", rec.op, "fid", rec.subject, "err", err)
		why := fmt.Sprintf("the servers refused a logged %v of %v: %v", rec.op, rec.subject, err)
		v.mu.Lock()
		rec.conflict = why
		v.markLocalConflict(vol, rec)
		v.mu.Unlock()
		return why
	}
	v.shipped(vol, []*cmlRecord{rec}, replyAttrs(resp), st)
	return ""
}

// storeContainer names the container holding the data of the logged store
// rec: its object's, else the one it was logged with (venus died since).
// Callers hold v.mu.
func (v *Venus) storeContainer(rec *cmlRecord) string {
	if o := v.objs[rec.subject]; o != nil && o.cont != "" {
		return o.cont
	}
	return rec.cont
}

// shipData opens the container whose data a logged store sends.
func (v *Venus) shipData(rec *cmlRecord) (*os.File, int64, error) {
	v.mu.Lock()
	name := v.storeContainer(rec)
	v.mu.Unlock()
	if name == "" {
		return nil, 0, fmt.Errorf("the data of %v is not in the cache", rec.subject)
	}
	f, err := v.conts.open(name)
	if err != nil {
		return nil, 0, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, st.Size(), nil
}

// label names a volume in messages. It needs no lock: reintegration and
// events name a volume while a reconnection learns its name.
func (vol *volume) label() string {
	if name := vol.shown.Load(); name != nil && *name != "" {
		return *name
	}
	return fmt.Sprintf("%#x", vol.id)
}
