package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/coda-fs/coda/client/control"
	"github.com/coda-fs/coda/client/venus"
	"github.com/coda-fs/coda/server/proto"
)

// forEachPath runs fn on every path argument, printing "PATH:" headers
// when there are several, and fails with the first error.
func forEachPath(c *cli.Context, cmd string, fn func(path string) (string, error)) error {
	if !c.Args().Present() {
		return usageErrorf("cfs %s: missing PATH", cmd)
	}
	paths := c.Args().Slice()
	var failed []string
	for _, p := range paths {
		out, err := fn(p)
		if err != nil {
			failed = append(failed, fmt.Sprintf("%s: %v", p, err))
			continue
		}
		io.WriteString(c.App.Writer, out)
	}
	if failed != nil {
		return fmt.Errorf("cfs %s: %s", cmd, strings.Join(failed, "; "))
	}
	return nil
}

func newCfsGetFID() *cli.Command {
	return &cli.Command{
		Name:      "getfid",
		Aliases:   []string{"gf"},
		Usage:     "print the FID and version vector of objects",
		UsageText: "coda cfs getfid|gf PATH...",
		Description: `Prints, for each PATH, "PATH FID VV STOREID": the FID as volume.vnode.unique@realm
(hex), the version vector's eight counters and the store id of the last update
(client.sequence). Replicas of an object that are in step have equal version vectors.

EXAMPLES:
   coda cfs getfid /coda/example.org/www/index.html
   coda cfs gf /coda/example.org/www /coda/example.org/www/*`,
		Action: func(c *cli.Context) error {
			return forEachPath(c, "getfid", func(path string) (string, error) {
				var r FIDReply
				if err := pathCall(c.Context, path, false, OpGetFID, ACLArgs{}, &r); err != nil {
					return "", err
				}
				vv := r.Attr.VV
				return fmt.Sprintf("%s %s@%s %s %x.%x\n", path, r.Attr.FID, r.Realm, vvString(vv), vv.Store.Client, vv.Store.Seq), nil
			})
		},
	}
}

func vvString(vv proto.VV) string {
	s := make([]string, len(vv.Counters))
	for i, c := range vv.Counters {
		s[i] = fmt.Sprint(c)
	}
	return strings.Join(s, ",")
}

func newCfsListVol() *cli.Command {
	return &cli.Command{
		Name:      "listvol",
		Aliases:   []string{"lv"},
		Usage:     "describe the volume holding each path",
		UsageText: "coda cfs listvol|lv PATH...",
		Description: `Prints the volume holding each PATH: its name, id and type; its state on this client
(connected; disconnected: no server answers, changes are logged; reintegrating: the log is
being sent) with the number and bytes of changes logged for reintegration, the quota
("Maxquota", KB; 0 for none) and the KB used, the volume's messages, and why
reintegration waits (no server, no token for the user who made them, a refused change);
then one line per replica: server id, address, replica id, and whether the server answers a
probe now (up or down). Then the objects this venus saw differ between replicas and could not
bring level, and the conflicts it knows of, one line each with why: replicas that diverged
(updates on both sides of a partition; see coda-repair(7)) or a replica that could not be
reached or refused; or "No object known out of date".

EXAMPLES:
   coda cfs lv /coda/example.org
   coda cfs listvol /coda/example.org/www`,
		Action: func(c *cli.Context) error {
			return forEachPath(c, "listvol", func(path string) (string, error) {
				var vs venus.VolumeStatus
				if err := pathCall(c.Context, path, false, OpVolume, ACLArgs{}, &vs); err != nil {
					return "", err
				}
				info := vs.Info
				status, err := probe(c.Context, path, replicaAddrs(info))
				if err != nil {
					return "", err
				}
				var b strings.Builder
				kind := "ReadWrite"
				switch {
				case info.Type == proto.VolBackup:
					kind = "Backup"
				case info.Type == proto.VolRO:
					kind = "ReadOnly"
				case len(info.Replicas) > 1:
					kind = "Replicated"
				}
				fmt.Fprintf(&b, "  Status of volume %x (%d) named \"%s\"\n  Volume type is %s\n", info.ID, info.ID, info.Name, kind)
				fmt.Fprintf(&b, "  State is %s; %d updates (%d bytes) logged for reintegration\n", vs.State, vs.CML.Records, vs.CML.Bytes)
				fmt.Fprintf(&b, "  Minquota is 0, Maxquota is %d\n  Current blocks used are %d\n", info.Quota, (info.Bytes+1023)/1024)
				if info.MOTD != "" {
					fmt.Fprintf(&b, "  Message of the day: %s\n", info.MOTD)
				}
				if info.Offline != "" {
					fmt.Fprintf(&b, "  Offline message: %s\n", info.Offline)
				}
				if vs.Waiting != "" {
					fmt.Fprintf(&b, "  Reintegration waits: %s\n", vs.Waiting)
				}
				for i, r := range info.Replicas {
					state := "up"
					if !status[i].Up {
						state = "down"
					}
					fmt.Fprintf(&b, "  replica %d %s %x %s\n", r.ServerID, r.Addr, r.ReplicaID, state)
				}
				if len(vs.OutOfDate) == 0 {
					b.WriteString("  No object known out of date\n")
				}
				fids := make([]string, 0, len(vs.OutOfDate))
				for fid := range vs.OutOfDate {
					fids = append(fids, fid)
				}
				sort.Strings(fids)
				for _, fid := range fids {
					fmt.Fprintf(&b, "  out of date: %s: %s\n", fid, vs.OutOfDate[fid])
				}
				return b.String(), nil
			})
		},
	}
}

