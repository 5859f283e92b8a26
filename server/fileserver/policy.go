package fileserver

import (
	"context"
	"fmt"

	"github.com/coda-fs/coda/resolve"
	"github.com/coda-fs/coda/server/proto"
	"github.com/coda-fs/coda/server/rpc"
	"github.com/coda-fs/coda/server/volume"
)

// setPolicy serves cfs setpolicy (an update, sent to every replica).
func (s *Server) setPolicy(ctx context.Context, cl *client, r *rpc.Request, req *proto.SetPolicy) (proto.Message, *rpc.Source, error) {
	v, err := s.volume(req.Dir)
	if err != nil {
		return nil, nil, err
	}
	s.cb.Add(cl, req.Dir)
	a, ch, err := v.SetPolicy(s.cred(cl, r), req.Dir, req.Policy, req.StoreID)
	if err != nil {
		return nil, nil, err
	}
	s.finish(cl, ch)
	return &proto.AttrReply{Attr: a}, nil, nil
}

// getPolicy serves cfs getpolicy.
func (s *Server) getPolicy(ctx context.Context, cl *client, r *rpc.Request, req *proto.FIDReq) (proto.Message, *rpc.Source, error) {
	v, err := s.volume(req.FID)
	if err != nil {
		return nil, nil, err
	}
	if _, err := v.GetAttr(s.cred(cl, r), req.FID); err != nil {
		return nil, nil, err
	}
	own, eff, from, err := v.Policy(req.FID)
	if err != nil {
		return nil, nil, err
	}
	return &proto.PolicyReply{Own: own, Effective: eff, From: from}, nil, nil
}

// byPolicy repairs a conflict of file fid by the policy in force in the
// directory holding it, when that policy is not manual. ok reports whether a policy applied.
// No policy discards a version: keep-all keeps each under its own name,
// newest keeps the newest under the name and the others beside it.
func (s *Server) byPolicy(ctx context.Context, v *volume.Volume, fid proto.FID, views []replicaView, isDir bool) (proto.ResolveResult, bool) {
	dir, name, err := v.NameOf(fid)
	if err != nil {
		return proto.ResolveResult{}, false
	}
	if isDir {
		return proto.ResolveResult{}, false // a directory's conflicts are its entries': see conflictsByPolicy
	}
	_, pol, _, err := v.Policy(dir)
	if err != nil || pol == proto.PolicyManual || pol == proto.PolicyInherit {
		return proto.ResolveResult{}, false
	}
	var idx []int
	for i, rv := range views {
		if rv.err != nil {
			return proto.ResolveResult{}, false // every replica is needed
		}
		if rv.st.Exists {
			idx = append(idx, i)
		}
	}
	var msg string
	switch {
	case pol == proto.PolicyKeepAll:
		msg, err = s.repairKeepAll(ctx, v, &proto.Repair{FID: fid, Dir: dir, Name: name}, views, idx)
	default: // newest
		newest := idx[0]
		for _, i := range idx {
			if views[i].st.Mtime > views[newest].st.Mtime {
				newest = i
			}
		}
		var others []int
		var vvs []proto.VV
		for _, i := range idx {
			vvs = append(vvs, views[i].st.VV)
			if i != newest {
				others = append(others, i)
			}
		}
		if msg, err = s.saveBeside(ctx, v, dir, name, views, others); err == nil {
			var kept string
			kept, err = s.repairKeep(ctx, v, &proto.Repair{FID: fid, Dir: dir, Name: name, Server: views[newest].rep.ServerID}, views, idx, vvs)
			msg = kept + "; " + msg
		}
	}
	if err != nil {
		s.log.Warn("conflict policy failed; the conflict stays", "fid", fid, "policy", proto.PolicyNames[pol], "err", err)
		return proto.ResolveResult{}, false
	}
	s.log.Info("conflict resolved by policy", "fid", fid, "name", name, "policy", proto.PolicyNames[pol], "what", msg)
	return proto.ResolveResult{Outcome: proto.ResolveDone, Msg: shorten(fmt.Sprintf("conflict of %s settled by policy %s: %s", name, proto.PolicyNames[pol], msg))}, true
}

