package fileserver

import (
	"context"
	"fmt"

	"github.com/coda-fs/coda/server/proto"
	"github.com/coda-fs/coda/server/rpc"
	"github.com/coda-fs/coda/server/volume"
)

func (s *Server) ping(ctx context.Context, cl *client, r *rpc.Request, req *proto.Empty) (proto.Message, *rpc.Source, error) {
	return &proto.Empty{}, nil, nil
}

func (s *Server) adminAuth(ctx context.Context, cl *client, r *rpc.Request, req *proto.AdminAuth) (proto.Message, *rpc.Source, error) {
	if err := s.checkAdmin(cl, req.MAC); err != nil {
		return nil, nil, err
	}
	return &proto.Empty{}, nil, nil
}

func (s *Server) getRootVolume(ctx context.Context, cl *client, r *rpc.Request, req *proto.Empty) (proto.Message, *rpc.Source, error) {
	if _, err := s.volumeInfo(proto.VolumeRef{Name: s.cfg.RootVolume}); err != nil {
		return &proto.RootVolume{}, nil, nil // no root volume yet
	}
	return &proto.RootVolume{Name: s.cfg.RootVolume}, nil, nil
}

func (s *Server) getVolumeInfo(ctx context.Context, cl *client, r *rpc.Request, req *proto.VolumeRef) (proto.Message, *rpc.Source, error) {
	info, err := s.volumeInfo(*req)
	if err != nil {
		return nil, nil, err
	}
	return &info, nil, nil
}

// volumeInfo describes a volume: this server's replica, else what the
// volume location database says.
func (s *Server) volumeInfo(ref proto.VolumeRef) (proto.VolumeInfo, error) {
	var v *volume.Volume
	var err error
	if ref.Name != "" {
		v, err = s.cfg.Volumes.ByName(ref.Name)
	} else {
		v, err = s.cfg.Volumes.ByID(ref.ID)
	}
	if err == nil {
		return v.Info(), nil
	}
	if s.cfg.Locate != nil {
		if info, ok := s.cfg.Locate(ref); ok {
			return info, nil
		}
	}
	return proto.VolumeInfo{}, err
}

// deleteVolume drops this server's replica of a volume (admin key only;
// the SCM sends it for purgevol_rep and to undo a failed createvol_rep).
func (s *Server) deleteVolume(ctx context.Context, cl *client, r *rpc.Request, req *proto.VolumeRef) (proto.Message, *rpc.Source, error) {
	if !cl.admin {
		return nil, nil, proto.Errorf(proto.CodeAccess, "deletevolume needs the admin key")
	}
	if err := s.DeleteVolume(req.ID); err != nil {
		return nil, nil, err
	}
	return &proto.Empty{}, nil, nil
}

// DeleteVolume deletes this server's replica id, first ending any restore
// into it (a restore abandoned by its tool, being purged).
func (s *Server) DeleteVolume(id uint32) error {
	s.restores.each(func(r *restoreSession) {
		if r.volume == id {
			r.abandon()
			<-r.done
		}
	})
	return s.cfg.Volumes.Delete(id)
}

func (s *Server) listVolumes(ctx context.Context, cl *client, r *rpc.Request, req *proto.Empty) (proto.Message, *rpc.Source, error) {
	return &proto.VolumeList{Volumes: s.cfg.Volumes.List()}, nil, nil
}

// createVolume makes a replica of a volume on this server (admin only).
// With no replica list it is a volume of one replica: this server.
func (s *Server) createVolume(ctx context.Context, cl *client, r *rpc.Request, req *proto.CreateVolume) (proto.Message, *rpc.Source, error) {
	if !cl.admin {
		return nil, nil, proto.Errorf(proto.CodeAccess, "createvolume needs the admin key")
	}
	replicas := req.Replicas
	if len(replicas) == 0 {
		replicas = []proto.Replica{{ServerID: s.cfg.ServerID, Addr: s.cfg.Addr}}
	}
	slot := -1
	for i, rep := range replicas {
		if rep.ServerID == s.cfg.ServerID {
			slot = i
		}
	}
	if slot < 0 {
		return nil, nil, proto.Errorf(proto.CodeInvalid, fmt.Sprintf("server %d is not among the volume's replicas", s.cfg.ServerID))
	}
	v, err := s.cfg.Volumes.Create(req.Name, req.ID, req.ReplicaID, uint8(slot), replicas)
	if err != nil {
		return nil, nil, err
	}
	info := v.Info()
	return &info, nil, nil
}

// listVnodes pages through this server's replica of a volume with content
// checksums (admin key only: volutil info -all).
func (s *Server) listVnodes(ctx context.Context, cl *client, r *rpc.Request, req *proto.ListVnodes) (proto.Message, *rpc.Source, error) {
	if !cl.admin {
		return nil, nil, proto.Errorf(proto.CodeAccess, "listvnodes needs the admin key")
	}
	v, err := s.cfg.Volumes.ByID(req.Volume)
	if err != nil {
		return nil, nil, err
	}
	max := int(min(max(req.Max, 1), proto.MaxListVnodes))
	vnodes, more, err := v.Summaries(req.After, max, req.Quick)
	if err != nil {
		return nil, nil, err
	}
	return &proto.ListVnodesReply{Vnodes: vnodes, More: more}, nil, nil
}

// setLogParms sets or reports this server's replica's resolution log bound
// (admin key only: volutil setlogparms).
func (s *Server) setLogParms(ctx context.Context, cl *client, r *rpc.Request, req *proto.LogParms) (proto.Message, *rpc.Source, error) {
	if !cl.admin {
		return nil, nil, proto.Errorf(proto.CodeAccess, "setlogparms needs the admin key")
	}
	v, err := s.cfg.Volumes.ByID(req.Volume)
	if err != nil {
		return nil, nil, err
	}
	if req.LogSize != 0 {
		if err := v.SetLogSize(int(req.LogSize)); err != nil {
			return nil, nil, err
		}
	}
	bound, used := v.LogSize()
	return &proto.LogParms{Volume: req.Volume, LogSize: uint32(bound), Used: uint32(used)}, nil, nil
}
