package client

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/coda-fs/coda/client/venus"
)

func newCfsRepair() *cli.Command {
	var keep, with string
	var keepAll, remove bool
	return &cli.Command{
		Name:      "repair",
		Usage:     "repair a conflict: keep one version, a given file, every version, or none",
		UsageText: "coda cfs repair PATH --keep SERVER | --with FILE | --keep-all | --remove",
		Description: `PATH is a conflict: an object whose replicas were changed on both sides of a partition,
shown as a dangling symbolic link to @VOLUME.VNODE.UNIQUE@REALM (find -lname '@*' lists
them). Exactly one way to repair it:

   --keep SERVER   the version held by SERVER (an address or a server id) on every replica;
                   for a name SERVER removed, the removal
   --with FILE     the content of FILE (a file outside the conflict, or a version that
                   cfs expand shows)
   --keep-all      every version side by side as PATH.conflict-SERVERID (a single version,
                   the other side having removed the name, keeps PATH); for a directory in
                   conflict as a whole, the union of its replicas' entries, a name that
                   differs becoming NAME.conflict-SERVERID
   --remove        the object removed from every replica

Prints what was done; PATH is a normal object again, with one version on every replica.

A local/global conflict (a change logged while disconnected that the servers refused, because
the object changed there meanwhile) is repaired with --keep local (the local change goes over
the servers' state; a name both sides made: theirs moves aside to NAME.conflict-global),
--keep global (the local change and what depends on it are dropped), --keep-all (a file's
local version is saved as NAME.conflict-local, a name both sides made goes to the servers as
NAME.conflict-local) or --with FILE. See coda-repair(7).

EXAMPLES:
   coda cfs repair /coda/example.org/www/index.html --keep 10.0.0.2:2432
   coda cfs repair /coda/example.org/www/index.html --with /tmp/index.html
   coda cfs repair /coda/example.org/upload --keep-all
   find /coda/example.org -lname '@*' -exec coda cfs repair {} --keep-all \;
   coda cfs repair ~/coda/report.txt --keep local`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "keep", Destination: &keep, Usage: "keep the version of `SERVER` (local or global for a local/global conflict)"},
			&cli.StringFlag{Name: "with", Destination: &with, Usage: "replace it with the content of `FILE`"},
			&cli.BoolFlag{Name: "keep-all", Destination: &keepAll, Usage: "keep every version side by side"},
			&cli.BoolFlag{Name: "remove", Destination: &remove, Usage: "remove the object"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageErrorf("cfs repair: need exactly one PATH")
			}
			n := 0
			for _, set := range []bool{keep != "", with != "", keepAll, remove} {
				if set {
					n++
				}
			}
			if n != 1 {
				return usageErrorf("cfs repair: give exactly one of --keep SERVER, --with FILE, --keep-all, --remove")
			}
			path := c.Args().First()
			var content []byte
			if with != "" {
				var err error
				if content, err = os.ReadFile(with); err != nil {
					return fmt.Errorf("cfs repair: %w", err)
				}
			}
			a := RepairArgs{Mode: venus.RepairKeep, Server: keep}
			switch {
			case remove:
				a.Mode = venus.RepairRemove
			case keepAll:
				a.Mode = venus.RepairKeepAll
			}
			abs, dirIno, err := entryOf(path)
			if err != nil {
				return fmt.Errorf("cfs repair: %w", err)
			}
			a.Dir, a.Name = dirIno, filepath.Base(abs)
			var did string
			if err := callVenus(c.Context, filepath.Dir(abs), OpRepair, a, &did); err != nil {
				return fmt.Errorf("cfs repair %s: %w", path, err)
			}
			if with != "" {
				if err := os.WriteFile(abs, content, 0o644); err != nil {
					return fmt.Errorf("cfs repair %s: kept one version, then writing %s failed: %w", path, with, err)
				}
				did = fmt.Sprintf("replaced it with the content of %s", with)
			}
			fmt.Fprintf(c.App.Writer, "%s: %s\n", path, did)
			return nil
		},
	}
}

func newCfsExpand() *cli.Command {
	return &cli.Command{
		Name:      "expand",
		Aliases:   []string{"beginrepair"},
		Usage:     "show a conflict as a directory holding each server's version",
		UsageText: "coda cfs expand|beginrepair PATH...",
		Description: `PATH is a conflict (a dangling link to @VOLUME.VNODE.UNIQUE@REALM, or a volume's root
that cfs lv reports). From now on this client shows it as a read-only directory with one
entry per replica, named by the server's id (cfs lv and coda volutil info name the servers):
each is that server's version — a file to read or diff, or a directory to list and walk.
A local/global conflict (a logged change the servers refused) shows two entries instead:
local (this client's version) and global (the servers').
Nothing in it can be changed; repair with cfs repair (which collapses it), or undo with
cfs collapse.

EXAMPLES:
   coda cfs expand /coda/example.org/www/index.html
   diff /coda/example.org/www/index.html/1 /coda/example.org/www/index.html/2
   coda cfs repair /coda/example.org/www/index.html --with /coda/example.org/www/index.html/2
   coda cfs expand /coda/example.org/upload && ls /coda/example.org/upload/*`,
		Action: func(c *cli.Context) error {
			return forEachPath(c, "expand", func(path string) (string, error) {
				var did string
				if err := entryCall(c, path, OpExpand, "", &did); err != nil {
					return "", err
				}
				return fmt.Sprintf("%s: %s\n", path, did), nil
			})
		},
	}
}

func newCfsCollapse() *cli.Command {
	return &cli.Command{
		Name:      "collapse",
		Aliases:   []string{"endrepair"},
		Usage:     "show an expanded conflict as a conflict link again",
		UsageText: "coda cfs collapse|endrepair PATH...",
		Description: `Undoes cfs expand: PATH is shown as a conflict link again (a repair does this by itself).

EXAMPLES:
   coda cfs collapse /coda/example.org/www/index.html`,
		Action: func(c *cli.Context) error {
			return forEachPath(c, "collapse", func(path string) (string, error) {
				return "", entryCall(c, path, OpCollapse, "", nil)
			})
		},
	}
}