func replicaAddrs(info proto.VolumeInfo) []string {
	addrs := make([]string, len(info.Replicas))
	for i, r := range info.Replicas {
		addrs[i] = r.Addr
	}
	return addrs
}

// probe has the venus serving path probe addrs.
func probe(ctx context.Context, path string, addrs []string) ([]venus.ServerStatus, error) {
	var st []venus.ServerStatus
	if err := callVenus(ctx, path, OpCheck, CheckArgs{Servers: addrs}, &st); err != nil {
		return nil, err
	}
	if len(st) != len(addrs) && len(addrs) > 0 {
		return nil, errors.New("venus answered for other servers")
	}
	return st, nil
}

func newCfsWhereIs() *cli.Command {
	return &cli.Command{
		Name:      "whereis",
		Usage:     "list the servers holding each object",
		UsageText: "coda cfs whereis PATH...",
		Description: `Prints, for each PATH, the addresses of the servers holding a replica of its volume.

EXAMPLES:
   coda cfs whereis /coda/example.org/www/index.html`,
		Action: func(c *cli.Context) error {
			return forEachPath(c, "whereis", func(path string) (string, error) {
				var vs venus.VolumeStatus
				if err := pathCall(c.Context, path, false, OpVolume, ACLArgs{}, &vs); err != nil {
					return "", err
				}
				return fmt.Sprintf("%s %s\n", path, strings.Join(replicaAddrs(vs.Info), " ")), nil
			})
		},
	}
}

func newCfsStatus() *cli.Command {
	var mount string
	return &cli.Command{
		Name:      "status",
		Usage:     "show the realm, its servers, every volume and your token at a glance",
		UsageText: "coda cfs status [--mount DIR]",
		Description: `Prints, for the venus serving DIR: the realm; each server and whether venus reaches it (as
it last found: cfs checkservers probes anew); each volume venus knows with its state
(connected, disconnected, write-disconnected, reintegrating), the updates logged for it and
their bytes, its conflicts and objects out of date, and why reintegration waits if it does;
and the calling user's token and when it expires. Exits 1 when a server is down, a volume
holds a conflict, or you have no valid token, so monitoring scripts can test it.

EXAMPLES:
   coda cfs status
   coda cfs status --mount /coda || mail -s "coda needs a look" root`,
		Flags: []cli.Flag{&cli.StringFlag{Name: "mount", EnvVars: []string{"CODA_MOUNT"}, Destination: &mount,
			Usage: "the venus mount `DIR` to talk to (default /coda)"}},
		Action: func(c *cli.Context) error {
			var r StatusReply
			if err := callVenus(c.Context, mount, OpStatus, nil, &r); err != nil {
				return fmt.Errorf("cfs status: %w", err)
			}
			bad := writeStatus(c.App.Writer, r, time.Now())
			if bad {
				return cli.Exit("", 1)
			}
			return nil
		},
	}
}

