package server

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/coda-fs/coda/server/adminclient"
	"github.com/coda-fs/coda/server/proto"
)

// volutilCmdOptions are the flags of `coda volutil` (before its command).
type volutilCmdOptions struct {
	Host string
	adminCmdOptions
}

// NewVolutilCommand returns `coda volutil [-h SERVER] COMMAND …`. As in
// Coda, -h is the host flag; help is --help only.
func NewVolutilCommand() *cli.Command {
	var o volutilCmdOptions
	return &cli.Command{
		Name:      "volutil",
		Category:  "server",
		Usage:     "administer the volumes of one server",
		UsageText: "coda volutil [-h HOST[:PORT]] [--key FILE] [--ca FILE] COMMAND [arguments]",
		Description: `Talks to the server given by -h (default localhost:2432, or $CODA_SCM) as the realm
administrator, proving the admin key file. As in Coda, -h names the host; help is --help.

getvolumelist prints one line per volume: name, id (hex), type, replicas (server addresses),
files and bytes in this server's replica. info prints one field per line.

EXAMPLES:
   coda volutil getvolumelist
   coda volutil -h 10.0.0.1 info coda.root
   coda volutil -h 127.0.0.1:24320 --key /tmp/cell/server/db/volutil.key getvolumelist`,
		HideHelp: true,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "h", Value: "localhost:2432", EnvVars: []string{"CODA_SCM"}, Destination: &o.Host,
				Usage: "server to talk to, `HOST[:PORT]`"},
			keyFlag(&o.KeyFile),
			caFlag(&o.CAFile),
			helpFlag(),
		},
		Subcommands: volutilCommands(&o),
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return usageErrorf("volutil: unknown command %q (see coda volutil --help)", c.Args().First())
			}
			return usageErrorf("volutil: missing COMMAND (see coda volutil --help)")
		},
	}
}

func volutilCommands(o *volutilCmdOptions) []*cli.Command {
	cmds := []*cli.Command{
		{
			Name:      "getvolumelist",
			Usage:     "list the volumes of the server, one per line",
			UsageText: "coda volutil [-h HOST] getvolumelist",
			Description: `Prints one line per volume, sorted by name: name, id (hex), type (rw, ro, backup),
replicas (server addresses, comma-separated), files and bytes in this server's replica.

EXAMPLES:
   coda volutil getvolumelist
   coda volutil -h 10.0.0.1:2432 getvolumelist`,
			HideHelp: true,
			Flags:    []cli.Flag{helpFlag()},
			Action: func(c *cli.Context) error {
				if err := noArgs(c); err != nil {
					return err
				}
				return runGetVolumeList(c.Context, *o, c.App.Writer)
			},
		},
		newVolutilInfoCommand(o),
		newVolutilCreateRepCommand(o),
		newVolutilResyncCommand(o),
		newVolutilSetLogParmsCommand(o),
	}
	cmds = append(cmds, newVolutilLockCommands(o)...)
	cmds = append(cmds, newVolutilBackupCommands(o)...)
	cmds = append(cmds, newVolutilDumpCommands(o)...)
	cmds = append(cmds, newVolutilRestoreCommand(o))
	cmds = append(cmds, newVolutilAdminCommands(o)...)
	return cmds
}

func newVolutilInfoCommand(o *volutilCmdOptions) *cli.Command {
	var all bool
	return &cli.Command{
		Name:      "info",
		Usage:     "describe a volume, one field per line",
		UsageText: "coda volutil [-h HOST] info [-all] VOL",
		ArgsUsage: "VOL",
		Description: `VOL is a volume name, or a volume id in hex with a 0x prefix.

-all then prints one line per vnode of this server's replica, in vnode order:
"vnode FID TYPE MODE UID GID LINKS SIZE VV STOREID SUM": FID volume.vnode.unique, MODE in
octal, VV the version vector's eight counters, STOREID the last update's client.sequence, SUM
the xxhash64 of the content (a file's bytes; a directory's entries and ACL; a symlink's
target). Replicas that are in step print identical vnode lines, so

   diff <(coda volutil -h fs1 info -all www | grep ^vnode) <(coda volutil -h fs2 info -all www | grep ^vnode)

shows what differs.

EXAMPLES:
   coda volutil info coda.root
   coda volutil -h fs1 info 0x7f000001
   coda volutil -h fs2 info -all www`,
		HideHelp: true,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "all", Destination: &all, Usage: "also list every vnode with its version vector and checksum"},
			helpFlag(),
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageErrorf("volutil info: need exactly one VOL")
			}
			return runVolumeInfo(c.Context, *o, c.Args().First(), all, c.App.Writer)
		},
	}
}

