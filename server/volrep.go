package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coda-fs/coda/server/adminclient"
	"github.com/coda-fs/coda/server/fileserver"
	"github.com/coda-fs/coda/server/location"
	"github.com/coda-fs/coda/server/proto"
	"github.com/coda-fs/coda/server/realmdb"
	"github.com/coda-fs/coda/server/rpc"
	"github.com/coda-fs/coda/server/store"
	"github.com/coda-fs/coda/server/volume"
)

// Replicated volumes are made and removed on the SCM, which holds the
// volume location database: it allocates the group id and one replica id
// per server, has each server create its replica (itself directly, the
// others over an admin-key connection), and records the volume only when
// every replica exists; a failure removes the replicas already made, so no
// partial volume is left behind. purgevol_rep deletes every replica, then
// the record.

// volAdmin serves createvol_rep and purgevol_rep on the SCM.
type volAdmin struct {
	self     uint32
	dbDir    string
	vols     *volume.Set
	servers  *realmdb.Database[location.Servers]
	volumes  *realmdb.Database[location.Volumes]
	store    *store.DB
	wmu      *sync.Mutex // writes of the location databases
	opMu     sync.Mutex  // one volume operation at a time
	adminKey func(*rpc.Request) bool
	fs       *fileserver.Server // this server's, for its own replica of a clone
	log      *slog.Logger

	// Restores in progress are watched until ctx ends (the server stops);
	// wg counts the watchers.
	ctx  context.Context
	stop context.CancelFunc
	wg   sync.WaitGroup
}

const volOpTimeout = 30 * time.Second

func (a *volAdmin) createRep(ctx context.Context, r *rpc.Request) (proto.Message, *rpc.Source, error) {
	if !a.adminKey(r) {
		return nil, nil, proto.Errorf(proto.CodeAccess, "createvol_rep needs the admin key")
	}
	var req proto.CreateVolumeRep
	if err := r.Decode(&req); err != nil {
		return nil, nil, err
	}
	if len(req.Servers) == 0 || len(req.Servers) > proto.MaxReplicas {
		return nil, nil, proto.Errorf(proto.CodeInvalid, fmt.Sprintf("a volume has 1-%d replicas, not %d", proto.MaxReplicas, len(req.Servers)))
	}
	a.opMu.Lock()
	defer a.opMu.Unlock()
	servers := a.servers.Value()
	vols := a.volumes.Value()
	if _, ok := vols.ByName[req.Name]; ok {
		return nil, nil, proto.Errorf(proto.CodeExists, fmt.Sprintf("volume %s exists", req.Name))
	}
	if _, err := a.vols.ByName(req.Name); err == nil {
		return nil, nil, proto.Errorf(proto.CodeExists, fmt.Sprintf("volume %s exists on this server", req.Name))
	}
	vol := location.Volume{Name: req.Name, ID: vols.NextID(), Restoring: req.Restoring}
	for _, err := a.vols.ByID(vol.ID); err == nil; _, err = a.vols.ByID(vol.ID) {
		vol.ID++ // taken by a replica made before the location database
	}
	taken := vols.ReplicaIDs()
	for _, s := range req.Servers {
		id, err := resolveServer(servers, s)
		if err != nil {
			return nil, nil, err
		}
		if slices.ContainsFunc(vol.Replicas, func(r location.Replica) bool { return r.Server == id }) {
			return nil, nil, proto.Errorf(proto.CodeInvalid, fmt.Sprintf("server %s named twice", s))
		}
		vol.Replicas = append(vol.Replicas, location.Replica{Server: id, ReplicaID: vols.NewReplicaID(id, taken)})
	}
	info := volumeInfo(vol, servers)
	var made []location.Replica
	for slot, rep := range vol.Replicas {
		err := a.onServer(ctx, servers[rep.Server], rep.Server, func(c *adminclient.Client) error {
			_, err := c.CreateVolume(ctx, &proto.CreateVolume{Name: vol.Name, ID: vol.ID, ReplicaID: rep.ReplicaID, Replicas: info.Replicas})
			return err
		}, func() error {
			_, err := a.vols.Create(vol.Name, vol.ID, rep.ReplicaID, uint8(slot), info.Replicas)
			return err
		})
		if err != nil {
			a.undo(ctx, vol, made, servers)
			return nil, nil, fmt.Errorf("create the replica on server %d (%s): %w", rep.Server, servers[rep.Server], err)
		}
		made = append(made, rep)
	}
	if err := a.record(a.volumes.Value().With(vol)); err != nil {
		a.undo(ctx, vol, made, servers)
		return nil, nil, err
	}
	a.log.Info("replicated volume created", "name", vol.Name, "id", fmt.Sprintf("%x", vol.ID), "replicas", len(vol.Replicas),
		"restoring", vol.Restoring)
	if vol.Restoring {
		a.wg.Go(func() { a.watchRestore(r.Conn, vol) })
	}
	return &info, nil, nil
}

// undo deletes the replicas of vol in made (a createvol_rep that failed).
func (a *volAdmin) undo(ctx context.Context, vol location.Volume, made []location.Replica, servers location.Servers) {
	for _, rep := range made {
		if err := a.deleteReplica(ctx, vol, rep, servers); err != nil {
			a.log.Warn("could not remove a replica of a failed createvol_rep", "name", vol.Name, "server", rep.Server, "err", err)
		}
	}
}

