package adminclient

import (
	"context"
	"fmt"

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
