package fileserver

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/coda-fs/coda/auth/acl"
	"github.com/coda-fs/coda/resolve"
	"github.com/coda-fs/coda/server/proto"
	"github.com/coda-fs/coda/server/rpc"
	"github.com/coda-fs/coda/server/volume"
)

// Repairing a conflict (cfs repair), on the server holding a replica that
// the client asks: keep one server's version on every replica, remove the
// object everywhere, or keep every version side by side under new names
// (NAME.conflict-SERVER) in the same directory. Each ends with one version
// vector on every replica, so the object is normal again. The caller needs
// the insert, delete and write rights on the directory.

// repair serves cfs repair.
func (s *Server) repair(ctx context.Context, cl *client, r *rpc.Request, req *proto.Repair) (proto.Message, *rpc.Source, error) {
	v, err := s.volume(req.FID)
	if err != nil {
		return nil, nil, err
	}
	if req.Dir.Volume != req.FID.Volume {
		return nil, nil, proto.ErrCrossDevice
	}
	da, err := v.GetAttr(s.cred(cl, r), req.Dir)
	if err != nil {
		return nil, nil, err
	}
	if need := acl.Insert | acl.Delete | acl.Write; acl.Rights(da.Rights)&need != need {
		return nil, nil, proto.Errorf(proto.CodeAccess, "repair needs the i, d and w rights on the directory")
	}
	views := s.readStates(ctx, v, req.FID)
	var idx []int
	var vvs []proto.VV
	for i, rv := range views {
		if rv.err != nil {
			return nil, nil, proto.Errorf(proto.CodeTimeout, fmt.Sprintf("repair needs every replica: server %s: %v", rv.rep.Addr, rv.err))
		}
		if rv.st.Exists {
			idx = append(idx, i)
			vvs = append(vvs, rv.st.VV)
		}
	}
	if len(idx) == 0 {
		return nil, nil, proto.ErrNotFound
	}
	if req.FID.Vnode == volume.RootVnode && req.Mode == proto.RepairRemove {
		return nil, nil, proto.Errorf(proto.CodeInvalid, "a volume's root cannot be removed (purgevol_rep removes a volume); use --keep or --keep-all")
	}
	if oa, err := v.GetAttr(adminCred, req.FID); err == nil && oa.Flags&proto.AttrConflict != 0 {
		return s.repairConflict(ctx, v, req, views[idx[0]].st.Entries)
	}
	var msg string
	switch req.Mode {
	case proto.RepairKeep:
		msg, err = s.repairKeep(ctx, v, req, views, idx, vvs)
	case proto.RepairRemove:
		err = s.repairNames(ctx, v, req.Dir, []proto.MergeAction{{Delete: true, Name: req.Name, FID: req.FID}})
		msg = fmt.Sprintf("removed %s from every replica", req.Name)
	case proto.RepairKeepAll:
		if views[idx[0]].st.Type == proto.TypeDir {
			msg, err = s.repairUnion(ctx, v, req.FID, views, idx)
		} else {
			msg, err = s.repairKeepAll(ctx, v, req, views, idx)
		}
	default:
		return nil, nil, proto.Errorf(proto.CodeInvalid, fmt.Sprintf("unknown repair mode %d", req.Mode))
	}
	if err != nil {
		return nil, nil, err
	}
	s.log.Info("conflict repaired", "fid", req.FID, "name", req.Name, "what", msg)
	return &proto.Text{Text: msg}, nil, nil
}

// repairConflict repairs a conflict object (proto.AttrConflict), whose
// entries are the versions of the name, each under the id of a server
// holding it: keep one server's (none, if that server removed the name),
// keep every version (as NAME.conflict-SERVERID; a single version keeps
// the name), or remove them all. The conflict object goes in one step on
// every replica.
func (s *Server) repairConflict(ctx context.Context, v *volume.Volume, req *proto.Repair, versions []proto.DirEntry) (proto.Message, *rpc.Source, error) {
	a := proto.MergeAction{Dissolve: true, Name: req.Name, FID: req.FID}
	var msg string
	switch req.Mode {
	case proto.RepairKeep:
		sid := strconv.FormatUint(uint64(req.Server), 10)
		msg = fmt.Sprintf("kept the removal by server %d", req.Server)
		for _, ver := range versions {
			if ver.Name == sid {
				a.Versions = append(a.Versions, proto.DirEntry{Name: req.Name, FID: ver.FID, Type: ver.Type})
				msg = fmt.Sprintf("kept the version of server %d", req.Server)
			}
		}
	case proto.RepairRemove:
		msg = fmt.Sprintf("removed %s (every version)", req.Name)
	case proto.RepairKeepAll:
		var names []string
		for _, ver := range versions {
			n := req.Name
			if len(versions) > 1 {
				n = fmt.Sprintf("%s.conflict-%s", req.Name, ver.Name)
			}
			if err := proto.CheckName(n); err != nil {
				return nil, nil, err
			}
			a.Versions = append(a.Versions, proto.DirEntry{Name: n, FID: ver.FID, Type: ver.Type})
			names = append(names, n)
		}
		msg = fmt.Sprintf("kept every version: %s", strings.Join(names, " "))
	default:
		return nil, nil, proto.Errorf(proto.CodeInvalid, fmt.Sprintf("unknown repair mode %d", req.Mode))
	}
	if err := s.repairNames(ctx, v, req.Dir, []proto.MergeAction{a}); err != nil {
		return nil, nil, err
	}
	s.log.Info("conflict repaired", "fid", req.FID, "name", req.Name, "what", msg)
	return &proto.Text{Text: msg}, nil, nil
}

