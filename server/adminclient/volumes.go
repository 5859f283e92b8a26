package adminclient

import (
	"context"
	"fmt"
	"time"

	"github.com/coda-fs/coda/server/proto"
)

// CreateVolume asks the server to create its replica of a volume and
// returns the new volume's description.
func (c *Client) CreateVolume(ctx context.Context, req *proto.CreateVolume) (*proto.VolumeInfo, error) {
	var info proto.VolumeInfo
	if err := c.call(ctx, proto.OpCreateVolume, req, &info); err != nil {
		return nil, fmt.Errorf("create volume %s on %s: %w", req.Name, c.addr, err)
	}
	return &info, nil
}

// ListVolumes returns every volume the server holds a replica of.
func (c *Client) ListVolumes(ctx context.Context) ([]proto.VolumeInfo, error) {
	var list proto.VolumeList
	if err := c.call(ctx, proto.OpListVolumes, &proto.Empty{}, &list); err != nil {
		return nil, fmt.Errorf("list volumes on %s: %w", c.addr, err)
	}
	return list.Volumes, nil
}

// VolumeInfo describes the volume called name.
func (c *Client) VolumeInfo(ctx context.Context, name string) (*proto.VolumeInfo, error) {
	return c.volumeInfo(ctx, &proto.VolumeRef{Name: name}, name)
}

// VolumeInfoByID describes the volume with the given id.
func (c *Client) VolumeInfoByID(ctx context.Context, id uint32) (*proto.VolumeInfo, error) {
	return c.volumeInfo(ctx, &proto.VolumeRef{ID: id}, fmt.Sprintf("%x", id))
}

func (c *Client) volumeInfo(ctx context.Context, ref *proto.VolumeRef, what string) (*proto.VolumeInfo, error) {
	var info proto.VolumeInfo
	if err := c.call(ctx, proto.OpGetVolumeInfo, ref, &info); err != nil {
		return nil, fmt.Errorf("volume %s on %s: %w", what, c.addr, err)
	}
	return &info, nil
}

// DeleteVolume drops the server's replica of volume id.
func (c *Client) DeleteVolume(ctx context.Context, id uint32) error {
	if err := c.call(ctx, proto.OpDeleteVolume, &proto.VolumeRef{ID: id}, &proto.Empty{}); err != nil {
		return fmt.Errorf("delete volume %x on %s: %w", id, c.addr, err)
	}
	return nil
}

// CreateVolumeRep asks the SCM to create volume name with one replica on
// each of servers (ids or HOST:PORT).
func (c *Client) CreateVolumeRep(ctx context.Context, name string, servers []string) (*proto.VolumeInfo, error) {
	var info proto.VolumeInfo
	if err := c.call(ctx, proto.OpCreateVolumeRep, &proto.CreateVolumeRep{Name: name, Servers: servers}, &info); err != nil {
		return nil, fmt.Errorf("createvol_rep %s at %s: %w", name, c.addr, err)
	}
	return &info, nil
}

// CreateRestoringVolume asks the SCM for volume name, to be restored:
// unless RestoreDone follows on this client's connection, the SCM purges
// it when the connection ends.
func (c *Client) CreateRestoringVolume(ctx context.Context, name string, servers []string) (*proto.VolumeInfo, error) {
	var info proto.VolumeInfo
	if err := c.call(ctx, proto.OpCreateVolumeRep, &proto.CreateVolumeRep{Name: name, Servers: servers, Restoring: true}, &info); err != nil {
		return nil, err
	}
	return &info, nil
}

// RestoreDone tells the SCM that every replica of volume name is restored.
func (c *Client) RestoreDone(ctx context.Context, name string) error {
	return c.call(ctx, proto.OpRestoreDone, &proto.VolumeRef{Name: name}, &proto.Empty{})
}

// PurgeVolumeRep asks the SCM to remove volume name from every server.
func (c *Client) PurgeVolumeRep(ctx context.Context, name string) error {
	if err := c.call(ctx, proto.OpPurgeVolumeRep, &proto.VolumeRef{Name: name}, &proto.Empty{}); err != nil {
		return fmt.Errorf("purgevol_rep %s at %s: %w", name, c.addr, err)
	}
	return nil
}

// Vnodes returns every vnode of the server's replica of volume id, with
// content checksums, page by page.
func (c *Client) Vnodes(ctx context.Context, id uint32) ([]proto.VnodeSummary, error) {
	var all []proto.VnodeSummary
	after := uint32(0)
	for {
		var page proto.ListVnodesReply
		if err := c.call(ctx, proto.OpListVnodes, &proto.ListVnodes{Volume: id, After: after, Max: proto.MaxListVnodes}, &page); err != nil {
			return nil, fmt.Errorf("list the vnodes of volume %x on %s: %w", id, c.addr, err)
		}
		all = append(all, page.Vnodes...)
		if !page.More || len(page.Vnodes) == 0 {
			return all, nil
		}
		after = page.Vnodes[len(page.Vnodes)-1].FID.Vnode
	}
}

// ResyncTimeout bounds one step of volutil resync (a step copies what one
// page of vnodes needs, which may be many large files).
const ResyncTimeout = 30 * time.Minute

// ResyncStep runs one step of volutil resync on the server.
func (c *Client) ResyncStep(ctx context.Context, req *proto.Resync) (*proto.ResyncReply, error) {
	ctx, cancel := context.WithTimeout(ctx, ResyncTimeout)
	defer cancel()
	var r proto.ResyncReply
	if err := c.call(ctx, proto.OpResync, req, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// SetLogParms sets (logSize not 0) and reports the resolution log bound of
// the server's replica of volume id.
func (c *Client) SetLogParms(ctx context.Context, id, logSize uint32) (*proto.LogParms, error) {
	var r proto.LogParms
	if err := c.call(ctx, proto.OpSetLogParms, &proto.LogParms{Volume: id, LogSize: logSize}, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// LockVolume locks (or unlocks) volume name on every replica, for timeout
// (0: the server's default), and returns what each replica said.
func (c *Client) LockVolume(ctx context.Context, name string, timeout time.Duration, unlock bool) (string, error) {
	var r proto.Text
	req := &proto.VolumeLock{Name: name, Timeout: uint32(timeout / time.Second), Unlock: unlock}
	if err := c.call(ctx, proto.OpLockVolume, req, &r); err != nil {
		return "", err
	}
	return r.Text, nil
}

// Backup has the SCM make or refresh a clone of every replica of a volume
// (volutil backup, clone) and returns its report.
func (c *Client) Backup(ctx context.Context, req *proto.Backup) (string, error) {
	var r proto.Text
	if err := c.call(ctx, proto.OpBackupVolume, req, &r); err != nil {
		return "", err
	}
	return r.Text, nil
}

// ServerControl asks the server to shut down or reopen its log
// ("shutdown", "swaplog") and returns its answer.
func (c *Client) ServerControl(ctx context.Context, what string) (string, error) {
	var r proto.Text
	if err := c.call(ctx, proto.OpServerControl, &proto.Text{Text: what}, &r); err != nil {
		return "", err
	}
	return r.Text, nil
}
