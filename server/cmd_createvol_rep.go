package server

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/coda-fs/coda/server/adminclient"
	"github.com/coda-fs/coda/server/proto"
)

// adminCmdOptions are the flags every admin tool shares.
type adminCmdOptions struct {
	KeyFile string
	CAFile  string
	SCM     string // -h: the SCM; default $CODA_SCM, else the first SERVER
}

// NewCreatevolRepCommand returns `coda createvol_rep NAME SERVER [SERVER…]`.
func NewCreatevolRepCommand() *cli.Command {
	var o adminCmdOptions
	return &cli.Command{
		Name:      "createvol_rep",
		Category:  "server",
		Usage:     "create a replicated volume on 1-8 servers",
		UsageText: "coda createvol_rep [-h SCM] [--key FILE] [--ca FILE] NAME SERVER [SERVER...]",
		ArgsUsage: "NAME SERVER [SERVER...]",
		Description: `Creates the volume NAME with one replica on each SERVER (1 to 8 of them, in the
order given; a SERVER is HOST[:PORT], port 2432 by default, or a server id) and prints its
volume (group) id in hex, then one line per replica: server id, address, replica id. The
realm's root volume is made this way too, under the name given to "coda server init
--root-volume" (coda.root by default). Flags may also follow the arguments.

The SCM does the work: it allocates the ids, has every server create its replica and records
the volume in the volume location database, which every server copies, so that clients can ask
any server where the volume lives. If any server cannot create its replica, the replicas
already made are removed and nothing is recorded. The SCM is -h, else $CODA_SCM, else the SCM
recorded in the data directory of the key file (on a server: /vice/db/identity), else the
first SERVER.

EXAMPLES:
   coda createvol_rep coda.root 10.0.0.1:2432
   coda createvol_rep www 10.0.0.1 10.0.0.2 10.0.0.3
   coda createvol_rep -h 10.0.0.1 users:jan 2 3 --key /vice/db/volutil.key
   CODA_VOLUTIL_KEY=/tmp/cell/server/db/volutil.key coda createvol_rep www 127.0.0.1:24320`,
		HideHelp: true,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "h", EnvVars: []string{"CODA_SCM"}, Destination: &o.SCM,
				Usage: "the SCM, `HOST[:PORT]` (default: the first SERVER)"},
			keyFlag(&o.KeyFile), caFlag(&o.CAFile), helpFlag(),
		},
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
		if _, err := strconv.ParseUint(s, 10, 8); err != nil { // not a server id
			servers[i] = adminclient.Addr(s)
		}
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
	scm := o.SCM
	if s, ok := scmOfKeyDir(o.KeyFile); scm == "" && ok {
		scm = s
	}
	if scm == "" {
		if _, err := strconv.ParseUint(servers[0], 10, 8); err == nil {
			return usageErrorf("createvol_rep: name the SCM with -h (or $CODA_SCM) when the first SERVER is an id")
		}
		scm = servers[0]
	}
	c, err := adminclient.Dial(ctx, adminclient.Addr(scm), o.KeyFile, o.CAFile)
	if err != nil {
		return err
	}
	defer c.Close()
	info, err := c.CreateVolumeRep(ctx, name, servers)
	if err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%x\n", info.ID)
	for _, r := range info.Replicas {
		fmt.Fprintf(&b, "replica %d %s %x\n", r.ServerID, r.Addr, r.ReplicaID)
	}
	_, err = io.WriteString(stdout, b.String())
	return err
}