// writeStatus prints r and reports whether something needs a look.
func writeStatus(w io.Writer, r StatusReply, now time.Time) (bad bool) {
	fmt.Fprintf(w, "Realm %s\n", r.Realm)
	for _, s := range r.Servers {
		state := "up"
		if !s.Up {
			state, bad = "DOWN", true
		}
		fmt.Fprintf(w, "  server %-24s %s\n", s.Addr, state)
	}
	switch {
	case len(r.Tokens) == 0:
		fmt.Fprintln(w, "Token: none (run coda clog)")
		bad = true
	case r.Tokens[0].Expired:
		fmt.Fprintf(w, "Token: %s's EXPIRED at %s (run coda clog)\n", r.Tokens[0].User, r.Tokens[0].Expires.Local().Format(time.DateTime))
		bad = true
	default:
		t := r.Tokens[0]
		fmt.Fprintf(w, "Token: %s's, expires %s (in %s)\n", t.User, t.Expires.Local().Format(time.DateTime), t.Expires.Sub(now).Round(time.Minute))
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VOLUME\tSTATE\tLOGGED\tBYTES\tCONFLICTS\tOUT OF DATE")
	for _, v := range r.Volumes {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\n", v.Name, v.State, v.CML.Records, v.CML.Bytes, v.Conflicts, v.OutOfDate)
		bad = bad || v.Conflicts > 0
	}
	tw.Flush()
	for _, v := range r.Volumes {
		if v.Waiting != "" {
			fmt.Fprintf(w, "%s: reintegration waits: %s\n", v.Name, v.Waiting)
		}
	}
	return bad
}

func newCfsCheckServers() *cli.Command {
	var mount string
	return &cli.Command{
		Name:      "checkservers",
		Aliases:   []string{"cs"},
		Usage:     "probe the servers now and report those that are down",
		UsageText: "coda cfs checkservers|cs [SERVER...]",
		Description: `Probes each SERVER (HOST:PORT; default: the servers venus was given) with a fresh
connection and prints "All servers up", or "These servers still down:" and one line per
down server with the reason. Exits 1 when a server is down, so scripts can test it.

EXAMPLES:
   coda cfs cs
   coda cfs checkservers 10.0.0.2:2432`,
		Flags: []cli.Flag{&cli.StringFlag{Name: "mount", EnvVars: []string{"CODA_MOUNT"}, Destination: &mount,
			Usage: "the venus mount `DIR` to talk to (default /coda)"}},
		Action: func(c *cli.Context) error {
			st, err := probe(c.Context, mount, c.Args().Slice())
			if err != nil {
				return fmt.Errorf("cfs checkservers: %w", err)
			}
			var down []string
			for _, s := range st {
				if !s.Up {
					down = append(down, "  "+s.Err) // names the server
				}
			}
			if down == nil {
				fmt.Fprintln(c.App.Writer, "All servers up")
				return nil
			}
			fmt.Fprintf(c.App.Writer, "These servers still down:\n%s\n", strings.Join(down, "\n"))
			return cli.Exit("", 1)
		},
	}
}

func newCfsDisconnect(name string) *cli.Command {
	var mount string
	op, usage, desc := OpDisconnect, "cut venus off from servers, as a partition would",
		`Cuts venus off from each SERVER (HOST:PORT; default: all of them), as a network partition
would: the connection to a cut server is dropped, with its callbacks, and the server is not
dialled again until cfs reconnect. With every server of a volume cut, venus works disconnected:
it serves what it cached (a miss fails with ETIMEDOUT) and logs every change, sent when a
server is back (see cfs lv, cfs listlocal). Root only. For tests, for operators taking a
server out of a client's view, and for working offline on purpose.`
	if name == "reconnect" {
		op, usage, desc = OpReconnect, "undo cfs disconnect",
			`Lets venus reach each SERVER (default: all of them) again after cfs disconnect; the next
operation that needs a server dials at once. Root only.`
	}
	return &cli.Command{
		Name:      name,
		Usage:     usage,
		UsageText: "coda cfs " + name + " [SERVER...]",
		Description: desc + `

EXAMPLES:
   coda cfs ` + name + `
   coda cfs ` + name + ` 10.0.0.2:2432`,
		Flags: []cli.Flag{&cli.StringFlag{Name: "mount", EnvVars: []string{"CODA_MOUNT"}, Destination: &mount,
			Usage: "the venus mount `DIR` to talk to (default /coda)"}},
		Action: func(c *cli.Context) error {
			if err := callVenus(c.Context, mount, op, CheckArgs{Servers: c.Args().Slice()}, nil); err != nil {
				return fmt.Errorf("cfs %s: %w", name, err)
			}
			return nil
		},
	}
}

func newCfsGetPath() *cli.Command {
	var mount string
	return &cli.Command{
		Name:      "getpath",
		Aliases:   []string{"gp"},
		Usage:     "print the path of objects named by FID",
		UsageText: "coda cfs getpath|gp [--mount DIR] FID...",
		Description: `Prints, for each FID (volume.vnode.unique in hex, as cfs getfid prints it, with or
without @realm), "FID PATH": the object's path inside its volume, from the server. Needs the
l right in every directory on the way.

EXAMPLES:
   coda cfs getpath 7f000001.2.2
   coda cfs gp 7f000001.1c.1c@example.org`,
		Flags: []cli.Flag{&cli.StringFlag{Name: "mount", EnvVars: []string{"CODA_MOUNT"}, Destination: &mount,
			Usage: "the venus mount `DIR` to talk to (default /coda)"}},
		Action: func(c *cli.Context) error {
			if !c.Args().Present() {
				return usageErrorf("cfs getpath: missing FID")
			}
			var fids []proto.FID
			for _, a := range c.Args().Slice() {
				s, _, _ := strings.Cut(a, "@")
				fid, err := proto.ParseFID(s)
				if err != nil {
					return usageErrorf("cfs getpath: bad FID %q: want volume.vnode.unique in hex", a)
				}
				fids = append(fids, fid)
			}
			vc, err := control.DialPath(mount)
			if err != nil {
				return fmt.Errorf("cfs getpath: %w", err)
			}
			defer vc.Close()
			ctx, cancel := context.WithTimeout(c.Context, time.Minute)
			defer cancel()
			for i, fid := range fids {
				var p string
				if err := vc.Call(ctx, OpGetPath, GetPathArgs{FID: fid}, &p); err != nil {
					return fmt.Errorf("cfs getpath %s: %w", c.Args().Get(i), err)
				}
				fmt.Fprintf(c.App.Writer, "%s %s\n", fid, p)
			}
			return nil
		},
	}
}
