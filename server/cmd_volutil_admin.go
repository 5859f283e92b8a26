package server

import (
	"context"
	"fmt"
	"io"

	"github.com/urfave/cli/v2"
)

func newVolutilAdminCommands(o *volutilCmdOptions) []*cli.Command {
	purge := &cli.Command{
		Name:      "purge",
		Usage:     "delete a volume: every replica and its location record",
		UsageText: "coda volutil [-h SCM] purge VOL",
		Description: `Deletes VOL (a replicated volume, a backup or a read-only clone) from every server holding a
replica, then from the volume location database, as purgevol_rep does; run against the SCM.
A read-write volume with clones is refused until its clones are purged. A replica that
cannot be deleted (its server is down) keeps the record, so purge can be run again.

EXAMPLES:
   coda volutil purge web.readonly
   coda volutil purge web.backup; coda volutil purge web`,
		HideHelp: true,
		Flags:    []cli.Flag{helpFlag()},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageErrorf("volutil purge: need exactly one VOL")
			}
			return runPurge(c.Context, *o, c.Args().First(), c.App.Writer)
		},
	}
	lookup := &cli.Command{
		Name:      "lookup",
		Usage:     "say where a volume lives, on one line",
		UsageText: "coda volutil [-h SERVER] lookup VOL",
		Description: `Prints "NAME ID TYPE SERVER-ADDRESSES" for VOL (a name, or an id in hex with 0x), as the
server knows it: its own replica, else the volume location database.

EXAMPLES:
   coda volutil lookup web.backup`,
		HideHelp: true,
		Flags:    []cli.Flag{helpFlag()},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageErrorf("volutil lookup: need exactly one VOL")
			}
			cl, info, err := o.dialVolume(c.Context, c.Args().First())
			if err != nil {
				return fmt.Errorf("volutil lookup: %w", err)
			}
			defer cl.Close()
			_, err = fmt.Fprintf(c.App.Writer, "%s %x %s %s\n", info.Name, info.ID, info.Type.String(), replicaList(info.Replicas))
			return err
		},
	}
	control := func(name, usage, desc string) *cli.Command {
		return &cli.Command{
			Name:        name,
			Usage:       usage,
			UsageText:   "coda volutil [-h SERVER] " + name,
			Description: desc,
			HideHelp:    true,
			Flags:       []cli.Flag{helpFlag()},
			Action: func(c *cli.Context) error {
				if err := noArgs(c); err != nil {
					return err
				}
				return runServerControl(c.Context, *o, name, c.App.Writer)
			},
		}
	}
	return []*cli.Command{purge, lookup,
		control("shutdown", "stop the server cleanly", `Has the server (-h) stop as on SIGTERM: it answers, stops taking connections, finishes the
requests in progress and exits.

EXAMPLES:
   coda volutil -h fs2 shutdown`),
		control("swaplog", "have the server reopen its log file", `Has the server reopen its log file (coda server --log-file), after logrotate moved it, as
SIGHUP does; lines logged meanwhile went to the moved file. A server logging to its standard
error says there is nothing to reopen.

EXAMPLES:
   mv /var/log/coda/server.log /var/log/coda/server.log.1 && coda volutil swaplog
   coda volutil -h fs2 swaplog`),
	}
}

func runPurge(ctx context.Context, o volutilCmdOptions, vol string, w io.Writer) error {
	c, err := o.dial(ctx)
	if err != nil {
		return fmt.Errorf("volutil purge: %w", err)
	}
	defer c.Close()
	if err := c.PurgeVolumeRep(ctx, vol); err != nil {
		return fmt.Errorf("volutil purge: %w", err)
	}
	_, err = fmt.Fprintf(w, "%s purged\n", vol)
	return err
}

func runServerControl(ctx context.Context, o volutilCmdOptions, what string, w io.Writer) error {
	c, err := o.dial(ctx)
	if err != nil {
		return fmt.Errorf("volutil %s: %w", what, err)
	}
	defer c.Close()
	out, err := c.ServerControl(ctx, what)
	if err != nil {
		return fmt.Errorf("volutil %s: %w", what, err)
	}
	_, err = fmt.Fprintln(w, out)
	return err
}
