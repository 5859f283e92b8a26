package venus

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/coda-fs/coda/server/proto"
	"github.com/coda-fs/coda/server/rpc"
)

// FIDInfo returns the current status of the object at ino on the mount:
// its FID and version vector among the rest (cfs getfid).
func (v *Venus) FIDInfo(ctx context.Context, c Caller, ino uint64) (proto.Attr, error) {
	o, err := v.object(ino)
	if err != nil {
		return proto.Attr{}, err
	}
	if err := v.ensureValid(ctx, c, o); err != nil {
		return proto.Attr{}, err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	return o.attr, nil
}

// VolumeStatus is what venus knows of a volume: where the servers say it
// lives, and the objects venus saw out of date on some replica and could
// not bring level or saw as conflicts (FID → why).
type VolumeStatus struct {
	Info      proto.VolumeInfo
	OutOfDate map[string]string
	// State is connected, disconnected or reintegrating; CML what the
	// volume's log holds; Waiting why reintegration waits ("" if not).
	State   string
	CML     CMLStatus
	Waiting string
}

// VolumeOf describes the volume holding the object at ino (cfs lv, cfs
// whereis).
func (v *Venus) VolumeOf(ctx context.Context, c Caller, ino uint64) (VolumeStatus, error) {
	o, err := v.object(ino)
	if err != nil {
		return VolumeStatus{}, err
	}
	var st VolumeStatus
	st.State = "connected"
	if v.disconnected(o.fid.Volume) {
		st.State = "disconnected"
	}
	if _, err = v.call(ctx, c, proto.OpGetVolumeInfo, &proto.VolumeRef{ID: o.fid.Volume}, &st.Info, nil); err == nil {
		v.learnVolume(&st.Info)
	} else if st.State != "disconnected" {
		return st, err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	vol := v.volumeFor(o.fid.Volume)
	if err != nil { // disconnected: what venus knows
		st.Info = proto.VolumeInfo{ID: vol.id, Name: vol.name, Replicas: vol.reps}
	}
	if vol.wd.on && st.State == "connected" {
		st.State = fmt.Sprintf("write-disconnected (sending changes older than %v, %v at a time)", vol.wd.age, vol.wd.chunk)
	}
	if vol.wd.adaptive && st.State != "disconnected" {
		link := "not measured yet"
		if bw := v.Bandwidth(); bw > 0 {
			link = fmt.Sprintf("%.0f KB/s", bw/1024)
		}
		if vol.wd.on {
			st.State = fmt.Sprintf("write-disconnected (adaptive: the link is weak, %s; weak below %d KB/s)", link, WeakBandwidth>>10)
		} else {
			st.State = fmt.Sprintf("connected (adaptive: the link is strong, %s; weak below %d KB/s)", link, WeakBandwidth>>10)
		}
	}
	if vol.reintegrating && !vol.wd.on {
		st.State = "reintegrating"
	}
	st.CML, st.Waiting = cmlStatus(vol), vol.waitReason
	st.OutOfDate = map[string]string{}
	for fid, why := range vol.outOfDate {
		st.OutOfDate[fid.String()] = why
	}
	for fid, c := range v.objs {
		if fid.Volume == o.fid.Volume && isConflictObject(c) && !c.removed {
			st.OutOfDate[fid.String()] = "a conflict: a name changed differently on both sides (cfs expand, cfs repair)"
		}
	}
	return st, nil
}

// ServerStatus is the result of probing one server.
type ServerStatus struct {
	Addr string
	Up   bool
	Err  string // why it is down
}

// CheckServers probes addrs (default: the servers venus was given) now, in
// parallel, each with a fresh connection and a ping bounded by the dial
// timeout (cfs checkservers).
func (v *Venus) CheckServers(ctx context.Context, addrs []string) []ServerStatus {
	if len(addrs) == 0 {
		addrs = v.opts.Servers
	}
	out := make([]ServerStatus, len(addrs))
	hello := proto.Hello{Version: proto.Version, Realm: v.opts.Realm, ClientID: v.clientID, Name: v.opts.Name + " probe"}
	var wg sync.WaitGroup
	for i, addr := range addrs {
		v.link.mu.Lock()
		cut := v.link.isCut(addr)
		v.link.mu.Unlock()
		if cut {
			out[i] = ServerStatus{Addr: addr, Err: "server " + addr + ": " + errCut.Error()}
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = ServerStatus{Addr: addr}
			pctx, cancel := context.WithTimeout(ctx, v.opts.DialTimeout)
			defer cancel()
			conn, err := rpc.Dial(pctx, addr, hello, rpc.Config{TLS: v.tls, Logger: v.log}, &rpc.Mux{})
			if err == nil {
				err = conn.Call(pctx, proto.OpPing, &proto.Empty{}, &proto.Empty{}, nil)
				conn.Close()
			}
			if err != nil {
				out[i].Err = v.explainDial(addr, err).Error()
				return
			}
			out[i].Up = true
		}()
	}
	wg.Wait()
	v.link.kick() // the servers found up are dialled again now
	return out
}

// Path returns the path of fid inside its volume, as the server knows it
// (cfs getpath).
func (v *Venus) Path(ctx context.Context, c Caller, fid proto.FID) (string, error) {
	var t proto.Text
	_, err := v.callVol(ctx, c, fid.Volume, proto.OpGetPath, &proto.FIDReq{FID: fid}, &t, nil)
	return t.Text, err
}

// SetVolumeStatus sets the quota and messages (cfs setquota, setvol) of
// the volume holding ino on every replica, as c (the servers allow
// System:Administrators only), and returns the volume's description.
func (v *Venus) SetVolumeStatus(ctx context.Context, c Caller, ino uint64, req proto.SetVolumeStatus) (proto.VolumeInfo, error) {
	o, err := v.object(ino)
	if err != nil {
		return proto.VolumeInfo{}, err
	}
	reps, err := v.replicas(ctx, c, o.fid.Volume)
	if err != nil {
		return proto.VolumeInfo{}, err
	}
	req.Volume = o.fid.Volume
	var info proto.VolumeInfo
	var errs []error
	for _, rep := range reps {
		conn, err := v.link.to(ctx, rep.Addr, true)
		if err == nil {
			_, err = v.callOn(ctx, c, conn, proto.OpSetVolumeStatus, &req, &info, nil)
		}
		if err != nil {
			if proto.CodeOf(err) == proto.CodePerm || proto.CodeOf(err) == proto.CodeInvalid {
				return info, err
			}
			errs = append(errs, fmt.Errorf("server %s: %w", rep.Addr, err))
		}
	}
	return info, errors.Join(errs...)
}
