package server

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/coda-fs/coda/server/proto"
	"github.com/coda-fs/coda/server/volume"
)

func newVolutilLockCommands(o *volutilCmdOptions) []*cli.Command {
	var timeout time.Duration
	lock := &cli.Command{
		Name:      "lock",
		Usage:     "stop the updates of a volume on every replica",
		UsageText: "coda volutil [-h SERVER] lock [--timeout DURATION] VOL",
		Description: `Updates of VOL wait on every replica until volutil unlock, or until the lock times out
(default 5m; then it ends by itself and the servers log it). Reads go on. Clients see writes
stall, never fail: venus sends an update again while the volume is locked. Locking a locked
volume renews its timeout. Locks live in the servers' memory: a restarted server holds none.

EXAMPLES:
   coda volutil lock web
   coda volutil lock --timeout 30m web; coda volutil backup web`,
		HideHelp: true,
		Flags: []cli.Flag{
			&cli.DurationFlag{Name: "timeout", Value: volume.DefaultLockTimeout, Destination: &timeout,
				Usage: "unlock by itself after `DURATION`"},
			helpFlag(),
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageErrorf("volutil lock: need exactly one VOL")
			}
			if timeout < time.Second {
				return usageErrorf("volutil lock: a timeout of at least 1s")
			}
			return runLock(c.Context, *o, c.Args().First(), timeout, false, c.App.Writer)
		},
	}
	unlock := &cli.Command{
		Name:      "unlock",
		Usage:     "let the updates of a locked volume go on",
		UsageText: "coda volutil [-h SERVER] unlock VOL",
		Description: `Ends volutil lock on every replica of VOL; the updates waiting go on.

EXAMPLES:
   coda volutil unlock web`,
		HideHelp: true,
		Flags:    []cli.Flag{helpFlag()},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageErrorf("volutil unlock: need exactly one VOL")
			}
			return runLock(c.Context, *o, c.Args().First(), 0, true, c.App.Writer)
		},
	}
	return []*cli.Command{lock, unlock}
}

func runLock(ctx context.Context, o volutilCmdOptions, vol string, timeout time.Duration, unlock bool, w io.Writer) error {
	what := "lock"
	if unlock {
		what = "unlock"
	}
	c, err := o.dial(ctx)
	if err != nil {
		return fmt.Errorf("volutil %s: %w", what, err)
	}
	defer c.Close()
	out, err := c.LockVolume(ctx, vol, timeout, unlock)
	if err != nil {
		return fmt.Errorf("volutil %s %s: %w", what, vol, err)
	}
	_, err = fmt.Fprintln(w, out)
	return err
}

func newVolutilBackupCommands(o *volutilCmdOptions) []*cli.Command {
	var name string
	var keepLocked bool
	backup := &cli.Command{
		Name:      "backup",
		Usage:     "make or refresh the read-only backup clone VOL.backup",
		UsageText: "coda volutil [-h SCM] backup VOL",
		Description: `Locks VOL on every replica, has each replica's server clone its replica as its replica
of VOL.backup (made the first time, refreshed after: same volume id, so mounts of it stay),
and unlocks (also a lock volutil lock took). The clone copies the metadata and shares the
file data with VOL: it costs about the size of VOL's metadata, not of its data. Changes made
to VOL afterwards do not show in VOL.backup until the next backup. Mount it for users with
"coda cfs mkm DIR VOL.backup"; dump it with "coda volutil dump VOL.backup". Runs on the SCM.

EXAMPLES:
   coda volutil backup web
   coda volutil lock web; coda volutil backup web
   coda volutil dump -i 1 web.backup | coda dump2tar | gzip > web-$(date +%F).tgz`,
		HideHelp: true,
		Flags:    []cli.Flag{helpFlag()},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageErrorf("volutil backup: need exactly one VOL")
			}
			return runBackup(c.Context, *o, &proto.Backup{Volume: c.Args().First(), Type: proto.VolBackup}, c.App.Writer)
		},
	}
	clone := &cli.Command{
		Name:      "clone",
		Usage:     "make or refresh a read-only clone of a volume",
		UsageText: "coda volutil [-h SCM] clone VOL [-n NAME] [--keep-locked]",
		Description: `As backup, but the clone is a read-only volume named NAME (default VOL.readonly).
--keep-locked leaves VOL locked afterwards (volutil unlock ends it).

EXAMPLES:
   coda volutil clone web -n web.monday
   coda volutil clone web`,
		HideHelp: true,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "n", Destination: &name, Usage: "the clone's `NAME`"},
			&cli.BoolFlag{Name: "keep-locked", Destination: &keepLocked, Usage: "leave VOL locked"},
			helpFlag(),
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageErrorf("volutil clone: need exactly one VOL")
			}
			n := name
			if n == "" {
				n = c.Args().First() + ".readonly"
			}
			return runBackup(c.Context, *o, &proto.Backup{Volume: c.Args().First(), Clone: n, Type: proto.VolRO, KeepLocked: keepLocked}, c.App.Writer)
		},
	}
	return []*cli.Command{backup, clone}
}

func runBackup(ctx context.Context, o volutilCmdOptions, req *proto.Backup, w io.Writer) error {
	what := "backup"
	if req.Type == proto.VolRO {
		what = "clone"
	}
	c, err := o.dial(ctx)
	if err != nil {
		return fmt.Errorf("volutil %s: %w", what, err)
	}
	defer c.Close()
	out, err := c.Backup(ctx, req)
	if err != nil {
		return fmt.Errorf("volutil %s %s: %w", what, req.Volume, err)
	}
	_, err = fmt.Fprintln(w, out)
	return err
}
