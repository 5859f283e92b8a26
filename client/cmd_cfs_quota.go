package client

import (
	"fmt"
	"strconv"

	"github.com/urfave/cli/v2"

	"github.com/coda-fs/coda/server/proto"
)

func newCfsSetQuota() *cli.Command {
	return &cli.Command{
		Name:      "setquota",
		Aliases:   []string{"sq"},
		Usage:     "set the quota of the volume holding a directory",
		UsageText: "coda cfs setquota|sq DIR BLOCKS",
		Description: `Sets the quota of the volume holding DIR to BLOCKS kilobytes (0: no limit), on every
replica. A store that would take the volume's data beyond it fails with EDQUOT ("Disk quota
exceeded"); cfs lv shows the quota and what is used. For System:Administrators.

EXAMPLES:
   coda cfs setquota /coda/example.org/www 10485760
   coda cfs sq /coda/example.org/home/jan 0`,
		Action: func(c *cli.Context) error {
			if c.NArg() != 2 {
				return usageErrorf("cfs setquota: need DIR BLOCKS")
			}
			q, err := strconv.ParseInt(c.Args().Get(1), 10, 64)
			if err != nil || q < 0 {
				return usageErrorf("cfs setquota: BLOCKS %q is not a number of kilobytes", c.Args().Get(1))
			}
			return setVolume(c, c.Args().Get(0), proto.SetVolumeStatus{Set: proto.SetQuota, Quota: q})
		},
	}
}

func newCfsSetVol() *cli.Command {
	var max int64
	var motd, offline string
	return &cli.Command{
		Name:      "setvol",
		Usage:     "set the quota and messages of the volume holding a directory",
		UsageText: "coda cfs setvol DIR [-max BLOCKS] [-motd TEXT] [-offlinemsg TEXT]",
		Description: `Sets, on every replica of the volume holding DIR, what is given: the quota in kilobytes
(-max; 0: no limit), the message of the day and the message shown while the volume is
offline; cfs lv shows them. For System:Administrators.

EXAMPLES:
   coda cfs setvol /coda/example.org/www -max 10485760
   coda cfs setvol /coda/example.org/www -motd "maintenance Sunday 05:00"`,
		Flags: []cli.Flag{
			&cli.Int64Flag{Name: "max", Destination: &max, Usage: "quota in `BLOCKS` of 1 KB (0: no limit)"},
			&cli.StringFlag{Name: "motd", Destination: &motd, Usage: "message of the day `TEXT`"},
			&cli.StringFlag{Name: "offlinemsg", Destination: &offline, Usage: "offline message `TEXT`"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageErrorf("cfs setvol: need DIR")
			}
			st := proto.SetVolumeStatus{Quota: max, MOTD: motd, Offline: offline}
			if c.IsSet("max") {
				st.Set |= proto.SetQuota
			}
			if c.IsSet("motd") {
				st.Set |= proto.SetMOTD
			}
			if c.IsSet("offlinemsg") {
				st.Set |= proto.SetOffline
			}
			if st.Set == 0 || max < 0 {
				return usageErrorf("cfs setvol: give -max BLOCKS (0 or more), -motd TEXT or -offlinemsg TEXT")
			}
			return setVolume(c, c.Args().First(), st)
		},
	}
}

func setVolume(c *cli.Context, dir string, st proto.SetVolumeStatus) error {
	what := c.Command.Name
	ino, err := dirIno(dir)
	if err == nil {
		var info proto.VolumeInfo
		if err = callVenus(c.Context, dir, OpSetVolume, SetVolumeArgs{Ino: ino, Status: st}, &info); err == nil {
			_, err = fmt.Fprintf(c.App.Writer, "%s: quota %d KB, %d KB used\n", info.Name, info.Quota, (info.Bytes+1023)/1024)
		}
	}
	if err != nil {
		return fmt.Errorf("cfs %s %s: %w", what, dir, err)
	}
	return nil
}