// repairKeep installs server req.Server's version on every replica.
func (s *Server) repairKeep(ctx context.Context, v *volume.Volume, req *proto.Repair, views []replicaView, idx []int, vvs []proto.VV) (string, error) {
	keep := -1
	for _, i := range idx {
		if views[i].rep.ServerID == req.Server {
			keep = i
		}
	}
	if keep < 0 {
		return "", proto.Errorf(proto.CodeInvalid, fmt.Sprintf("server %d holds no version of %s", req.Server, req.Name))
	}
	merged := newerThanAll(vvs, len(views))
	for _, i := range append(slices.DeleteFunc(slices.Clone(idx), func(i int) bool { return i == keep }), keep) {
		// The kept replica last: its new version would make the copies stale.
		if err := s.install(ctx, v, views[keep], views[i], merged, i != keep); err != nil {
			return "", fmt.Errorf("server %s: %w", views[i].rep.Addr, err)
		}
	}
	return fmt.Sprintf("kept the version of server %d (%s) on every replica", req.Server, views[keep].rep.Addr), nil
}

// repairKeepAll copies each replica's version to a new object named
// NAME.conflict-SERVER on every replica, then removes NAME.
func (s *Server) repairKeepAll(ctx context.Context, v *volume.Volume, req *proto.Repair, views []replicaView, idx []int) (string, error) {
	actions, names, err := s.copiesBeside(ctx, v, req.Name, views, idx)
	if err != nil {
		return "", err
	}
	actions = append(actions, proto.MergeAction{Delete: true, Name: req.Name, FID: req.FID})
	if err := s.repairNames(ctx, v, req.Dir, actions); err != nil {
		return "", err
	}
	return fmt.Sprintf("kept every version: %s", strings.Join(names, " ")), nil
}

// copiesBeside copies the versions of replicas which to new objects on
// every replica and returns the inserts that name them
// NAME.conflict-SERVERID (and those names).
func (s *Server) copiesBeside(ctx context.Context, v *volume.Volume, name string, views []replicaView, which []int) ([]proto.MergeAction, []string, error) {
	var actions []proto.MergeAction
	var names []string
	var vv proto.VV
	for j := range views {
		vv.Counters[j] = 1
	}
	for _, i := range which {
		src := views[i]
		n := fmt.Sprintf("%s.conflict-%d", name, src.rep.ServerID)
		if err := proto.CheckName(n); err != nil {
			return nil, nil, err
		}
		fids, err := v.AllocFIDs(1)
		if err != nil {
			return nil, nil, err
		}
		for _, to := range views {
			to.st = proto.VnodeState{FID: fids[0]}
			if err := s.install(ctx, v, src, to, vv, true); err != nil {
				return nil, nil, fmt.Errorf("copy of %s's version to %s: %w", src.rep.Addr, to.rep.Addr, err)
			}
		}
		actions = append(actions, proto.MergeAction{Name: n, FID: fids[0], Type: src.st.Type})
		names = append(names, n)
	}
	return actions, names, nil
}

// newerThanAll is a version every replica can take after a repair: the
// merge of vvs with every replica's slot one higher, so clients refetch.
func newerThanAll(vvs []proto.VV, replicas int) proto.VV {
	vv := resolve.Merge(vvs...)
	vv.Store = proto.StoreID{}
	for j := range vv.Counters[:replicas] {
		vv.Counters[j]++
	}
	return vv
}

// repairNames applies entry changes to directory dir on every replica, as
// one new version of it.
func (s *Server) repairNames(ctx context.Context, v *volume.Volume, dir proto.FID, actions []proto.MergeAction) error {
	views := s.readStates(ctx, v, dir)
	if !levelViews(views) {
		// The directory itself differs between replicas: level (merge) it
		// first, or a new common version would hide that.
		s.resolveOne(ctx, dir, 1, nil)
		if views = s.readStates(ctx, v, dir); !levelViews(views) {
			return proto.Errorf(proto.CodeBusy, fmt.Sprintf("directory %v differs between replicas (a conflict of its own); repair it first", dir))
		}
	}
	var vvs []proto.VV
	for _, rv := range views {
		if rv.err != nil {
			return fmt.Errorf("server %s: %w", rv.rep.Addr, rv.err)
		}
		if !rv.st.Exists {
			return fmt.Errorf("server %s lacks directory %v", rv.rep.Addr, dir)
		}
		vvs = append(vvs, rv.st.VV)
	}
	vv := newerThanAll(vvs, len(views))
	// Inserts everywhere first, then the deletes with the new version.
	for step := 0; step < 2; step++ {
		for _, rv := range views {
			m := proto.MergeActions{Dir: dir, Expect: rv.st.VV, VV: vv, Final: step == 1}
			for _, a := range actions {
				if a.Delete == (step == 1) {
					m.Actions = append(m.Actions, a)
				}
			}
			if err := s.applyMerge(ctx, v, rv, &m); err != nil {
				return fmt.Errorf("server %s: %w", rv.rep.Addr, err)
			}
		}
	}
	return nil
}

