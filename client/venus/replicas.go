package venus

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/coda-fs/coda/server/proto"
	"github.com/coda-fs/coda/server/rpc"
)

// A volume lives on 1–8 replicas. Venus reads (fetch, readdir, lookup) from
// one preferred replica, where its callbacks are held, and fails over to
// another when that one is down. Status checks (getattr, validate) go to
// every replica it reaches, in parallel, so a replica that is behind is
// noticed on access and the servers are asked to resolve the object.
// Updates go to every reachable replica in parallel with one store id
// (COP1), then every replica that applied one is told which did (COP2), so
// they end with equal version vectors.

// fidBatch is how many FIDs venus reserves at a time for its creates;
// fidLow is how many it keeps in hand while connected (a refill runs in
// the background below it), so that creates while disconnected have FIDs.
const (
	fidBatch = proto.MaxAllocFIDs
	fidLow   = 2 * fidBatch
)

// replicas returns the replicas of volume id, asking the servers the
// first time.
func (v *Venus) replicas(ctx context.Context, c Caller, id uint32) ([]proto.Replica, error) {
	v.mu.Lock()
	vol := v.volumeFor(id)
	reps, known := vol.reps, vol.repsKnown
	v.mu.Unlock()
	if known {
		return reps, nil
	}
	var info proto.VolumeInfo
	if _, err := v.call(ctx, c, proto.OpGetVolumeInfo, &proto.VolumeRef{ID: id}, &info, nil); err != nil {
		return nil, err
	}
	v.learnVolume(&info)
	return info.Replicas, nil
}

// learnVolume records where a volume lives.
func (v *Venus) learnVolume(info *proto.VolumeInfo) {
	v.mu.Lock()
	defer v.mu.Unlock()
	vol := v.volumeFor(info.ID)
	vol.name, vol.reps, vol.repsKnown = info.Name, info.Replicas, true
	vol.shown.Store(&info.Name)
}

// serverOrder lists the addresses to try for a read of volume id: the
// preferred replica first, then the others that are not known down, then
// the down ones (tried only when no other answered). A volume whose
// replicas carry no address is served by any server.
func (v *Venus) serverOrder(ctx context.Context, c Caller, id uint32) (up, down []string, err error) {
	reps, err := v.replicas(ctx, c, id)
	if err != nil {
		return nil, nil, err
	}
	v.mu.Lock()
	pref := v.vols[id].pref
	v.mu.Unlock()
	for _, r := range reps {
		if r.Addr == "" {
			return nil, nil, nil
		}
		switch {
		case v.link.isDown(r.Addr):
			down = append(down, r.Addr)
		case r.Addr == pref:
			up = append([]string{r.Addr}, up...)
		default:
			up = append(up, r.Addr)
		}
	}
	return up, down, nil
}

// setPreferred makes addr the replica volume id is read from. Switching
// drops nothing by itself: the old preferred server's connection died,
// which already ended every promise it carried.
func (v *Venus) setPreferred(id uint32, addr string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	vol := v.volumeFor(id)
	if vol.pref != addr {
		if vol.pref != "" {
			v.log.Info("volume now read from another replica", "volume", vol.name, "server", addr)
		}
		vol.pref = addr
	}
}

// resetter is a download sink that can start over (a fetch retried on
// another replica).
type resetter interface{ Reset() error }

// callVol sends a read of volume id to its preferred replica, failing over
// to the others when a server cannot be reached.
func (v *Venus) callVol(ctx context.Context, c Caller, id uint32, op proto.Op, req, resp proto.Message, opts *rpc.CallOpts) (stamp, error) {
	up, down, err := v.serverOrder(ctx, c, id)
	if err != nil {
		return stamp{}, err
	}
	if up == nil && down == nil {
		return v.call(ctx, c, op, req, resp, opts)
	}
	var errs []error
	try := func(addr string, inline bool) (stamp, error, bool) {
		conn, err := v.link.to(ctx, addr, inline)
		if err == nil {
			var st stamp
			st, err = v.callOn(ctx, c, conn, op, req, resp, opts)
			if err == nil || !connFailure(err) {
				v.setPreferred(id, addr)
				return st, err, true
			}
		}
		errs = append(errs, err)
		if opts != nil && opts.Download != nil {
			if r, ok := opts.Download.(resetter); ok {
				if rerr := r.Reset(); rerr != nil {
					return stamp{}, rerr, true
				}
			}
		}
		return stamp{}, err, false
	}
	for _, addr := range up {
		if st, err, done := try(addr, true); done {
			return st, err
		}
	}
	for _, addr := range down {
		if st, err, done := try(addr, true); done {
			return st, err
		}
	}
	return stamp{}, unreachable(id, errs)
}

// unreachable is the error of a volume none of whose replicas answered.
func unreachable(id uint32, errs []error) error {
	if len(errs) == 1 {
		return errs[0]
	}
	return &errUnreachable{fmt.Errorf("no replica of volume %#x reachable: %w", id, oneLine(errs))}
}

