package fileserver

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/coda-fs/coda/resolve"
	"github.com/coda-fs/coda/server/proto"
	"github.com/coda-fs/coda/server/rpc"
	"github.com/coda-fs/coda/server/volume"
)

// Directories whose replicas diverged (each side of a partition changed
// them) are merged from their resolution logs (resolve.MergeDir). The
// coordinator merges the directory and the directories renames tie it to
// as one group: on every replica the inserts of the whole group go first,
// then the deletes with each directory's new version, so an object moved
// between two of them (maildir's tmp/ → new/) never loses its last name.
// A group with a conflict (a name both sides changed differently) is not
// merged at all yet: its replicas stay as they are, concurrent, and the
// conflict is reported on every access (cfs lv), so nothing is lost.

// maxMergeGroup bounds the directories merged together.
const maxMergeGroup = 16

// dirMerge is the plan for one directory of a group.
type dirMerge struct {
	fid    proto.FID
	views  []replicaView
	plan   resolve.DirPlan
	shown  []proto.MergeAction // conflict objects made in the last step, on every replica
	vv     proto.VV            // the version every replica takes
	idx    []int               // the replicas that have the directory
	merged bool                // planned (concurrent replicas); else left to dominance
}

// mergeDirs merges directory fid (whose replicas are concurrent) and the
// directories tied to it by renames. It returns the outcome for fid.
func (s *Server) mergeDirs(ctx context.Context, v *volume.Volume, fid proto.FID, views []replicaView) (proto.ResolveResult, bool) {
	group := []*dirMerge{{fid: fid, views: views}}
	seen := map[proto.FID]bool{fid: true}
	for i := 0; i < len(group) && len(group) <= maxMergeGroup; i++ {
		g := group[i]
		if g.views == nil {
			g.views = s.readStates(ctx, v, g.fid)
		}
		s.planMerge(ctx, v, g)
		for _, r := range g.plan.Related {
			if !seen[r] && r.Volume == fid.Volume {
				seen[r] = true
				group = append(group, &dirMerge{fid: r})
			}
		}
	}
	var conflicts []string
	for _, g := range group {
		for _, c := range g.plan.Conflicts {
			conflicts = append(conflicts, fmt.Sprintf("%v %q (%s)", g.fid, c.Name, c.Kind))
		}
	}
	byPolicy, shown := "", ""
	switch {
	case len(conflicts) == 0:
	case s.conflictsByPolicy(ctx, v, group):
		byPolicy = fmt.Sprintf("; conflicts settled by policy: %s", strings.Join(conflicts, ", "))
		conflicts = nil
	case s.conflictsAsObjects(v, group) == nil:
		shown = strings.Join(conflicts, ", ")
		conflicts = nil
	}
	if len(conflicts) > 0 {
		s.announce(fid, views, "directories diverged with conflicts; left as they are", "dir", fid, "conflicts", strings.Join(conflicts, ", "))
		return proto.ResolveResult{Outcome: proto.ResolveConflict,
			Msg: shorten(fmt.Sprintf("%v: the replicas diverged; conflicts: %s", fid, strings.Join(conflicts, ", ")))}, false
	}
	var failed []string
	stale := false
	for step := 0; step < 2; step++ { // inserts everywhere, then deletes and versions
		for _, g := range group {
			if !g.merged {
				continue
			}
			for k, i := range g.idx {
				m := proto.MergeActions{Dir: g.fid, Expect: g.views[i].st.VV, VV: g.vv, Final: step == 1}
				for _, a := range g.plan.Actions[k] {
					if a.Delete == (step == 1) {
						m.Actions = append(m.Actions, proto.MergeAction{Delete: a.Delete, Name: a.Name, FID: a.Entry.FID, Type: a.Entry.Type})
					}
				}
				if step == 1 {
					m.Actions = append(m.Actions, g.shown...)
				}
				if !m.Final && len(m.Actions) == 0 {
					continue
				}
				if err := s.applyMerge(ctx, v, g.views[i], &m); err != nil {
					failed = append(failed, fmt.Sprintf("%s: %v", g.views[i].rep.Addr, err))
					stale = stale || isStale(err)
				}
			}
		}
	}
	// The other directories of the group that were not concurrent are
	// brought level by dominance, now that the merge is in.
	for _, g := range group[1:] {
		if !g.merged {
			s.resolveOne(ctx, g.fid, 1, nil)
		}
	}
	if len(failed) > 0 {
		return proto.ResolveResult{Outcome: proto.ResolveIncomplete, Msg: fmt.Sprintf("%v: merge: %v", fid, failed)}, stale
	}
	// What a replica got by name only is a placeholder: fill them now,
	// not only when a client without a callback happens to look (resync
	// fills them itself, in batches, in its next phase).
	var inserted []proto.FID
	for _, g := range group {
		for _, acts := range g.plan.Actions {
			for _, a := range acts {
				if !a.Delete {
					inserted = append(inserted, a.Entry.FID)
				}
			}
		}
		for _, a := range g.shown {
			for _, ver := range a.Versions {
				inserted = append(inserted, ver.FID)
			}
		}
	}
	if ctx.Value(inResync{}) == nil {
		s.resolveEach(ctx, inserted)
	}
	if shown != "" {
		s.announce(fid, views, "directories merged; names both sides changed are conflicts now", "dir", fid, "conflicts", shown)
		return proto.ResolveResult{Outcome: proto.ResolveNamesInConflict,
			Msg: shorten(fmt.Sprintf("merged both sides' changes; conflicts shown as links: %s", shown))}, false
	}
	s.log.Info("directories merged", "dir", fid, "group", len(group))
	return proto.ResolveResult{Outcome: proto.ResolveDone, Msg: shorten(fmt.Sprintf("merged both sides' changes (%d directories)%s", len(group), byPolicy))}, false
}

