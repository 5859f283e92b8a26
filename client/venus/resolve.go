package venus

import (
	"cmp"
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/coda-fs/coda/resolve"
	"github.com/coda-fs/coda/server/proto"
)

// Status checks go to every replica venus reaches. Replicas whose version
// vectors differ (and do not carry the same last store id: Coda's weak
// equality, an update whose COP2 one of them missed) are out of date, and
// the servers are asked to resolve the objects: the dominant replica's
// state is copied to the others, server to server. Objects whose replicas
// diverged (neither dominates) are remembered for cfs lv.

// sameVersion reports whether two replicas' results for an object agree
// (resolve.Compare: equal counters, or weakly equal).
func sameVersion(a, b proto.ValidateResult) bool {
	if a.Code != b.Code {
		return false
	}
	if a.Code != proto.CodeOK {
		return true
	}
	return resolve.Compare(a.Attr.VV, b.Attr.VV) == resolve.Equal
}

// otherReplicas returns the replicas of volume id other than addr that are
// not known down.
func (v *Venus) otherReplicas(id uint32, addr string) []string {
	v.mu.Lock()
	reps := v.volumeFor(id).reps
	v.mu.Unlock()
	var out []string
	for _, r := range reps {
		if r.Addr != "" && r.Addr != addr && !v.link.isDown(r.Addr) {
			out = append(out, r.Addr)
		}
	}
	return out
}

// preferred returns the address reads of volume id go to, choosing one if
// none is chosen yet.
func (v *Venus) preferred(ctx context.Context, c Caller, id uint32) string {
	up, _, err := v.serverOrder(ctx, c, id)
	if err != nil || len(up) == 0 {
		return ""
	}
	return up[0]
}

// validateReplicas validates items (objects of volume id) on the preferred
// replica and, in parallel, on every other replica up; objects whose
// replicas differ are resolved and validated again.
func (v *Venus) validateReplicas(ctx context.Context, c Caller, id uint32, items []proto.ValidateItem) (stamp, []proto.ValidateResult, error) {
	others := v.otherReplicas(id, v.preferred(ctx, c, id))
	var theirs [][]proto.ValidateResult
	done := make(chan struct{})
	go func() { theirs = v.validateOn(ctx, c, others, items); close(done) }()
	var r proto.ValidateReply
	st, err := v.callVol(ctx, c, id, proto.OpValidate, &proto.Validate{Items: items}, &r, nil)
	<-done
	if err != nil {
		return st, nil, err
	}
	if len(r.Results) != len(items) {
		return st, nil, proto.Errorf(proto.CodeProtocol, "validate: reply has a wrong number of results")
	}
	var stale []int
	for i := range items {
		for _, res := range theirs {
			if res != nil && !sameVersion(r.Results[i], res[i]) {
				stale = append(stale, i)
				break
			}
		}
	}
	if len(stale) == 0 {
		return st, r.Results, nil
	}
	again := make([]proto.ValidateItem, len(stale))
	for j, i := range stale {
		again[j] = items[i]
	}
	if lasting := v.lasting(ctx, c, id, items, stale); len(lasting) > 0 {
		fids := make([]proto.FID, len(lasting))
		for j, i := range lasting {
			fids[j] = items[i].FID
		}
		v.resolveReplicas(ctx, c, id, fids)
	}
	var r2 proto.ValidateReply
	if _, err := v.callVol(ctx, c, id, proto.OpValidate, &proto.Validate{Items: again}, &r2, nil); err != nil {
		return st, nil, err
	}
	if len(r2.Results) != len(again) {
		return st, nil, proto.Errorf(proto.CodeProtocol, "validate: reply has a wrong number of results")
	}
	for j, i := range stale {
		r.Results[i] = r2.Results[j]
	}
	return st, r.Results, nil
}

// settleChecks and settleStep: an update in flight (applied by some
// replicas, not yet by the others, or its COP2 on its way) looks like a
// divergence for a few milliseconds, and resolving it then would race the
// update itself (a name the update is about to make arrives first by
// resolution, and the update is refused there). A difference is resolved
// only when it lasts through settleChecks looks, settleStep apart and
// growing, about 150 ms in all; a partition's lasts.
const (
	settleChecks = 4
	settleStep   = 10 * time.Millisecond
)

