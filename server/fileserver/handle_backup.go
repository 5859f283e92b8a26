package fileserver

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/coda-fs/coda/server/proto"
	"github.com/coda-fs/coda/server/rpc"
	"github.com/coda-fs/coda/server/volume"
)

// lockVolume serves volutil lock and unlock (admin key only). With Local
// it acts on this server's replica of group req.ID; else it finds the
// volume by name and acts on every replica, this server's directly and
// the others' through their servers, and says what it did on each.
func (s *Server) lockVolume(ctx context.Context, cl *client, r *rpc.Request, req *proto.VolumeLock) (proto.Message, *rpc.Source, error) {
	if !cl.admin {
		return nil, nil, proto.Errorf(proto.CodeAccess, "lockvolume needs the admin key")
	}
	if req.Local {
		v, err := s.cfg.Volumes.ByID(req.ID)
		if err != nil {
			return nil, nil, err
		}
		return &proto.Text{Text: lockLocal(v, req)}, nil, nil
	}
	info, err := s.volumeInfo(proto.VolumeRef{Name: req.Name, ID: req.ID})
	if err != nil {
		return nil, nil, err
	}
	lines, err := s.LockReplicas(ctx, info, time.Duration(req.Timeout)*time.Second, req.Unlock)
	if err != nil {
		return nil, nil, err
	}
	return &proto.Text{Text: strings.Join(lines, "\n")}, nil, nil
}

// LockReplicas locks (unlock: unlocks) every replica of volume info, for
// timeout (0: the default), and returns a line per replica. A lock that
// did not reach every replica is no lock: it is undone, and the error
// names the replicas that failed.
func (s *Server) LockReplicas(ctx context.Context, info proto.VolumeInfo, timeout time.Duration, unlock bool) ([]string, error) {
	req := &proto.VolumeLock{ID: info.ID, Timeout: uint32(timeout / time.Second), Unlock: unlock, Local: true}
	fan := func(req *proto.VolumeLock) ([]string, error) {
		return s.onReplicas(ctx, info, func(v *volume.Volume) (string, error) {
			return lockLocal(v, req), nil
		}, func(ctx context.Context, conn *rpc.Conn, rep proto.Replica) (string, error) {
			var out proto.Text
			err := conn.Call(ctx, proto.OpLockVolume, req, &out, nil)
			return out.Text, err
		})
	}
	lines, err := fan(req)
	if err != nil && !unlock {
		undo := *req
		undo.Unlock = true
		fan(&undo)
		return nil, fmt.Errorf("volume %s not locked: %w", info.Name, err)
	}
	return lines, err
}

// lockLocal locks or unlocks replica v and says so.
func lockLocal(v *volume.Volume, req *proto.VolumeLock) string {
	if req.Unlock {
		if v.UnlockWrites() {
			return "unlocked"
		}
		return "was not locked"
	}
	v.LockWrites(time.Duration(req.Timeout) * time.Second)
	_, until := v.Locked()
	return "locked until " + until.UTC().Format(time.RFC3339)
}

// onReplicas runs local on this server's replica of volume info and remote
// on every other replica's server, at once; it returns a line per replica
// ("server N (ADDR): what it said") and an error naming every replica
// that failed.
func (s *Server) onReplicas(ctx context.Context, info proto.VolumeInfo,
	local func(*volume.Volume) (string, error),
	remote func(context.Context, *rpc.Conn, proto.Replica) (string, error)) ([]string, error) {
	type result struct {
		out string
		err error
	}
	results := make([]result, len(info.Replicas))
	done := make(chan struct{}, len(info.Replicas))
	for i, rep := range info.Replicas {
		go func() {
			defer func() { done <- struct{}{} }()
			if rep.ServerID == s.cfg.ServerID {
				v, err := s.cfg.Volumes.ByID(info.ID)
				if err == nil {
					results[i].out, err = local(v)
				}
				results[i].err = err
				return
			}
			cctx, cancel := context.WithTimeout(ctx, peerTimeout)
			defer cancel()
			conn, err := s.peers.get(cctx, rep.Addr)
			if err == nil {
				results[i].out, err = remote(cctx, conn, rep)
			}
			results[i].err = err
		}()
	}
	for range info.Replicas {
		<-done
	}
	var lines []string
	var errs []error
	for i, rep := range info.Replicas {
		who := fmt.Sprintf("server %d (%s)", rep.ServerID, rep.Addr)
		if results[i].err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", who, results[i].err))
			continue
		}
		lines = append(lines, who+": "+results[i].out)
	}
	return lines, errors.Join(errs...)
}