// planMerge computes g's plan when its replicas are concurrent.
func (s *Server) planMerge(ctx context.Context, v *volume.Volume, g *dirMerge) {
	var reps []resolve.DirReplica
	var vvs []proto.VV
	for i, rv := range g.views {
		if rv.err != nil || !rv.st.Exists || rv.st.Type != proto.TypeDir {
			continue
		}
		r := resolve.DirReplica{Entries: map[string]resolve.Entry{}, Truncated: rv.st.LogTruncated}
		for _, de := range rv.st.Entries {
			r.Entries[de.Name] = resolve.Entry{FID: de.FID, Type: de.Type}
		}
		for _, op := range rv.st.Log {
			r.Log = append(r.Log, volume.LogFromWire(op))
		}
		reps = append(reps, r)
		vvs = append(vvs, rv.st.VV)
		g.idx = append(g.idx, i)
	}
	if len(reps) < 2 {
		return
	}
	if _, ok := resolve.Dominant(vvs); ok {
		return // not concurrent: dominance resolution does it
	}
	objs := func(f proto.FID) ([]proto.VV, []bool) {
		states := s.readStates(ctx, v, f)
		out, ok := make([]proto.VV, len(g.idx)), make([]bool, len(g.idx))
		for k, i := range g.idx {
			if st := states[i]; st.err == nil && st.st.Exists {
				out[k], ok[k] = st.st.VV, true
			}
		}
		return out, ok
	}
	g.plan = resolve.MergeDir(reps, objs)
	g.vv = resolve.Merge(vvs...)
	g.merged = true
}

// applyMerge applies one replica's part of a merge.
func (s *Server) applyMerge(ctx context.Context, v *volume.Volume, to replicaView, m *proto.MergeActions) error {
	if to.local {
		ch, err := v.ApplyMerge(*m)
		s.finish(nil, ch)
		return err
	}
	conn, err := s.peers.get(ctx, to.rep.Addr)
	if err != nil {
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, peerTimeout)
	defer cancel()
	return conn.Call(cctx, proto.OpApplyMerge, m, &proto.Empty{}, nil)
}

// applyMergeReq serves another server's merge step.
func (s *Server) applyMergeReq(ctx context.Context, cl *client, r *rpc.Request, req *proto.MergeActions) (proto.Message, *rpc.Source, error) {
	if !cl.admin {
		return nil, nil, proto.Errorf(proto.CodeAccess, "applymerge is for servers (the admin key) only")
	}
	v, err := s.volume(req.Dir)
	if err != nil {
		return nil, nil, err
	}
	ch, err := v.ApplyMerge(*req)
	s.finish(nil, ch)
	if err != nil {
		return nil, nil, err
	}
	return &proto.Empty{}, nil, nil
}

// fillWorkers is how many objects resolveEach resolves at once: each is a
// few small requests, so many in flight share the servers' log syncs.
const fillWorkers = 32

// resolveEach resolves each of fids (once), several at a time.
func (s *Server) resolveEach(ctx context.Context, fids []proto.FID) {
	seen := map[proto.FID]bool{}
	work := make(chan proto.FID)
	var wg sync.WaitGroup
	for range fillWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for f := range work {
				s.resolveOne(ctx, f, 1, nil)
			}
		}()
	}
	for _, f := range fids {
		if !seen[f] {
			seen[f] = true
			work <- f
		}
	}
	close(work)
	wg.Wait()
}

