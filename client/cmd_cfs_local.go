package client

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"
)

// localCall sends a log operation for the volume holding path.
func localCall(c *cli.Context, path, op string, all bool, result any) error {
	st, err := lstat(path)
	if err != nil {
		return err
	}
	return callVenus(c.Context, path, op, LocalArgs{Ino: st.Ino, All: all}, result)
}

func newCfsListLocal() *cli.Command {
	return &cli.Command{
		Name:      "listlocal",
		Usage:     "list the changes logged for reintegration in a volume",
		UsageText: "coda cfs listlocal PATH...",
		Description: `Lists, oldest first, the changes this venus made while the volume holding PATH was
disconnected and has not sent to the servers yet: sequence number, local uid, operation,
the object, and what it does. Then why reintegration waits, if it does (see checklocal).

EXAMPLES:
   coda cfs listlocal /coda/example.org/www`,
		Action: func(c *cli.Context) error {
			return forEachPath(c, "listlocal", func(path string) (string, error) {
				var r LocalReply
				if err := localCall(c, path, OpListLocal, false, &r); err != nil {
					return "", err
				}
				var b strings.Builder
				fmt.Fprintf(&b, "%d changes logged\n", len(r.Records))
				for _, rec := range r.Records {
					fmt.Fprintf(&b, "%6d uid %d %-8s %v %s\n", rec.Seq, rec.UID, rec.Op, rec.Subject, rec.What)
				}
				if r.Waiting != "" {
					fmt.Fprintf(&b, "reintegration waits: %s\n", r.Waiting)
				}
				return b.String(), nil
			})
		},
	}
}

func newCfsCheckLocal() *cli.Command {
	return &cli.Command{
		Name:      "checklocal",
		Usage:     "say why the oldest logged change of a volume has not gone to the servers",
		UsageText: "coda cfs checklocal PATH...",
		Description: `Prints the oldest change logged in the volume holding PATH and why reintegration waits
on it (no server reachable, no valid token for the user who made it, the servers refused
it), or that nothing waits.

EXAMPLES:
   coda cfs checklocal /coda/example.org/www`,
		Action: func(c *cli.Context) error {
			return forEachPath(c, "checklocal", func(path string) (string, error) {
				var r LocalReply
				if err := localCall(c, path, OpListLocal, false, &r); err != nil {
					return "", err
				}
				if len(r.Records) == 0 {
					return "no changes logged\n", nil
				}
				head := r.Records[0]
				why := r.Waiting
				if why == "" {
					why = "nothing: it goes with the next reintegration"
				}
				return fmt.Sprintf("oldest: %d uid %d %s %v %s\nwaits on: %s\n", head.Seq, head.UID, head.Op, head.Subject, head.What, why), nil
			})
		},
	}
}

func newCfsDiscardLocal() *cli.Command {
	var all bool
	return &cli.Command{
		Name:      "discardlocal",
		Usage:     "drop the oldest logged change of a volume (or all with --all)",
		UsageText: "coda cfs discardlocal [--all] PATH",
		Description: `Drops the oldest change logged in the volume holding PATH (every one with --all): it will
never reach the servers, and the objects it named are fetched again from them. Only root or
the user who made a change may drop it.

EXAMPLES:
   coda cfs checklocal /coda/example.org/www && coda cfs discardlocal /coda/example.org/www
   coda cfs discardlocal --all /coda/example.org/www`,
		Flags: []cli.Flag{&cli.BoolFlag{Name: "all", Destination: &all, Usage: "drop every logged change of the volume"}},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageErrorf("cfs discardlocal: need exactly one PATH")
			}
			path := c.Args().First()
			var n int
			if err := localCall(c, path, OpDiscard, all, &n); err != nil {
				return fmt.Errorf("cfs discardlocal %s: %w", path, err)
			}
			fmt.Fprintf(c.App.Writer, "%s: %d changes discarded\n", path, n)
			return nil
		},
	}
}

