package client

import (
	"errors"
	"fmt"
	"os"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/coda-fs/coda/server/proto"
)

func newCfsSetPolicy() *cli.Command {
	return &cli.Command{
		Name:      "setpolicy",
		Usage:     "set how conflicts under a directory are resolved",
		UsageText: "coda cfs setpolicy DIR manual|keep-all|newest|inherit",
		Description: `Sets DIR's conflict policy, a replicated attribute of the directory applied by the servers
to every new conflict found under DIR (in it and below, unless a directory below sets its own):

   manual     conflicts wait for cfs repair (the default)
   keep-all   every version is kept, each as NAME.conflict-SERVERID
   newest     a file stored on both sides keeps the version with the latest mtime, the
              others are saved as NAME.conflict-SERVERID beside it; names made on both
              sides for different objects are kept as with keep-all
   inherit    DIR's own policy is removed: its parent's applies

No policy ever discards a version. Needs the a right on DIR.

EXAMPLES:
   coda cfs setpolicy /coda/example.org/www/uploads keep-all
   coda cfs setpolicy /coda/example.org/www/htdocs newest`,
		Action: func(c *cli.Context) error {
			if c.NArg() != 2 {
				return usageErrorf("cfs setpolicy: need DIR POLICY")
			}
			pol, ok := policyByName(c.Args().Get(1))
			if !ok {
				return usageErrorf("cfs setpolicy: unknown policy %q (manual, keep-all, newest, inherit)", c.Args().Get(1))
			}
			dir := c.Args().Get(0)
			ino, err := dirIno(dir)
			if err == nil {
				err = callVenus(c.Context, dir, OpSetPolicy, PolicyArgs{Ino: ino, Policy: pol}, nil)
			}
			if err != nil {
				return fmt.Errorf("cfs setpolicy %s: %w", dir, err)
			}
			return nil
		},
	}
}

func policyByName(s string) (uint8, bool) {
	for p, n := range proto.PolicyNames {
		if n == s {
			return p, true
		}
	}
	return 0, false
}

func newCfsGetPolicy() *cli.Command {
	return &cli.Command{
		Name:      "getpolicy",
		Usage:     "print the conflict policy of directories",
		UsageText: "coda cfs getpolicy DIR...",
		Description: `Prints, for each DIR, "DIR: POLICY" and, when DIR sets none itself, where the policy
in force comes from ("inherited from PATH", or "the default").

EXAMPLES:
   coda cfs getpolicy /coda/example.org/www/uploads`,
		Action: func(c *cli.Context) error {
			return forEachPath(c, "getpolicy", func(dir string) (string, error) {
				var r PolicyArgs
				ino, err := dirIno(dir)
				if err == nil {
					err = callVenus(c.Context, dir, OpGetPolicy, PolicyArgs{Ino: ino}, &r)
				}
				if err != nil {
					return "", err
				}
				switch {
				case r.Policy != proto.PolicyInherit:
					return fmt.Sprintf("%s: %s\n", dir, proto.PolicyNames[r.Policy]), nil
				case r.From != "":
					return fmt.Sprintf("%s: %s (inherited from %s)\n", dir, proto.PolicyNames[r.Effective], r.From), nil
				}
				return fmt.Sprintf("%s: %s (the default)\n", dir, proto.PolicyNames[proto.PolicyManual]), nil
			})
		},
	}
}

// dirIno is the inode number of directory dir on the mount.
func dirIno(dir string) (uint64, error) {
	var st syscall.Stat_t
	if err := syscall.Stat(dir, &st); err != nil {
		return 0, &os.PathError{Op: "stat", Path: dir, Err: err}
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFDIR {
		return 0, errors.New("not a directory")
	}
	return st.Ino, nil
}