// cop1 is one replica's outcome of an update.
type cop1 struct {
	addr string
	slot int
	resp proto.Message
	st   stamp
	err  error
	// tried: venus tried to send it (r.err says how that went); sent: the
	// request may have reached the server.
	tried, sent bool
}

// update sends a mutation of volume id to every reachable replica in
// parallel (COP1), then completes it with COP2 on those that applied it;
// while the volume is disconnected, or its log still holds updates, it is
// applied to the cache and logged instead (emulate.go).
// newResp makes a reply message for each replica. It returns the reply of
// the preferred replica (else of another that applied it), with its
// version vectors as they are once COP2 is done everywhere.
func (v *Venus) update(ctx context.Context, c Caller, id uint32, op proto.Op, req proto.Message, sid proto.StoreID, newResp func() proto.Message, opts *rpc.CallOpts) (stamp, proto.Message, error) {
	if v.logging(id) {
		return v.emulate(c, id, op, req, sid, opts)
	}
	st, m, err := v.send(ctx, c, id, op, req, sid, newResp, opts)
	if err != nil && connFailure(err) && v.disconnected(id) {
		// Every replica went away under the update: it is logged and
		// sent again, with its store id, when one is back.
		return v.emulate(c, id, op, req, sid, opts)
	}
	return st, m, err
}

// send is update on the servers.
func (v *Venus) send(ctx context.Context, c Caller, id uint32, op proto.Op, req proto.Message, sid proto.StoreID, newResp func() proto.Message, opts *rpc.CallOpts) (stamp, proto.Message, error) {
	reps, err := v.replicas(ctx, c, id)
	if err != nil {
		return stamp{}, nil, err
	}
	if len(reps) <= 1 {
		resp := newResp()
		st, err := v.callVol(ctx, c, id, op, req, resp, opts)
		if err == nil {
			err = refusal(resp)
		}
		return st, resp, err
	}
	res := make([]cop1, len(reps))
	for i, r := range reps {
		res[i] = cop1{addr: r.Addr, slot: i}
	}
	send := func(idx []int) {
		var wg sync.WaitGroup
		for _, i := range idx {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := &res[i]
				r.tried = true
				conn, err := v.link.to(ctx, r.addr, true)
				if err != nil {
					r.err = err
					return
				}
				r.resp, r.sent = newResp(), true
				r.st, r.err = v.callOn(ctx, c, conn, op, req, r.resp, opts)
				if r.err == nil {
					r.err = refusal(r.resp) // a batch refused: not applied
				}
			}()
		}
		wg.Wait()
	}
	var first, rest []int
	for i, r := range reps {
		if v.link.isDown(r.Addr) {
			rest = append(rest, i)
		} else {
			first = append(first, i)
		}
	}
	send(first)
	if !anyAnswer(res) {
		send(rest) // no replica we thought up answered: try the others inline
	}
	return v.complete(ctx, c, id, sid, res)
}

// anyAnswer reports whether some replica answered (applied the update or
// refused it).
func anyAnswer(res []cop1) bool {
	for _, r := range res {
		if r.sent && (r.err == nil || !connFailure(r.err)) {
			return true
		}
	}
	return false
}

// complete picks the outcome of an update from the replicas' answers and
// sends COP2. A replica whose connection died with the request in flight
// may or may not have applied it; it is counted in the update set, so that
// the replicas that surely did dominate it and resolution brings it level.
func (v *Venus) complete(ctx context.Context, c Caller, id uint32, sid proto.StoreID, res []cop1) (stamp, proto.Message, error) {
	v.mu.Lock()
	pref := v.volumeFor(id).pref
	v.mu.Unlock()
	best, dup := -1, -1
	var updated, confirmed uint8
	var refusal error
	var errs []error
	for i, r := range res {
		switch {
		case !r.tried:
			// A replica known down: not part of this update.
		case r.err == nil && !appliedNow(r.resp, sid):
			// A batch it had taken before, under another store id: it
			// applied nothing now and is not part of this update.
			if dup < 0 {
				dup = i
			}
		case r.err == nil:
			updated |= 1 << r.slot
			confirmed |= 1 << r.slot
			if best < 0 || r.addr == pref {
				best = i
			}
		case r.sent && connFailure(r.err):
			updated |= 1 << r.slot
			errs = append(errs, r.err)
		case !connFailure(r.err):
			if refusal == nil || r.addr == pref {
				refusal = r.err
			}
		default:
			errs = append(errs, r.err)
		}
	}
	if best < 0 {
		if dup >= 0 {
			return res[dup].st, res[dup].resp, nil // nothing to complete
		}
		if refusal != nil {
			return stamp{}, nil, refusal
		}
		return stamp{}, nil, unreachable(id, errs)
	}
	if refusal != nil {
		v.log.Warn("replicas disagree on an update; the object will be resolved", "volume", fmt.Sprintf("%#x", id), "err", refusal)
	}
	v.setPreferred(id, res[best].addr)
	attrs := replyAttrs(res[best].resp)
	var fids []proto.FID
	for _, a := range attrs {
		if a.VV.Store != sid || a.FID.IsZero() {
			continue
		}
		fids = append(fids, a.FID)
		for j := range proto.MaxReplicas {
			if updated&(1<<j) != 0 && j != res[best].slot {
				a.VV.Counters[j]++
			}
		}
	}
	for len(fids) > 0 { // a batch's may name more FIDs than one COP2 carries
		n := min(len(fids), proto.MaxAllocFIDs)
		v.cop2(ctx, c, res, proto.COP2{StoreID: sid, Updated: updated, Confirmed: confirmed, FIDs: fids[:n]})
		fids = fids[n:]
	}
	return res[best].st, res[best].resp, nil
}

