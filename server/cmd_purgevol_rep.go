package server

import (
	"context"
	"fmt"
	"io"

	"github.com/urfave/cli/v2"

	"github.com/coda-fs/coda/server/adminclient"
)

// NewPurgevolRepCommand returns `coda purgevol_rep NAME`.
func NewPurgevolRepCommand() *cli.Command {
	var o adminCmdOptions
	return &cli.Command{
		Name:      "purgevol_rep",
		Category:  "server",
		Usage:     "remove a replicated volume from every server",
		UsageText: "coda purgevol_rep [-h SCM] [--key FILE] [--ca FILE] NAME",
		Description: `Removes the volume NAME: the SCM has every server delete its replica (all files
in it are gone for good), then drops the volume from the volume location database. If a
server cannot be reached, the volume stays recorded and the command fails naming the server;
run it again when the server is back. Mount points that name the volume are left dangling.
The SCM is -h, else $CODA_SCM, else the SCM recorded in the data directory of the key file
(on a server: /vice/db/identity), else localhost.

EXAMPLES:
   coda purgevol_rep www
   coda purgevol_rep -h 10.0.0.1 users:jan --key /vice/db/volutil.key`,
		HideHelp: true,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "h", EnvVars: []string{"CODA_SCM"}, Destination: &o.SCM,
				Usage: "the SCM, `HOST[:PORT]` (default: the SCM of the server whose key file is used, else localhost)"},
			keyFlag(&o.KeyFile), caFlag(&o.CAFile), helpFlag(),
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageErrorf("purgevol_rep: need exactly one volume NAME")
			}
			return runPurgevolRep(c.Context, o, c.Args().First(), c.App.Writer)
		},
	}
}

func runPurgevolRep(ctx context.Context, o adminCmdOptions, name string, stdout io.Writer) error {
	if err := checkVolumeName(name); err != nil {
		return err
	}
	scm := o.SCM
	if scm == "" {
		scm = "localhost"
		if s, ok := scmOfKeyDir(o.KeyFile); ok {
			scm = s
		}
	}
	c, err := adminclient.Dial(ctx, adminclient.Addr(scm), o.KeyFile, o.CAFile)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.PurgeVolumeRep(ctx, name); err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "volume %s purged\n", name)
	return err
}
