package fileserver

import (
	"context"
	"fmt"
	"strconv"

	"github.com/coda-fs/coda/auth/acl"
	"github.com/coda-fs/coda/server/proto"
	"github.com/coda-fs/coda/server/rpc"
	"github.com/coda-fs/coda/server/volume"
)

// getACL returns a directory's ACL with the principals' names.
func (s *Server) getACL(ctx context.Context, cl *client, r *rpc.Request, req *proto.FIDReq) (proto.Message, *rpc.Source, error) {
	v, err := s.volume(req.FID)
	if err != nil {
		return nil, nil, err
	}
	s.cb.Add(cl, req.FID)
	dir, a, err := v.GetACL(s.cred(cl, r), req.FID)
	if err != nil {
		return nil, nil, err
	}
	out := &proto.ACLReply{Dir: dir}
	for _, l := range []struct {
		entries []acl.Entry
		neg     bool
	}{{a.Positive, false}, {a.Negative, true}} {
		for _, e := range l.entries {
			out.Entries = append(out.Entries, proto.ACLEntry{ID: e.ID, Name: s.name(e.ID),
				Rights: uint8(e.Rights), Negative: l.neg})
		}
	}
	return out, nil, nil
}

// name is the name of a user or group, or its id when it has none (a
// deleted user still named by an ACL).
func (s *Server) name(id int32) string {
	if s.cfg.Names != nil {
		if n, ok := s.cfg.Names.Name(id); ok {
			return n
		}
	}
	return strconv.Itoa(int(id))
}

// setACL edits a directory's ACL; names are resolved here.
func (s *Server) setACL(ctx context.Context, cl *client, r *rpc.Request, req *proto.SetACL) (proto.Message, *rpc.Source, error) {
	v, err := s.volume(req.Dir)
	if err != nil {
		return nil, nil, err
	}
	edits := make([]volume.Edit, 0, len(req.Entries))
	for _, e := range req.Entries {
		id := e.ID
		if id == 0 {
			var ok bool
			if s.cfg.Names != nil {
				id, ok = s.cfg.Names.Lookup(e.Name)
			}
			if !ok {
				return nil, nil, proto.Errorf(proto.CodeNotFound, fmt.Sprintf("no user or group %q in realm %s", e.Name, s.cfg.Realm))
			}
		}
		edits = append(edits, volume.Edit{ID: id, Rights: acl.Rights(e.Rights), Negative: e.Negative})
	}
	s.cb.Add(cl, req.Dir)
	dir, ch, err := v.SetACL(s.cred(cl, r), req.Dir, req.Clear, edits, req.StoreID)
	if err != nil {
		return nil, nil, err
	}
	s.finish(cl, ch)
	return &proto.AttrReply{Attr: dir}, nil, nil
}