func (a *volAdmin) deleteReplica(ctx context.Context, vol location.Volume, rep location.Replica, servers location.Servers) error {
	err := a.onServer(ctx, servers[rep.Server], rep.Server, func(c *adminclient.Client) error {
		return c.DeleteVolume(ctx, vol.ID)
	}, func() error { return a.fs.DeleteVolume(vol.ID) })
	if errors.Is(err, proto.ErrNoVolume) {
		return nil // gone already (a purge that is retried)
	}
	return err
}

func (a *volAdmin) purgeRep(ctx context.Context, r *rpc.Request) (proto.Message, *rpc.Source, error) {
	if !a.adminKey(r) {
		return nil, nil, proto.Errorf(proto.CodeAccess, "purgevol_rep needs the admin key")
	}
	var req proto.VolumeRef
	if err := r.Decode(&req); err != nil {
		return nil, nil, err
	}
	a.opMu.Lock()
	defer a.opMu.Unlock()
	vol, ok := a.volumes.Value().ByName[req.Name]
	if !ok {
		return nil, nil, proto.Errorf(proto.CodeNoVolume, fmt.Sprintf("no volume %s in the volume location database", req.Name))
	}
	if err := a.purge(ctx, vol); err != nil {
		return nil, nil, err
	}
	return &proto.Empty{}, nil, nil
}

// purge deletes every replica of vol, then its record (opMu held).
func (a *volAdmin) purge(ctx context.Context, vol location.Volume) error {
	servers := a.servers.Value()
	var failed []string
	for _, rep := range vol.Replicas {
		if err := a.deleteReplica(ctx, vol, rep, servers); err != nil {
			failed = append(failed, fmt.Sprintf("server %d (%s): %v", rep.Server, servers[rep.Server], err))
		}
	}
	if failed != nil {
		// The record stays, so that purgevol_rep can be run again.
		return fmt.Errorf("volume %s kept: %s", vol.Name, strings.Join(failed, "; "))
	}
	if err := a.record(a.volumes.Value().Without(vol.Name)); err != nil {
		return err
	}
	a.log.Info("replicated volume purged", "name", vol.Name, "id", fmt.Sprintf("%x", vol.ID))
	return nil
}

// record commits vols as the volume location database.
func (a *volAdmin) record(vols location.Volumes) error {
	a.wmu.Lock()
	defer a.wmu.Unlock()
	w, err := a.volumes.Next(vols)
	if err == nil {
		err = realmdb.Commit(a.store, w)
	}
	return err
}

// onServer runs local on this server, or remote over an admin-key
// connection to server id at addr.
func (a *volAdmin) onServer(ctx context.Context, addr string, id uint32, remote func(*adminclient.Client) error, local func() error) error {
	if id == a.self {
		return local()
	}
	ctx, cancel := context.WithTimeout(ctx, volOpTimeout)
	defer cancel()
	c, err := dialPeer(ctx, a.dbDir, addr)
	if err != nil {
		return err
	}
	defer c.Close()
	return remote(c)
}

// resolveServer finds a server by id (decimal) or HOST:PORT.
func resolveServer(servers location.Servers, s string) (uint32, error) {
	if n, err := strconv.ParseUint(s, 10, 8); err == nil {
		if _, ok := servers[uint32(n)]; ok {
			return uint32(n), nil
		}
	} else if id, ok := servers.ByAddr(s); ok {
		return id, nil
	}
	var known []string
	for _, id := range slices.Sorted(maps.Keys(servers)) {
		known = append(known, fmt.Sprintf("%d %s", id, servers[id]))
	}
	return 0, proto.Errorf(proto.CodeInvalid, fmt.Sprintf("unknown server %s (the realm's servers: %s)", s, strings.Join(known, ", ")))
}

// volumeInfo describes vol from the location databases.
func volumeInfo(vol location.Volume, servers location.Servers) proto.VolumeInfo {
	info := proto.VolumeInfo{ID: vol.ID, Name: vol.Name, Type: proto.VolRW,
		Root: proto.FID{Volume: vol.ID, Vnode: volume.RootVnode, Unique: 1}}
	for _, r := range vol.Replicas {
		info.Replicas = append(info.Replicas, proto.Replica{ServerID: r.Server, Addr: servers[r.Server], ReplicaID: r.ReplicaID})
	}
	return info
}

// locator answers the file server's questions about volumes it holds no
// replica of, from the location databases.
func locator(servers *realmdb.Database[location.Servers], volumes *realmdb.Database[location.Volumes]) func(proto.VolumeRef) (proto.VolumeInfo, bool) {
	return func(ref proto.VolumeRef) (proto.VolumeInfo, bool) {
		vols := volumes.Value()
		var vol location.Volume
		var ok bool
		if ref.Name != "" {
			vol, ok = vols.ByName[ref.Name]
		} else {
			vol, ok = vols.ByID(ref.ID)
		}
		if !ok {
			return proto.VolumeInfo{}, false
		}
		return volumeInfo(vol, servers.Value()), true
	}
}
