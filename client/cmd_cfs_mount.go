package client

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"github.com/urfave/cli/v2"
)

// entryCall sends an operation on the object at DIR (a mount point, a
// conflict), named by its directory's inode number and its name there.
func entryCall(c *cli.Context, dir, op, vol string, result any) error {
	abs, dirIno, err := entryOf(dir)
	if err != nil {
		return err
	}
	return callVenus(c.Context, filepath.Dir(abs), op, EntryArgs{Dir: dirIno, Name: filepath.Base(abs), Volume: vol}, result)
}

// entryOf returns path made absolute and the inode number of the
// directory holding it, by which venus names an object without following
// it (a mount point, a conflict link).
func entryOf(path string) (abs string, dirIno uint64, err error) {
	if abs, err = filepath.Abs(path); err != nil {
		return "", 0, err
	}
	var st syscall.Stat_t
	if err := syscall.Stat(filepath.Dir(abs), &st); err != nil {
		return "", 0, &os.PathError{Op: "stat", Path: filepath.Dir(abs), Err: err}
	}
	return abs, st.Ino, nil
}

func newCfsMkMount() *cli.Command {
	return &cli.Command{
		Name:      "mkmount",
		Aliases:   []string{"mkm"},
		Usage:     "mount a volume at a new directory of the tree",
		UsageText: "coda cfs mkmount|mkm DIR VOLUME",
		Description: `Makes DIR (which must not exist; its directory needs the i right) a mount point for
VOLUME: from then on every client sees the root directory of VOLUME there. The volume must
exist (createvol_rep). As in Coda a mount point is a symbolic link of mode 0644 to "#VOLUME.",
so it survives in dumps and is visible to lsmount.

EXAMPLES:
   coda createvol_rep www fs1 fs2 fs3 && coda cfs mkmount /coda/example.org/www www
   coda cfs mkm /coda/example.org/users/jan u.jan`,
		Action: func(c *cli.Context) error {
			if c.NArg() != 2 {
				return usageErrorf("cfs mkmount: need DIR VOLUME")
			}
			dir, vol := c.Args().Get(0), c.Args().Get(1)
			if err := entryCall(c, dir, OpMkMount, vol, nil); err != nil {
				return fmt.Errorf("cfs mkmount %s: %w", dir, err)
			}
			return nil
		},
	}
}

func newCfsLsMount() *cli.Command {
	return &cli.Command{
		Name:      "lsmount",
		Usage:     "tell which volume is mounted at each directory",
		UsageText: "coda cfs lsmount DIR...",
		Description: `Prints "'DIR' is a mount point for volume 'VOLUME'" for each DIR; a DIR that is not a
mount point is an error (exit 1).

EXAMPLES:
   coda cfs lsmount /coda/example.org/www`,
		Action: func(c *cli.Context) error {
			return forEachPath(c, "lsmount", func(dir string) (string, error) {
				var vol string
				if err := entryCall(c, dir, OpLsMount, "", &vol); err != nil {
					return "", err
				}
				return fmt.Sprintf("'%s' is a mount point for volume '%s'\n", dir, vol), nil
			})
		},
	}
}

func newCfsRmMount() *cli.Command {
	return &cli.Command{
		Name:      "rmmount",
		Usage:     "remove mount points (the volumes stay)",
		UsageText: "coda cfs rmmount DIR...",
		Description: `Removes each mount point DIR from the tree (its directory needs the d right). The
volume itself and its files stay; purgevol_rep removes a volume. rm -r and rmdir do not
remove a mount point: they see the mounted volume's root.

EXAMPLES:
   coda cfs rmmount /coda/example.org/www`,
		Action: func(c *cli.Context) error {
			return forEachPath(c, "rmmount", func(dir string) (string, error) {
				return "", entryCall(c, dir, OpRmMount, "", nil)
			})
		},
	}
}