// saveBeside copies the versions of replicas which to NAME.conflict-SERVER
// in dir, on every replica.
func (s *Server) saveBeside(ctx context.Context, v *volume.Volume, dir proto.FID, name string, views []replicaView, which []int) (string, error) {
	actions, names, err := s.copiesBeside(ctx, v, name, views, which)
	if err != nil {
		return "", err
	}
	if err := s.repairNames(ctx, v, dir, actions); err != nil {
		return "", err
	}
	return fmt.Sprintf("saved %v beside it", names), nil
}

// keepUpdated settles the remove/update conflicts dominance found in
// directory dir: the objects one side updated after the other removed them
// keep their names beside the dominant replica's entries, as one new
// version on every replica. Under a keep-all or newest policy that is all
// (the update is the only version there is); without a policy each such
// name then becomes a conflict object holding the update, for cfs repair
// to decide. A name the dominant side gave another object meanwhile gets
// NAME.conflict-SERVER. ok is false when a replica is unreachable or a
// step failed: the directory stays as it is.
func (s *Server) keepUpdated(ctx context.Context, v *volume.Volume, dir proto.FID, views []replicaView, idx []int, dom replicaView, lost []updatedEntry) (proto.ResolveResult, bool) {
	_, pol, _, err := v.Policy(dir)
	if err != nil {
		return proto.ResolveResult{}, false
	}
	manual := pol == proto.PolicyManual || pol == proto.PolicyInherit
	for _, rv := range views {
		if rv.err != nil {
			return proto.ResolveResult{}, false // every replica is needed
		}
	}
	want := map[string]proto.DirEntry{}
	for _, de := range dom.st.Entries {
		want[de.Name] = de
	}
	var kept []string
	var shown []proto.MergeAction
	for _, e := range lost {
		de := e.DirEntry
		if _, taken := want[de.Name]; taken {
			de.Name = fmt.Sprintf("%s.conflict-%d", de.Name, e.by.ServerID)
			if err := proto.CheckName(de.Name); err != nil {
				return proto.ResolveResult{}, false
			}
		}
		want[de.Name] = de
		kept = append(kept, de.Name)
		if manual {
			a, err := conflictObject(v, de.Name, []resolve.Entry{{FID: de.FID, Type: de.Type}}, []uint32{e.by.ServerID})
			if err != nil {
				return proto.ResolveResult{}, false
			}
			shown = append(shown, a)
		}
	}
	inserted, err := s.setEntries(ctx, v, dir, views, idx, want)
	if err == nil && shown != nil {
		err = s.repairNames(ctx, v, dir, shown)
	}
	if err != nil {
		s.log.Warn("remove/update conflict: keeping the update failed; the directory stays as it is", "dir", dir, "err", err)
		return proto.ResolveResult{}, false
	}
	if ctx.Value(inResync{}) == nil {
		s.resolveEach(ctx, inserted)
	}
	if manual {
		msg := fmt.Sprintf("%s; shown as conflicts holding the update", describeUpdated(lost))
		s.announce(dir, views, "an object removed on one side was updated on another: a conflict", "dir", dir, "what", msg)
		return proto.ResolveResult{Outcome: proto.ResolveNamesInConflict, Msg: shorten(msg)}, true
	}
	msg := fmt.Sprintf("kept %v, updated on one side after the other removed them", kept)
	s.log.Info("conflict resolved by policy", "dir", dir, "policy", proto.PolicyNames[pol], "what", msg)
	return proto.ResolveResult{Outcome: proto.ResolveDone, Msg: shorten(fmt.Sprintf("conflict settled by policy %s: %s", proto.PolicyNames[pol], msg))}, true
}