// repairUnion makes a directory's entries the union of its replicas':
// a name that names different objects on different replicas becomes
// NAME.conflict-SERVER for each.
func (s *Server) repairUnion(ctx context.Context, v *volume.Volume, dir proto.FID, views []replicaView, idx []int) (string, error) {
	byName := map[string]map[proto.FID]uint32{} // name → object → a server holding it
	types := map[proto.FID]proto.ObjType{}
	for _, i := range idx {
		for _, de := range views[i].st.Entries {
			if byName[de.Name] == nil {
				byName[de.Name] = map[proto.FID]uint32{}
			}
			if _, ok := byName[de.Name][de.FID]; !ok {
				byName[de.Name][de.FID] = views[i].rep.ServerID
			}
			types[de.FID] = de.Type
		}
	}
	want := map[string]proto.DirEntry{}
	renamed := 0
	for name, objs := range byName {
		if len(objs) == 1 {
			for f := range objs {
				want[name] = proto.DirEntry{Name: name, FID: f, Type: types[f]}
			}
			continue
		}
		for f, server := range objs {
			n := fmt.Sprintf("%s.conflict-%d", name, server)
			if err := proto.CheckName(n); err != nil {
				return "", err
			}
			want[n] = proto.DirEntry{Name: n, FID: f, Type: types[f]}
			renamed++
		}
	}
	inserted, err := s.setEntries(ctx, v, dir, views, idx, want)
	if err != nil {
		return "", err
	}
	s.resolveEach(ctx, inserted)
	// The entries are level; the directory's own attributes (mode, owner,
	// ACL, policy) may still differ: the last changed replica's go to all.
	views = s.readStates(ctx, v, dir)
	idx, vvs := idx[:0], []proto.VV(nil)
	newest := -1
	for i, rv := range views {
		if rv.err != nil || !rv.st.Exists {
			return "", fmt.Errorf("server %s lost directory %v during the repair", rv.rep.Addr, dir)
		}
		idx, vvs = append(idx, i), append(vvs, rv.st.VV)
		if newest < 0 || rv.st.Mtime > views[newest].st.Mtime {
			newest = i
		}
	}
	attrs, err := s.repairKeep(ctx, v, &proto.Repair{FID: dir, Server: views[newest].rep.ServerID}, views, idx, vvs)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("kept the union of the entries (%d names, %d renamed .conflict-SERVER); for the directory itself %s",
		len(want), renamed, attrs), nil
}

// setEntries makes directory dir's entries want on the replicas idx of
// views, as one new version newer than every replica's: the inserts on
// every replica first, then the deletes with the version, so an object
// never loses its last name on the way. It returns the objects inserted
// (placeholders where a replica lacked them, for the caller to fill).
func (s *Server) setEntries(ctx context.Context, v *volume.Volume, dir proto.FID, views []replicaView, idx []int, want map[string]proto.DirEntry) ([]proto.FID, error) {
	var vvs []proto.VV
	for _, i := range idx {
		vvs = append(vvs, views[i].st.VV)
	}
	vv := newerThanAll(vvs, len(views))
	var inserted []proto.FID
	for step := 0; step < 2; step++ {
		for _, i := range idx {
			have := map[string]proto.FID{}
			for _, de := range views[i].st.Entries {
				have[de.Name] = de.FID
			}
			m := proto.MergeActions{Dir: dir, Expect: views[i].st.VV, VV: vv, Final: step == 1}
			if step == 0 {
				for name, de := range want {
					if have[name] != de.FID {
						m.Actions = append(m.Actions, proto.MergeAction{Name: name, FID: de.FID, Type: de.Type})
						inserted = append(inserted, de.FID)
					}
				}
			} else {
				for name, f := range have {
					if want[name].FID != f {
						m.Actions = append(m.Actions, proto.MergeAction{Delete: true, Name: name, FID: f})
					}
				}
			}
			if step == 0 && len(m.Actions) == 0 {
				continue
			}
			if err := s.applyMerge(ctx, v, views[i], &m); err != nil {
				return nil, fmt.Errorf("server %s: %w", views[i].rep.Addr, err)
			}
		}
	}
	return inserted, nil
}

// levelViews reports whether every replica read holds the object with one
// version.
func levelViews(views []replicaView) bool {
	for _, rv := range views[1:] {
		if rv.err != nil || views[0].err != nil || rv.st.Exists != views[0].st.Exists ||
			resolve.Compare(rv.st.VV, views[0].st.VV) != resolve.Equal {
			return false
		}
	}
	return true
}
