package server

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/coda-fs/coda/server/location"
	"github.com/coda-fs/coda/server/proto"
	"github.com/coda-fs/coda/server/realmdb"
	"github.com/coda-fs/coda/server/rpc"
)

// backupLockTimeout bounds the lock volutil backup holds while the
// replicas are cloned (it unlocks as soon as they are).
const backupLockTimeout = 2 * time.Minute

// backup serves volutil backup and volutil clone on the SCM: it locks the
// volume on every replica (updates wait, none is half applied), has each
// replica's server clone its replica as the clone's replica (a refresh
// replaces the old clone, keeping its ids, so mounts of it stay valid),
// records a new clone in the volume location database, and unlocks. A
// failure removes the clones this run made.
func (a *volAdmin) backup(ctx context.Context, r *rpc.Request) (proto.Message, *rpc.Source, error) {
	if !a.adminKey(r) {
		return nil, nil, proto.Errorf(proto.CodeAccess, "backupvolume needs the admin key")
	}
	var req proto.Backup
	if err := r.Decode(&req); err != nil {
		return nil, nil, err
	}
	if req.Type != proto.VolBackup && req.Type != proto.VolRO {
		return nil, nil, proto.Errorf(proto.CodeInvalid, fmt.Sprintf("a clone is read-only or a backup, not type %d", req.Type))
	}
	name := req.Clone
	if name == "" {
		name = req.Volume + ".backup"
	}
	a.opMu.Lock()
	defer a.opMu.Unlock()
	start := time.Now()
	servers := a.servers.Value()
	vols := a.volumes.Value()
	vol, ok := vols.ByName[req.Volume]
	if !ok {
		return nil, nil, proto.Errorf(proto.CodeNoVolume, fmt.Sprintf("no volume %s in the volume location database", req.Volume))
	}
	clone, exists := vols.ByName[name]
	if !exists {
		clone = location.Volume{Name: name, ID: vols.NextID()}
		for _, err := a.vols.ByID(clone.ID); err == nil; _, err = a.vols.ByID(clone.ID) {
			clone.ID++
		}
		taken := vols.ReplicaIDs()
		for _, rep := range vol.Replicas {
			clone.Replicas = append(clone.Replicas, location.Replica{Server: rep.Server, ReplicaID: vols.NewReplicaID(rep.Server, taken)})
		}
	} else if !sameServers(vol, clone) {
		return nil, nil, proto.Errorf(proto.CodeExists, fmt.Sprintf("volume %s exists on other servers than %s; purge it first", name, req.Volume))
	}
	src := volumeInfo(vol, servers)
	if _, err := a.fs.LockReplicas(ctx, src, backupLockTimeout, false); err != nil {
		return nil, nil, fmt.Errorf("nothing cloned: %w", err)
	}
	replicaIDs := map[uint32]uint32{}
	for _, rep := range clone.Replicas {
		replicaIDs[rep.Server] = rep.ReplicaID
	}
	lines, err := a.fs.CloneReplicas(ctx, src, proto.CloneVolume{Source: vol.ID, Name: name, ID: clone.ID, Type: req.Type,
		Replicas: volumeInfo(clone, servers).Replicas, Frozen: time.Now().UnixNano()}, replicaIDs)
	if !req.KeepLocked || err != nil {
		if _, uerr := a.fs.LockReplicas(ctx, src, 0, true); uerr != nil {
			a.log.Warn("volume not unlocked on every replica after a backup; the lock times out by itself", "name", vol.Name, "err", uerr)
		}
	}
	if err != nil {
		a.undoClone(ctx, clone, servers)
		return nil, nil, fmt.Errorf("clone %s as %s: %w", vol.Name, name, err)
	}
	if !exists {
		a.wmu.Lock()
		w, err := a.volumes.Next(a.volumes.Value().With(clone))
		if err == nil {
			err = realmdb.Commit(a.store, w)
		}
		a.wmu.Unlock()
		if err != nil {
			a.undoClone(ctx, clone, servers)
			return nil, nil, err
		}
	}
	verb := "made"
	if exists {
		verb = "refreshed"
	}
	a.log.Info("volume cloned", "volume", vol.Name, "clone", name, "id", fmt.Sprintf("%x", clone.ID), "replicas", len(vol.Replicas), "took", time.Since(start).Round(time.Millisecond))
	return &proto.Text{Text: fmt.Sprintf("%s %s (%x) of %s on %d servers in %v\n%s", name, verb, clone.ID, vol.Name,
		len(vol.Replicas), time.Since(start).Round(time.Millisecond), strings.Join(lines, "\n"))}, nil, nil
}

// undoClone removes the replicas of clone (a backup that failed).
func (a *volAdmin) undoClone(ctx context.Context, clone location.Volume, servers location.Servers) {
	for _, rep := range clone.Replicas {
		if err := a.deleteReplica(ctx, clone, rep, servers); err != nil {
			a.log.Warn("could not remove a replica of a failed clone", "name", clone.Name, "server", rep.Server, "err", err)
		}
	}
}

// sameServers reports whether clone's replicas are on vol's servers, in
// the same order.
func sameServers(vol, clone location.Volume) bool {
	if len(vol.Replicas) != len(clone.Replicas) {
		return false
	}
	for i := range vol.Replicas {
		if vol.Replicas[i].Server != clone.Replicas[i].Server {
			return false
		}
	}
	return true
}
