package server

import (
	"context"
	"fmt"
	"time"

	"github.com/coda-fs/coda/server/location"
	"github.com/coda-fs/coda/server/proto"
	"github.com/coda-fs/coda/server/rpc"
)

// A volume made by volutil restore is recorded as restoring until the
// tool, having filled every replica, says so (OpRestoreDone) on the
// connection it created the volume on. When that connection ends first —
// the tool was killed, its machine died, the network went — the SCM purges
// the half-made volume; a restoring volume found when the SCM starts is
// purged likewise (the connection that owned it is gone). A failed restore
// thus never leaves a volume behind that looks whole.

// restorePurgeRetry is how often the SCM retries purging an abandoned
// restore whose replicas' servers could not all be reached.
const restorePurgeRetry = 30 * time.Second

// watchRestore purges vol, created restoring on conn, if conn ends before
// the restore is done — unless the server is stopping (which ends every
// connection; the next start purges what is left).
func (a *volAdmin) watchRestore(conn *rpc.Conn, vol location.Volume) {
	select {
	case <-conn.Done():
	case <-a.ctx.Done():
		return
	}
	select {
	case <-a.ctx.Done():
		return
	default:
	}
	a.purgeAbandoned(a.ctx, vol, "its volutil went away before it finished")
}

// purgeAbandoned purges vol if it is still a restoring volume, retrying
// until it is gone or ctx ends.
func (a *volAdmin) purgeAbandoned(ctx context.Context, vol location.Volume, why string) {
	for {
		a.opMu.Lock()
		cur, ok := a.volumes.Value().ByName[vol.Name]
		if !ok || cur.ID != vol.ID || !cur.Restoring {
			a.opMu.Unlock()
			return // finished, or purged by hand
		}
		a.log.Warn("restore abandoned: purging the half-made volume", "name", vol.Name, "why", why)
		pctx, cancel := context.WithTimeout(ctx, 2*volOpTimeout)
		err := a.purge(pctx, cur)
		cancel()
		a.opMu.Unlock()
		if err == nil {
			return
		}
		a.log.Warn("could not purge an abandoned restore yet; retrying", "name", vol.Name, "err", err, "in", restorePurgeRetry)
		select {
		case <-ctx.Done():
			return
		case <-time.After(restorePurgeRetry):
		}
	}
}

// purgeAbandonedRestores purges the restoring volumes the SCM holds at
// start, until the server stops.
func (a *volAdmin) purgeAbandonedRestores() {
	for _, vol := range a.volumes.Value().ByName {
		if vol.Restoring {
			a.purgeAbandoned(a.ctx, vol, "the SCM restarted during the restore")
		}
	}
}

// restoreDone serves OpRestoreDone (admin key): the restored volume is
// whole and stops being restoring.
func (a *volAdmin) restoreDone(ctx context.Context, r *rpc.Request) (proto.Message, *rpc.Source, error) {
	if !a.adminKey(r) {
		return nil, nil, proto.Errorf(proto.CodeAccess, "restore needs the admin key")
	}
	var req proto.VolumeRef
	if err := r.Decode(&req); err != nil {
		return nil, nil, err
	}
	a.opMu.Lock()
	defer a.opMu.Unlock()
	vols := a.volumes.Value()
	vol, ok := vols.ByName[req.Name]
	if !ok || !vol.Restoring {
		return nil, nil, proto.Errorf(proto.CodeNoVolume, fmt.Sprintf("no volume %s being restored", req.Name))
	}
	vol.Restoring = false
	if err := a.record(vols.With(vol)); err != nil {
		return nil, nil, err
	}
	a.log.Info("volume restored", "name", vol.Name, "id", fmt.Sprintf("%x", vol.ID))
	return &proto.Empty{}, nil, nil
}
