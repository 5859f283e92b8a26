package fileserver

import (
	"context"
	"fmt"

	"github.com/coda-fs/coda/server/proto"
	"github.com/coda-fs/coda/server/rpc"
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
	if _, err := s.cfg.Volumes.ByName(s.cfg.RootVolume); err != nil {
		return &proto.RootVolume{}, nil, nil // no root volume yet
	}
	return &proto.RootVolume{Name: s.cfg.RootVolume}, nil, nil
}

func (s *Server) getVolumeInfo(ctx context.Context, cl *client, r *rpc.Request, req *proto.VolumeRef) (proto.Message, *rpc.Source, error) {
	if req.Name != "" {
		v, err := s.cfg.Volumes.ByName(req.Name)
		if err != nil {
			return nil, nil, err
		}
		info := v.Info()
		return &info, nil, nil
	}
	v, err := s.cfg.Volumes.ByID(req.ID)
	if err != nil {
		return nil, nil, err
	}
	info := v.Info()
	return &info, nil, nil
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