// appliedNow reports whether a replica's reply says it applied update
// sid: always, but for a reintegration batch whose records it had all
// taken before (its reply shows no object carrying sid).
func appliedNow(m proto.Message, sid proto.StoreID) bool {
	r, ok := m.(*proto.ReintegrateReply)
	if !ok {
		return true
	}
	for _, a := range r.Attrs {
		if a.VV.Store == sid {
			return true
		}
	}
	return false
}

// cop2 tells every replica that applied update sid which replicas did.
// Failures are only logged: a replica that misses its COP2 keeps lower
// counters for the others, which the next access notices and resolution
// repairs.
func (v *Venus) cop2(ctx context.Context, c Caller, res []cop1, m proto.COP2) {
	var wg sync.WaitGroup
	for _, r := range res {
		if !r.tried || r.err != nil || m.Updated&(1<<r.slot) == 0 {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := v.link.to(ctx, r.addr, false)
			if err == nil {
				_, err = v.callOn(ctx, c, conn, proto.OpCOP2, &m, &proto.Empty{}, nil)
			}
			if err != nil {
				v.log.Debug("cop2 not delivered", "server", r.addr, "err", err)
			}
		}()
	}
	wg.Wait()
}

// replyAttrs lists the object statuses in an update's reply.
func replyAttrs(m proto.Message) []*proto.Attr {
	switch r := m.(type) {
	case *proto.AttrReply:
		return []*proto.Attr{&r.Attr}
	case *proto.DirOpReply:
		return []*proto.Attr{&r.Dir, &r.Attr}
	case *proto.RenameReply:
		return []*proto.Attr{&r.FromDir, &r.ToDir, &r.Attr, &r.Replaced}
	case *proto.ACLReply:
		return []*proto.Attr{&r.Dir}
	case *proto.ReintegrateReply:
		out := make([]*proto.Attr, len(r.Attrs))
		for i := range r.Attrs {
			out[i] = &r.Attrs[i]
		}
		return out
	}
	return nil
}

// newFID takes a FID for a new object of volume id from the ones venus
// reserved, reserving more from a replica when none is left (and in the
// background when few are). Disconnected, with none left, it is a local
// FID (localfid.go).
func (v *Venus) newFID(ctx context.Context, c Caller, id uint32) (proto.FID, error) {
	v.mu.Lock()
	vol := v.volumeFor(id)
	if n := len(vol.fids); n > 0 {
		f := vol.fids[n-1]
		vol.fids = vol.fids[:n-1]
		low := n-1 < fidLow && !vol.refilling
		vol.refilling = vol.refilling || low
		v.mu.Unlock()
		if low {
			v.bg.Add(1)
			go func() {
				defer v.bg.Done()
				v.reserveFIDs(context.Background(), c, id)
				v.mu.Lock()
				vol.refilling = false
				v.mu.Unlock()
			}()
		}
		return f, nil
	}
	v.mu.Unlock()
	if v.disconnected(id) {
		v.mu.Lock()
		defer v.mu.Unlock()
		return v.localFID(id), nil // renamed when its create is reintegrated
	}
	for range fidLow / fidBatch { // a disconnection may come at any time
		if err := v.reserveFIDs(ctx, c, id); err != nil {
			return proto.FID{}, err
		}
	}
	return v.newFID(ctx, c, id)
}

// reserveFIDs reserves a batch of FIDs of volume id on a replica.
func (v *Venus) reserveFIDs(ctx context.Context, c Caller, id uint32) error {
	var r proto.FIDList
	if _, err := v.callVol(ctx, c, id, proto.OpAllocFIDs, &proto.AllocFIDs{Volume: id, Count: fidBatch}, &r, nil); err != nil {
		return err
	}
	if len(r.FIDs) == 0 {
		return errors.New("the server reserved no FIDs")
	}
	v.mu.Lock()
	vol := v.volumeFor(id)
	for i := len(r.FIDs) - 1; i >= 0; i-- {
		vol.fids = append(vol.fids, r.FIDs[i])
	}
	v.mu.Unlock()
	return nil
}

// updateAs is update with a typed reply.
func updateAs[R any, P interface {
	*R
	proto.Message
}](ctx context.Context, v *Venus, c Caller, id uint32, op proto.Op, req proto.Message, sid proto.StoreID, opts *rpc.CallOpts) (stamp, P, error) {
	st, m, err := v.update(ctx, c, id, op, req, sid, func() proto.Message { return P(new(R)) }, opts)
	if err != nil {
		return st, nil, err
	}
	return st, m.(P), nil
}