// lasting returns the indexes in stale of items whose replicas still
// differ after the settle checks (all of them if a check fails).
func (v *Venus) lasting(ctx context.Context, c Caller, id uint32, items []proto.ValidateItem, stale []int) []int {
	step := settleStep
	for range settleChecks {
		select {
		case <-time.After(step):
		case <-ctx.Done():
			return stale
		}
		step *= 2
		again := make([]proto.ValidateItem, len(stale))
		for j, i := range stale {
			again[j] = items[i]
		}
		results, ok := v.validateAll(ctx, c, id, again)
		if !ok {
			return stale
		}
		var still []int
		for j, i := range stale {
			for _, res := range results[1:] {
				if res != nil && !sameVersion(results[0][j], res[j]) {
					still = append(still, i)
					break
				}
			}
		}
		if stale = still; len(stale) == 0 {
			return nil
		}
	}
	return stale
}

// validateAll validates items on every replica up, the preferred first in
// the results; ok is false when the preferred did not answer.
func (v *Venus) validateAll(ctx context.Context, c Caller, id uint32, items []proto.ValidateItem) (results [][]proto.ValidateResult, ok bool) {
	pref := v.preferred(ctx, c, id)
	results = v.validateOn(ctx, c, append([]string{pref}, v.otherReplicas(id, pref)...), items)
	return results, results[0] != nil
}

// validateOn validates items on each server of addrs in parallel; a
// server that did not answer has nil results.
func (v *Venus) validateOn(ctx context.Context, c Caller, addrs []string, items []proto.ValidateItem) [][]proto.ValidateResult {
	results := make([][]proto.ValidateResult, len(addrs))
	var wg sync.WaitGroup
	for i, addr := range addrs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := v.link.to(ctx, addr, false)
			if err != nil {
				return
			}
			var r proto.ValidateReply
			if _, err := v.callOn(ctx, c, conn, proto.OpValidate, &proto.Validate{Items: items}, &r, nil); err == nil && len(r.Results) == len(items) {
				results[i] = r.Results
			}
		}()
	}
	wg.Wait()
	return results
}

// getAttrReplicas is getattr of fid with the replicas compared.
func (v *Venus) getAttrReplicas(ctx context.Context, c Caller, fid proto.FID) (stamp, proto.Attr, error) {
	st, res, err := v.validateReplicas(ctx, c, fid.Volume, []proto.ValidateItem{{FID: fid}})
	if err != nil {
		return st, proto.Attr{}, err
	}
	if res[0].Code != proto.CodeOK {
		return st, proto.Attr{}, proto.Errorf(res[0].Code, "")
	}
	return st, res[0].Attr, nil
}

// resolveReplicas asks the preferred replica's server to bring the replicas of
// fids level. Conflicts (neither replica dominates) are remembered for
// cfs lv; failures are logged (the next access tries again).
func (v *Venus) resolveReplicas(ctx context.Context, c Caller, id uint32, fids []proto.FID) {
	for len(fids) > 0 {
		n := min(len(fids), proto.MaxAllocFIDs)
		chunk := fids[:n]
		fids = fids[n:]
		var r proto.ResolveReply
		_, err := v.callVol(ctx, c, id, proto.OpResolve, &proto.FIDList{FIDs: chunk}, &r, nil)
		v.stats.resolves.Add(1)
		if err != nil || len(r.Results) != len(chunk) {
			v.log.Warn("resolution failed", "volume", fmt.Sprintf("%#x", id), "err", err)
			continue
		}
		v.mu.Lock()
		vol := v.volumeFor(id)
		var events []Event // announced with their paths once v.mu is released
		for i, res := range r.Results {
			switch {
			case res.Outcome == proto.ResolveConflict && !vol.conflicts[chunk[i]]:
				events = append(events, newEvent(&c, EventConflict, chunk[i], res.Msg))
			case res.Outcome == proto.ResolveDone:
				events = append(events, newEvent(&c, EventResolved, chunk[i], cmp.Or(res.Msg, "the servers made the replicas level")))
			case res.Outcome == proto.ResolveNamesInConflict:
				// The conflicts themselves are announced when venus sees them.
				events = append(events, newEvent(&c, EventResolved, chunk[i], res.Msg))
			}
			v.setConflict(chunk[i], res.Outcome == proto.ResolveConflict)
			switch res.Outcome {
			case proto.ResolveConflict, proto.ResolveIncomplete:
				if vol.outOfDate == nil {
					vol.outOfDate = map[proto.FID]string{}
				}
				why := "diverged: " + res.Msg
				if res.Outcome == proto.ResolveIncomplete {
					why = "not resolved yet: " + res.Msg
				}
				if vol.outOfDate[chunk[i]] != why {
					v.log.Warn("replicas differ; not resolved", "fid", chunk[i], "why", why)
				}
				vol.outOfDate[chunk[i]] = why
			default:
				delete(vol.outOfDate, chunk[i])
			}
		}
		v.mu.Unlock()
		for _, e := range events {
			e.Path, _ = v.Path(ctx, c, e.FID)
			v.events.add(e)
		}
	}
}