// cloneVolume makes this server's replica of a clone (admin key only; the
// SCM sends it for volutil backup and clone). An existing clone of the
// same name and source is replaced: a backup is refreshed.
func (s *Server) cloneVolume(ctx context.Context, cl *client, r *rpc.Request, req *proto.CloneVolume) (proto.Message, *rpc.Source, error) {
	if !cl.admin {
		return nil, nil, proto.Errorf(proto.CodeAccess, "clonevolume needs the admin key")
	}
	v, err := s.Clone(req)
	if err != nil {
		return nil, nil, err
	}
	info := v.Info()
	return &info, nil, nil
}

// CloneReplicas has every replica's server of volume info make (or
// remake) its replica of clone req, with the replica id replicaIDs gives
// for its server, and returns a line per replica with the objects cloned.
func (s *Server) CloneReplicas(ctx context.Context, info proto.VolumeInfo, req proto.CloneVolume, replicaIDs map[uint32]uint32) ([]string, error) {
	return s.onReplicas(ctx, info, func(*volume.Volume) (string, error) {
		r := req
		r.ReplicaID = replicaIDs[s.cfg.ServerID]
		v, err := s.Clone(&r)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%d objects", v.Info().Files), nil
	}, func(ctx context.Context, conn *rpc.Conn, rep proto.Replica) (string, error) {
		r := req
		r.ReplicaID = replicaIDs[rep.ServerID]
		var vi proto.VolumeInfo
		err := conn.Call(ctx, proto.OpCloneVolume, &r, &vi, nil)
		return fmt.Sprintf("%d objects", vi.Files), err
	})
}

// Clone makes (or remakes) this server's replica of clone req.Name of its
// replica of req.Source.
func (s *Server) Clone(req *proto.CloneVolume) (*volume.Volume, error) {
	if old, err := s.cfg.Volumes.ByName(req.Name); err == nil {
		src, _, ok := old.IsClone()
		if !ok || src != req.Source {
			return nil, proto.Errorf(proto.CodeExists, fmt.Sprintf("volume %s exists and is not a clone of volume %x", req.Name, req.Source))
		}
		if err := s.cfg.Volumes.Delete(old.ID()); err != nil {
			return nil, fmt.Errorf("remove the old %s: %w", req.Name, err)
		}
		s.cb.Break([]proto.FID{{Volume: old.ID()}}, nil) // clients drop what they cached of the old one
	}
	return s.cfg.Volumes.Clone(req.Source, req.Name, req.ID, req.ReplicaID, req.Type, req.Replicas, req.Frozen)
}

// setVolumeStatus serves cfs setquota and setvol on this server's replica:
// for the admin key or a member of System:Administrators.
func (s *Server) setVolumeStatus(ctx context.Context, cl *client, r *rpc.Request, req *proto.SetVolumeStatus) (proto.Message, *rpc.Source, error) {
	if !cl.admin && !s.cred(cl, r).Admin {
		return nil, nil, proto.Errorf(proto.CodePerm, "only System:Administrators set volume quotas and messages")
	}
	v, err := s.cfg.Volumes.ByID(req.Volume)
	if err != nil {
		return nil, nil, err
	}
	info, err := v.SetStatus(req)
	if err != nil {
		return nil, nil, err
	}
	return &info, nil, nil
}

// serverControl serves volutil shutdown and swaplog (admin key only).
func (s *Server) serverControl(ctx context.Context, cl *client, r *rpc.Request, req *proto.Text) (proto.Message, *rpc.Source, error) {
	if !cl.admin {
		return nil, nil, proto.Errorf(proto.CodeAccess, "volutil "+req.Text+" needs the admin key")
	}
	switch req.Text {
	case "shutdown":
		if s.cfg.Shutdown == nil {
			return nil, nil, proto.Errorf(proto.CodeNotSupported, "this server cannot be shut down remotely")
		}
		s.log.Info("shutdown asked for (volutil shutdown)")
		go func() {
			// Once the asker has the reply: it closes its connection
			// (or, at the latest, after a few seconds).
			select {
			case <-r.Conn.Done():
			case <-time.After(5 * time.Second):
			}
			s.cfg.Shutdown()
		}()
		return &proto.Text{Text: "server " + fmt.Sprint(s.cfg.ServerID) + " shutting down"}, nil, nil
	case "swaplog":
		if s.cfg.ReopenLog == nil {
			return &proto.Text{Text: "the server logs to its standard error: no log file to reopen"}, nil, nil
		}
		if err := s.cfg.ReopenLog(); err != nil {
			return nil, nil, err
		}
		s.log.Info("log file reopened (volutil swaplog)")
		return &proto.Text{Text: "log file reopened"}, nil, nil
	}
	return nil, nil, proto.Errorf(proto.CodeInvalid, fmt.Sprintf("unknown server control %q", req.Text))
}