// conflictsByPolicy turns the conflicts of every directory of the group
// into names side by side when the policy in force there is not manual:
// each replica's object for a conflicted name becomes NAME.conflict-SERVER
// on every replica (for an entry, newest does the same: both objects are
// different files, none is a newer version of the other). It reports
// whether every conflict was handled so.
func (s *Server) conflictsByPolicy(ctx context.Context, v *volume.Volume, group []*dirMerge) bool {
	pols := make([]uint8, len(group))
	for i, g := range group {
		if len(g.plan.Conflicts) == 0 {
			continue
		}
		_, pol, _, err := v.Policy(g.fid)
		if err != nil || pol == proto.PolicyManual || pol == proto.PolicyInherit {
			return false
		}
		pols[i] = pol
	}
	for i, g := range group {
		for _, c := range g.plan.Conflicts {
			if c.Kind == resolve.AttrAttr {
				continue // the directory's attributes: the merged version keeps one
			}
			if e, one := onlyVersion(c.Have); one {
				// Removed on one side, updated on the other: the update
				// is the only version, and keeps the name.
				for k := range g.plan.Actions {
					if c.Have[k].FID.IsZero() {
						g.plan.Actions[k] = append(g.plan.Actions[k], resolve.Action{Name: c.Name, Entry: e})
					}
				}
				s.log.Info("conflict resolved by policy", "dir", g.fid, "name", c.Name, "policy", proto.PolicyNames[pols[i]], "what", "kept the updated object")
				continue
			}
			var adds []resolve.Action
			for k, e := range c.Have {
				if !e.FID.IsZero() {
					name := fmt.Sprintf("%s.conflict-%d", c.Name, g.views[g.idx[k]].rep.ServerID)
					adds = append(adds, resolve.Action{Name: name, Entry: e})
				}
			}
			for k := range g.plan.Actions {
				g.plan.Actions[k] = append(g.plan.Actions[k], adds...)
				if have := c.Have[k]; !have.FID.IsZero() {
					g.plan.Actions[k] = append(g.plan.Actions[k], resolve.Action{Delete: true, Name: c.Name, Entry: have})
				}
			}
			s.log.Info("conflict resolved by policy", "dir", g.fid, "name", c.Name, "policy", proto.PolicyNames[pols[i]])
		}
		g.plan.Conflicts = nil
	}
	return true
}

// conflictsAsObjects plans, for every name in conflict in the group, a
// conflict object made in the merge's last step: a directory in place of
// the name holding each replica's object under the server id (see
// proto.AttrConflict), so the rest of the directory merges and only that
// name shows as a conflict. A conflict of a directory's own attributes
// cannot be shown so, and the differences of a directory whose log
// overflowed are not known conflicts (every name either side added would
// be one): then it returns an error and the group stays as it is, the
// directory itself shown as the conflict.
func (s *Server) conflictsAsObjects(v *volume.Volume, group []*dirMerge) error {
	for _, g := range group {
		for _, c := range g.plan.Conflicts {
			if c.Kind == resolve.AttrAttr || c.Kind == resolve.Unknown {
				return fmt.Errorf("%v: %s", g.fid, c.Kind)
			}
		}
	}
	for _, g := range group {
		for _, c := range g.plan.Conflicts {
			servers := make([]uint32, len(c.Have))
			for k := range c.Have {
				servers[k] = g.views[g.idx[k]].rep.ServerID
			}
			a, err := conflictObject(v, c.Name, c.Have, servers)
			if err != nil {
				return err
			}
			g.shown = append(g.shown, a)
		}
		g.plan.Conflicts = nil
	}
	return nil
}

// conflictObject is the action that makes name a new conflict object
// holding the objects in have (one per replica, zero where a replica has
// none), each named by the lowest id of the servers holding it.
func conflictObject(v *volume.Volume, name string, have []resolve.Entry, servers []uint32) (proto.MergeAction, error) {
	fids, err := v.AllocFIDs(1)
	if err != nil {
		return proto.MergeAction{}, err
	}
	a := proto.MergeAction{Conflict: true, Name: name, FID: fids[0], Type: proto.TypeDir}
	holder := map[proto.FID]int{} // object → the index in have of its lowest server
	for k, e := range have {
		if e.FID.IsZero() {
			continue
		}
		if h, ok := holder[e.FID]; !ok || servers[k] < servers[h] {
			holder[e.FID] = k
		}
	}
	for k, e := range have {
		if !e.FID.IsZero() && holder[e.FID] == k {
			a.Versions = append(a.Versions, proto.DirEntry{Name: strconv.FormatUint(uint64(servers[k]), 10), FID: e.FID, Type: e.Type})
		}
	}
	return a, nil
}

// onlyVersion reports whether the replicas that have a conflicted name all
// hold the same object under it (the others removed it), and which.
func onlyVersion(have []resolve.Entry) (resolve.Entry, bool) {
	var only resolve.Entry
	for _, e := range have {
		switch {
		case e.FID.IsZero():
		case only.FID.IsZero():
			only = e
		case e.FID != only.FID:
			return resolve.Entry{}, false
		}
	}
	return only, !only.FID.IsZero()
}

// inResync marks the context of a resync step: merges leave their
// placeholders to its batched copying.
type inResync struct{}

// shorten bounds a message sent in a ResolveResult (proto.MaxPath).
func shorten(msg string) string {
	const limit = 1000
	if len(msg) <= limit {
		return msg
	}
	return msg[:limit] + fmt.Sprintf("… (%d more bytes)", len(msg)-limit)
}