func (o volutilCmdOptions) dial(ctx context.Context) (*adminclient.Client, error) {
	return adminclient.Dial(ctx, adminclient.Addr(o.Host), o.KeyFile, o.CAFile)
}

func runGetVolumeList(ctx context.Context, o volutilCmdOptions, w io.Writer) error {
	c, err := o.dial(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	vols, err := c.ListVolumes(ctx)
	if err != nil {
		return err
	}
	return writeVolumeList(w, vols)
}

// writeVolumeList prints one aligned line per volume, sorted by name:
// name, id, type, replicas, files, bytes.
func writeVolumeList(w io.Writer, vols []proto.VolumeInfo) error {
	sort.Slice(vols, func(i, j int) bool { return vols[i].Name < vols[j].Name })
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	for _, v := range vols {
		fmt.Fprintf(tw, "%s\t%x\t%s\t%s\t%d\t%d\n", v.Name, v.ID, v.Type.String(), replicaList(v.Replicas), v.Files, v.Bytes)
	}
	return tw.Flush()
}

func runVolumeInfo(ctx context.Context, o volutilCmdOptions, vol string, all bool, w io.Writer) error {
	c, info, err := o.dialVolume(ctx, vol)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := writeVolumeInfo(w, info); err != nil || !all {
		return err
	}
	vnodes, err := c.Vnodes(ctx, info.ID)
	if err != nil {
		return err
	}
	return writeVnodes(w, vnodes)
}

// writeVnodes prints one line per vnode (see volutil info -all).
func writeVnodes(w io.Writer, vnodes []proto.VnodeSummary) error {
	bw := bufio.NewWriter(w)
	for _, v := range vnodes {
		vv := make([]string, len(v.VV.Counters))
		for i, c := range v.VV.Counters {
			vv[i] = strconv.FormatUint(uint64(c), 10)
		}
		fmt.Fprintf(bw, "vnode %s %s %o %d %d %d %d %s %x.%x %016x\n", v.FID, v.Type, v.Mode, v.UID, v.GID,
			v.Nlink, v.Size, strings.Join(vv, ","), v.VV.Store.Client, v.VV.Store.Seq, v.Sum)
	}
	return bw.Flush()
}

// dialVolume connects to the server and describes volume vol there: a
// name, or an id in hex with 0x.
func (o volutilCmdOptions) dialVolume(ctx context.Context, vol string) (*adminclient.Client, *proto.VolumeInfo, error) {
	c, err := o.dial(ctx)
	if err != nil {
		return nil, nil, err
	}
	var info *proto.VolumeInfo
	if id, ok := parseVolumeID(vol); ok {
		info, err = c.VolumeInfoByID(ctx, id)
	} else {
		info, err = c.VolumeInfo(ctx, vol)
	}
	if err != nil {
		c.Close()
		return nil, nil, err
	}
	return c, info, nil
}

// parseVolumeID parses "0x1000001"; anything else is a name.
func parseVolumeID(s string) (uint32, bool) {
	hex, ok := strings.CutPrefix(strings.ToLower(s), "0x")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseUint(hex, 16, 32)
	return uint32(n), err == nil
}

// writeVolumeInfo prints one field per line, then one line per replica:
// "replica SERVERID ADDR REPLICAID".
func writeVolumeInfo(w io.Writer, v *proto.VolumeInfo) error {
	tw := tabwriter.NewWriter(w, 0, 8, 1, ' ', 0)
	fmt.Fprintf(tw, "name\t%s\n", v.Name)
	fmt.Fprintf(tw, "id\t%x\n", v.ID)
	fmt.Fprintf(tw, "type\t%s\n", v.Type.String())
	fmt.Fprintf(tw, "root\t%s\n", v.Root)
	fmt.Fprintf(tw, "files\t%d\n", v.Files)
	fmt.Fprintf(tw, "bytes\t%d\n", v.Bytes)
	for _, r := range v.Replicas {
		fmt.Fprintf(tw, "replica\t%d %s %x\n", r.ServerID, r.Addr, r.ReplicaID)
	}
	return tw.Flush()
}

// replicaList names a volume's replicas by address (server id when the
// address is unknown), comma-separated.
func replicaList(rs []proto.Replica) string {
	if len(rs) == 0 {
		return "-"
	}
	names := make([]string, len(rs))
	for i, r := range rs {
		names[i] = r.Addr
		if names[i] == "" {
			names[i] = fmt.Sprintf("server%d", r.ServerID)
		}
	}
	return strings.Join(names, ",")
}
