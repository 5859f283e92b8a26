package backup

import (
	"fmt"
	"io"
	"os"

	"github.com/urfave/cli/v2"
)

// NewDump2tarCommand returns `coda dump2tar` (also called as codadump2tar).
func NewDump2tarCommand() *cli.Command {
	var in, out, root string
	return &cli.Command{
		Name:      "dump2tar",
		Category:  "backup",
		Usage:     "convert a volume dump to a tar archive",
		UsageText: "coda dump2tar [-f DUMP] [-o TAR] [-rn ROOTNAME]",
		Description: `Reads a dump made by "coda volutil dump" (full or incremental, compressed or not) from
DUMP or standard input and writes a POSIX (PAX) tar archive to TAR or standard output, every
entry under ROOTNAME (default: the name of the dumped volume). No Coda server is needed. The
archive holds directories with their modes, owners and times, files with their contents
(sparse files as sparse entries, which GNU tar and bsdtar restore with their holes), hard links
for further names of a file, symlinks, and:
   ROOTNAME/..CodaACLs.yaml   the ACL of every directory, by path
   ROOTNAME/..CodaManifest    an incremental's list of every path present when it was
                              made: what a restore of a chain keeps (coda-restore-files)
   ROOTNAME/lost+found/       objects whose directory the dump does not name
An incremental dump's archive holds only the directories and files that changed. A corrupt or
truncated dump stops the conversion with an error naming the byte where it is wrong; the
archive written so far has no end, so tar reports it incomplete, and TAR is removed.

EXAMPLES:
   coda volutil dump web.backup | coda dump2tar | gzip > web.tgz
   coda dump2tar -f web-1.dump -o web-1.tar -rn web
   codadump2tar < web.dump | tar -tvf -`,
		HideHelp: true,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "f", Destination: &in, Usage: "read the dump from `DUMP` (default: standard input)"},
			&cli.StringFlag{Name: "o", Destination: &out, Usage: "write the archive to `TAR` (default: standard output)"},
			&cli.StringFlag{Name: "rn", Destination: &root, Usage: "put every entry under `ROOTNAME`"},
			&cli.BoolFlag{Name: "help", Usage: "show help", DisableDefaultText: true},
		},
		Action: func(c *cli.Context) (err error) {
			if c.NArg() > 0 {
				return cli.Exit(fmt.Sprintf("dump2tar: unexpected argument %q (see coda dump2tar --help)", c.Args().First()), 2)
			}
			var r io.Reader = os.Stdin
			if in != "" {
				f, oerr := os.Open(in)
				if oerr != nil {
					return fmt.Errorf("dump2tar: %w", oerr)
				}
				defer f.Close()
				r = f
			}
			var w io.Writer = c.App.Writer
			if out != "" {
				f, oerr := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
				if oerr != nil {
					return fmt.Errorf("dump2tar: %w", oerr)
				}
				defer func() {
					if cerr := f.Close(); err == nil && cerr != nil {
						err = fmt.Errorf("dump2tar: %w", cerr)
					}
					if err != nil {
						os.Remove(out)
					}
				}()
				w = f
			}
			st, err := ToTar(r, w, root)
			if err != nil {
				return fmt.Errorf("dump2tar: %w", err)
			}
			what := "full"
			if !st.Header.Full() {
				what = fmt.Sprintf("level %d, changes since level %d", st.Header.Level, st.Header.BaseLevel)
			}
			fmt.Fprintf(c.App.ErrWriter, "dump2tar: %s (%s): %d directories, %d files (%d more names), %d symlinks, %d data bytes\n",
				st.Header.Volume, what, st.Dirs, st.Files, st.HardLinks, st.Symlinks, st.DataBytes)
			return nil
		},
	}
}
