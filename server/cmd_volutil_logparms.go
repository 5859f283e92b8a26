package server

import (
	"context"
	"fmt"
	"io"
	"strconv"

	"github.com/urfave/cli/v2"
)

func newVolutilSetLogParmsCommand(o *volutilCmdOptions) *cli.Command {
	var size int
	return &cli.Command{
		Name:      "setlogparms",
		Usage:     "set the resolution log size of a volume's replica on this server",
		UsageText: "coda volutil [-h SERVER] setlogparms VOL [-logsize N]",
		Description: `Every replica of a replicated volume logs the directory operations made since the
replicas were last equal, so that the two sides of a partition can be merged. The log holds
at most N records (default 16384, at least 16); beyond that the oldest go and their
directories are compared entry by entry when they are resolved (correct, but a difference
there is reported as a conflict instead of merged). Size it above the directory operations a
partition may last for. As in Coda, "logsize N" may also be given without the dash. Without
a size, prints the bound and how many records the log holds now. Per server: set it on every
server holding a replica.

EXAMPLES:
   coda volutil -h 10.0.0.1 setlogparms www -logsize 65536
   coda volutil -h 10.0.0.2 setlogparms 0x7f000002 logsize 65536
   coda volutil -h 10.0.0.1 setlogparms www`,
		HideHelp: true,
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "logsize", Destination: &size, Usage: "keep at most `N` log records"},
			helpFlag(),
		},
		Action: func(c *cli.Context) error {
			args := c.Args().Slice()
			if len(args) == 3 && args[1] == "logsize" {
				n, err := strconv.Atoi(args[2])
				if err != nil {
					return usageErrorf("volutil setlogparms: logsize %q is not a number", args[2])
				}
				size, args = n, args[:1]
			}
			if len(args) != 1 {
				return usageErrorf("volutil setlogparms: need VOL [-logsize N]")
			}
			if size < 0 {
				return usageErrorf("volutil setlogparms: negative log size")
			}
			return runSetLogParms(c.Context, *o, args[0], uint32(size), c.App.Writer)
		},
	}
}

func runSetLogParms(ctx context.Context, o volutilCmdOptions, vol string, size uint32, w io.Writer) error {
	c, info, err := o.dialVolume(ctx, vol)
	if err != nil {
		return fmt.Errorf("volutil setlogparms: %w", err)
	}
	defer c.Close()
	r, err := c.SetLogParms(ctx, info.ID, size)
	if err != nil {
		return fmt.Errorf("volutil setlogparms %s: %w", info.Name, err)
	}
	_, err = fmt.Fprintf(w, "%s on %s: log size %d, %d records held\n", info.Name, c.ServerAddr(), r.LogSize, r.Used)
	return err
}
