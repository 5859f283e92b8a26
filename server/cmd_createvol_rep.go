package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/coda-fs/coda/server/adminclient"
	"github.com/coda-fs/coda/server/proto"
)

// adminCmdOptions are the flags every admin tool shares.
type adminCmdOptions struct {
	KeyFile string
	CAFile  string
}

// NewCreatevolRepCommand returns `coda createvol_rep NAME SERVER [SERVER…]`.
func NewCreatevolRepCommand() *cli.Command {
	var o adminCmdOptions
	return &cli.Command{
		Name:      "createvol_rep",
		Category:  "server",
		Usage:     "create a replicated volume on 1-8 servers",
		UsageText: "coda createvol_rep [--key FILE] [--ca FILE] NAME SERVER [SERVER...]",
		ArgsUsage: "NAME SERVER [SERVER...]",
		Description: `Creates the volume NAME with one replica on each SERVER (HOST[:PORT], port 2432 by
default) and prints its volume id in hex. The realm's root volume is made this way too, under
the name given to "coda server init --root-volume" (coda.root by default). Flags may also
follow the arguments.

This version creates volumes on one server only; replication across several servers comes
with a later release.

EXAMPLES:
   coda createvol_rep coda.root 10.0.0.1:2432
   coda createvol_rep users:jan fs1 --key /vice/db/volutil.key
   CODA_VOLUTIL_KEY=/tmp/cell/server/db/volutil.key coda createvol_rep www 127.0.0.1:24320`,
		Flags: []cli.Flag{keyFlag(&o.KeyFile), caFlag(&o.CAFile)},
		Action: func(c *cli.Context) error {
			name, servers, err := createvolArgs(c.Args().Slice())
			if err != nil {
				return err
			}
			return runCreatevolRep(c.Context, o, name, servers, c.App.Writer)
		},
	}
}

// createvolArgs checks NAME SERVER [SERVER…] and adds default ports.
func createvolArgs(args []string) (name string, servers []string, err error) {
	if len(args) < 2 {
		return "", nil, usageErrorf("createvol_rep: need a volume NAME and at least one SERVER")
	}
	name, servers = args[0], append([]string(nil), args[1:]...)
	if err := checkVolumeName(name); err != nil {
		return "", nil, err
	}
	if len(servers) > proto.MaxReplicas {
		return "", nil, usageErrorf("createvol_rep: a volume has at most %d replicas, %d servers given", proto.MaxReplicas, len(servers))
	}
	for i, s := range servers {
		if s == "" {
			return "", nil, usageErrorf("createvol_rep: empty SERVER argument")
		}
		servers[i] = adminclient.Addr(s)
	}
	if len(servers) > 1 {
		return "", nil, errors.New("replication across several servers is not available yet")
	}
	return name, servers, nil
}

func checkVolumeName(name string) error {
	if name == "" || len(name) > proto.MaxVolName || strings.ContainsAny(name, "/ \t\r\n") {
		return usageErrorf("bad volume name %q: 1-%d characters, no '/' or white space", name, proto.MaxVolName)
	}
	return nil
}

func runCreatevolRep(ctx context.Context, o adminCmdOptions, name string, servers []string, stdout io.Writer) error {
	c, err := adminclient.Dial(ctx, servers[0], o.KeyFile, o.CAFile)
	if err != nil {
		return err
	}
	defer c.Close()
	req := &proto.CreateVolume{
		Name:     name,
		Replicas: []proto.Replica{{ServerID: c.ServerID(), Addr: servers[0]}},
	}
	info, err := c.CreateVolume(ctx, req)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "%x\n", info.ID)
	return err
}