func newCfsPreserveLocal() *cli.Command {
	var all bool
	return &cli.Command{
		Name:      "preservelocal",
		Usage:     "send the oldest logged change of a volume over the servers' version",
		UsageText: "coda cfs preservelocal [--all] PATH",
		Description: `A file written while disconnected that someone changed on the servers meanwhile is a
local/global conflict: reintegration stops there (checklocal says so) rather than overwrite
the other change, and shows the object as a conflict link (cfs expand shows its local and
global versions; cfs repair --keep local|global repairs that one object). preservelocal
sends the oldest logged change (every one with --all) over what the servers hold;
discardlocal drops it instead. Only root or the user who made a change may do either.

EXAMPLES:
   coda cfs checklocal /coda/example.org/www && coda cfs preservelocal /coda/example.org/www`,
		Flags: []cli.Flag{&cli.BoolFlag{Name: "all", Destination: &all, Usage: "every logged change of the volume"}},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageErrorf("cfs preservelocal: need exactly one PATH")
			}
			path := c.Args().First()
			var n int
			if err := localCall(c, path, OpPreserve, all, &n); err != nil {
				return fmt.Errorf("cfs preservelocal %s: %w", path, err)
			}
			fmt.Fprintf(c.App.Writer, "%s: %d changes go over the servers' version\n", path, n)
			return nil
		},
	}
}

func newCfsFlushObject() *cli.Command {
	return &cli.Command{
		Name:      "flushobject",
		Aliases:   []string{"fl"},
		Usage:     "drop what venus caches of objects",
		UsageText: "coda cfs flushobject|fl PATH...",
		Description: `Drops the cached data and status of each PATH: a file is fetched again on its next open, a
directory listed again. An object that is open, or has changes the servers do not have yet,
is not flushed (an error names it).

EXAMPLES:
   coda cfs flushobject /coda/example.org/www/index.html`,
		Action: func(c *cli.Context) error {
			return forEachPath(c, "flushobject", func(path string) (string, error) {
				return "", localCall(c, path, OpFlushObj, false, nil)
			})
		},
	}
}

func newCfsFlushVolume() *cli.Command {
	var force, yes bool
	return &cli.Command{
		Name:      "flushvolume",
		Usage:     "drop what venus caches of a volume",
		UsageText: "coda cfs flushvolume [--yes] [--force] PATH",
		Description: `Drops the cached data and status of every object of the volume holding PATH, after asking
(--yes does not ask). Objects that are open or hold changes the servers do not have yet are
kept, and the command fails saying how many; --force (root only) drops those changes too:
the volume's log of changes made while disconnected is discarded.

EXAMPLES:
   coda cfs flushvolume /coda/example.org/www
   coda cfs flushvolume --yes /coda/example.org/www`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Destination: &yes, Usage: "do not ask"},
			&cli.BoolFlag{Name: "force", Destination: &force, Usage: "drop changes the servers do not have yet too"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageErrorf("cfs flushvolume: need exactly one PATH")
			}
			path := c.Args().First()
			if !yes {
				fmt.Fprintf(c.App.Writer, "Flush the cache of the volume holding %s? [y/N] ", path)
				var answer string
				fmt.Fscanln(os.Stdin, &answer)
				if answer != "y" && answer != "Y" && answer != "yes" {
					return fmt.Errorf("cfs flushvolume %s: not flushed", path)
				}
			}
			var r FlushReply
			if err := localCall(c, path, OpFlushVol, force, &r); err != nil {
				return fmt.Errorf("cfs flushvolume %s: %w", path, err)
			}
			fmt.Fprintf(c.App.Writer, "%s: %d objects flushed\n", path, r.Flushed)
			return nil
		},
	}
}

func newCfsCheckpointML() *cli.Command {
	return &cli.Command{
		Name:      "checkpointml",
		Usage:     "write a volume's logged changes and their data to a tar archive",
		UsageText: "coda cfs checkpointml PATH OUTDIR",
		Description: `Writes the changes logged for reintegration in the volume holding PATH to OUTDIR as
VOLUME.cml.tar (cml.txt, the listing, and the data of each logged store, named by the file's
FID) and VOLUME.cml.txt beside it: a safety copy of disconnected work, readable with tar.
Root only (venus writes the files).

EXAMPLES:
   coda cfs checkpointml /coda/example.org/www /var/backups && tar tvf /var/backups/www.cml.tar`,
		Action: func(c *cli.Context) error {
			if c.NArg() != 2 {
				return usageErrorf("cfs checkpointml: need PATH OUTDIR")
			}
			path, out := c.Args().Get(0), c.Args().Get(1)
			abs, err := filepath.Abs(out)
			if err != nil {
				return err
			}
			st, err := lstat(path)
			if err != nil {
				return err
			}
			var archive string
			if err := callVenus(c.Context, path, OpCheckpoint, LocalArgs{Ino: st.Ino, Dir: abs}, &archive); err != nil {
				return fmt.Errorf("cfs checkpointml %s: %w", path, err)
			}
			fmt.Fprintf(c.App.Writer, "%s\n", archive)
			return nil
		},
	}
}
