package server

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/coda-fs/coda/server/proto"
)

func newVolutilCreateRepCommand(o *volutilCmdOptions) *cli.Command {
	return &cli.Command{
		Name:      "create_rep",
		Usage:     "recreate one lost replica of a volume, empty, with its old ids",
		UsageText: "coda volutil [-h SERVER] create_rep NAME GROUPID REPLICAID",
		Description: `After a server lost its disk and was initialised again with its old id and address,
recreates on it (the -h SERVER) its replica REPLICAID of volume NAME (group id GROUPID), as
recorded in the realm's volume location database (coda volutil getvolumelist on a surviving
server shows the ids). The replica starts empty; clients bring it level as they use the
volume, or volutil resync does it at once. Ids are hex, with or without 0x.

EXAMPLES:
   coda volutil -h 10.0.0.3 create_rep www 7f000002 3000002
   coda volutil -h 10.0.0.3 create_rep coda.root 0x7f000001 0x3000001`,
		HideHelp: true,
		Flags:    []cli.Flag{helpFlag()},
		Action: func(c *cli.Context) error {
			if c.NArg() != 3 {
				return usageErrorf("volutil create_rep: need NAME GROUPID REPLICAID")
			}
			args := c.Args().Slice()
			group, err1 := parseHexID(args[1])
			replica, err2 := parseHexID(args[2])
			if err1 != nil || err2 != nil {
				return usageErrorf("volutil create_rep: GROUPID and REPLICAID are hex ids, e.g. 7f000001 1000001")
			}
			return runCreateRep(c.Context, *o, args[0], group, replica, c.App.Writer)
		},
	}
}

func parseHexID(s string) (uint32, error) {
	n, err := strconv.ParseUint(strings.TrimPrefix(strings.ToLower(s), "0x"), 16, 32)
	if err == nil && n == 0 {
		err = fmt.Errorf("zero id")
	}
	return uint32(n), err
}

func runCreateRep(ctx context.Context, o volutilCmdOptions, name string, group, replica uint32, w io.Writer) error {
	c, err := o.dial(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	info, err := c.VolumeInfoByID(ctx, group)
	if err != nil {
		return fmt.Errorf("volutil create_rep: %w", err)
	}
	if info.Name != name {
		return fmt.Errorf("volutil create_rep: volume %x is %s, not %s", group, info.Name, name)
	}
	if info.Files != 0 {
		return fmt.Errorf("volutil create_rep: %s already holds its replica of %s", c.ServerAddr(), name)
	}
	var mine *proto.Replica
	for i, r := range info.Replicas {
		if r.ReplicaID == replica {
			mine = &info.Replicas[i]
		}
	}
	switch {
	case mine == nil:
		return fmt.Errorf("volutil create_rep: volume %s has no replica %x", name, replica)
	case mine.ServerID != c.ServerID():
		return fmt.Errorf("volutil create_rep: replica %x of %s belongs to server %d (%s), not to server %d", replica, name, mine.ServerID, mine.Addr, c.ServerID())
	}
	made, err := c.CreateVolume(ctx, &proto.CreateVolume{Name: name, ID: group, ReplicaID: replica, Replicas: info.Replicas})
	if err != nil {
		return fmt.Errorf("volutil create_rep: %w", err)
	}
	_, err = fmt.Fprintf(w, "recreated replica %x of %s (%x) on server %d, empty\n", replica, made.Name, made.ID, c.ServerID())
	return err
}
