package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/coda-fs/coda/auth/acl"
	"github.com/coda-fs/coda/client/control"
	"github.com/coda-fs/coda/server/proto"
)

// NewCfsCommand returns `coda cfs`, the control of venus. This slice has
// the ACL commands; the others come with their issues.
func NewCfsCommand() *cli.Command {
	return &cli.Command{
		Name:      "cfs",
		Category:  "client",
		Usage:     "control venus: ACLs, objects, volumes and servers",
		UsageText: "coda cfs COMMAND [arguments]",
		Description: `Talks to the venus serving the path given (through its control socket); requests act
with your tokens.

EXAMPLES:
   coda cfs la /coda/example.org/www
   coda cfs sa /coda/example.org/www www-data rlidw
   coda cfs sa -negative /coda/example.org/www guest w
   coda cfs getfid /coda/example.org/www/index.html
   coda cfs lv /coda/example.org/www
   coda cfs mkmount /coda/example.org/www www
   coda cfs cs`,
		Subcommands: []*cli.Command{newCfsListACL(), newCfsSetACL(), newCfsGetFID(), newCfsGetPath(), newCfsListVol(),
			newCfsWhereIs(), newCfsStatus(), newCfsCheckServers(), newCfsDisconnect("disconnect"), newCfsDisconnect("reconnect"),
			newCfsMkMount(), newCfsLsMount(), newCfsRmMount(), newCfsRepair(), newCfsExpand(), newCfsCollapse(), newCfsListLocal(), newCfsCheckLocal(), newCfsDiscardLocal(), newCfsPreserveLocal(), newCfsWD(), newCfsStrong(), newCfsAdaptive(), newCfsForceReintegrate(), newCfsFlushObject(), newCfsFlushVolume(), newCfsCheckpointML(), newCfsSetPolicy(), newCfsGetPolicy(), newCfsSetQuota(), newCfsSetVol()},
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return usageErrorf("cfs: unknown or not yet available command %q (see coda cfs --help)", c.Args().First())
			}
			return usageErrorf("cfs: missing COMMAND (see coda cfs --help)")
		},
	}
}

func newCfsListACL() *cli.Command {
	return &cli.Command{
		Name:      "listacl",
		Aliases:   []string{"la"},
		Usage:     "print the ACL of directories",
		UsageText: "coda cfs listacl|la DIR...",
		Description: `Prints each directory's ACL: one "NAME RIGHTS" line per positive entry, then, if
there are any, "Negative rights:" and the negative entries. Needs the l right.

EXAMPLES:
   coda cfs la /coda/example.org
   coda cfs listacl /coda/example.org/www /coda/example.org/mail`,
		Action: func(c *cli.Context) error {
			if !c.Args().Present() {
				return usageErrorf("cfs listacl: missing DIR")
			}
			return runListACL(c.Context, c.Args().Slice(), c.App.Writer)
		},
	}
}

func runListACL(ctx context.Context, dirs []string, stdout io.Writer) error {
	var failed []string
	for _, dir := range dirs {
		var entries []proto.ACLEntry
		if err := aclCall(ctx, dir, OpListACL, ACLArgs{}, &entries); err != nil {
			failed = append(failed, fmt.Sprintf("%s: %v", dir, err))
			continue
		}
		if len(dirs) > 1 {
			fmt.Fprintf(stdout, "%s:\n", dir)
		}
		io.WriteString(stdout, formatACL(entries))
	}
	if failed != nil {
		return fmt.Errorf("cfs listacl: %s", strings.Join(failed, "; "))
	}
	return nil
}

// formatACL prints entries as cfs la does.
func formatACL(entries []proto.ACLEntry) string {
	var b strings.Builder
	neg := false
	for _, e := range entries {
		if e.Negative && !neg {
			neg = true
			b.WriteString(acl.NegativeHeader + "\n")
		}
		fmt.Fprintf(&b, "  %-24s %s\n", e.Name, acl.Rights(e.Rights))
	}
	return b.String()
}

func newCfsSetACL() *cli.Command {
	return &cli.Command{
		Name:      "setacl",
		Aliases:   []string{"sa"},
		Usage:     "change the ACL of a directory",
		UsageText: "coda cfs setacl|sa [-clear] [-negative] DIR NAME RIGHTS [NAME RIGHTS...]",
		Description: `Sets NAME's rights in DIR's ACL. RIGHTS is a set of the letters rlidwka (r read,
l lookup, i insert, d delete, w write, k lock, a administer), or all, read (rl), write
(rlidwk) or none (removes the entry). -negative edits the negative list instead (rights
denied whatever else grants them); RIGHTS written as -LETTERS is a negative entry too.
-clear removes every other entry first. Needs the a right, ownership of DIR, or
System:Administrators.

EXAMPLES:
   coda cfs sa /coda/example.org/www www-data rlidw
   coda cfs sa -clear /coda/example.org/private jan all
   coda cfs sa /coda/example.org/www guest -w
   coda cfs sa -negative /coda/example.org/www guest none`,
		SkipFlagParsing: true, // negative rights (-w) look like flags
		Action: func(c *cli.Context) error {
			args := c.Args().Slice()
			if slices.Contains(args, "--help") {
				return cli.ShowSubcommandHelp(c)
			}
			var clear, negative bool
			for len(args) > 0 && (args[0] == "-clear" || args[0] == "--clear" || args[0] == "-negative" || args[0] == "--negative") {
				if strings.TrimLeft(args[0], "-") == "clear" {
					clear = true
				} else {
					negative = true
				}
				args = args[1:]
			}
			if len(args) < 3 || len(args)%2 != 1 {
				return usageErrorf("cfs setacl: want DIR NAME RIGHTS [NAME RIGHTS...]")
			}
			entries, err := parseACLEdits(args[1:], negative)
			if err != nil {
				return usageErrorf("cfs setacl: %v", err)
			}
			if err := aclCall(c.Context, args[0], OpSetACL, ACLArgs{Clear: clear, Entries: entries}, nil); err != nil {
				return fmt.Errorf("cfs setacl %s: %w", args[0], err)
			}
			return nil
		},
	}
}

// parseACLEdits turns NAME RIGHTS pairs into entries.
func parseACLEdits(pairs []string, negative bool) ([]proto.ACLEntry, error) {
	var out []proto.ACLEntry
	for i := 0; i < len(pairs); i += 2 {
		name, text := pairs[i], pairs[i+1]
		neg := negative
		if rest, ok := strings.CutPrefix(text, "-"); ok {
			neg, text = true, rest
		}
		r, err := acl.ParseRights(text)
		if err != nil {
			return nil, err
		}
		out = append(out, proto.ACLEntry{Name: name, Rights: uint8(r), Negative: neg})
	}
	return out, nil
}

// aclCall sends an ACL operation about dir to the venus serving it.
func aclCall(ctx context.Context, dir, op string, args ACLArgs, result any) error {
	return pathCall(ctx, dir, true, op, args, result)
}

// pathCall sends an operation about the object at path (by its inode
// number on the mount) to the venus serving it; dirOnly refuses anything
// but a directory.
func pathCall(ctx context.Context, path string, dirOnly bool, op string, args ACLArgs, result any) error {
	st, err := lstat(path)
	if err != nil {
		return err
	}
	if dirOnly && st.Mode&syscall.S_IFMT != syscall.S_IFDIR {
		return errors.New("not a directory (ACLs belong to directories)")
	}
	args.Ino = st.Ino
	return callVenus(ctx, path, op, args, result)
}

// lstat is syscall.Lstat with the path in its error: venus names objects
// by the inode numbers it gives.
func lstat(path string) (syscall.Stat_t, error) {
	var st syscall.Stat_t
	if err := syscall.Lstat(path, &st); err != nil {
		return st, &os.PathError{Op: "stat", Path: path, Err: err}
	}
	return st, nil
}

// callVenus sends one control operation to the venus serving path ("":
// $CODA_MOUNT, else /coda), waiting a minute at most for the answer.
func callVenus(ctx context.Context, path, op string, args, result any) error {
	return callVenusWithin(ctx, time.Minute, path, op, args, result)
}

// callVenusWithin is callVenus waiting up to d (a hoard walk of a large
// tree takes long).
func callVenusWithin(ctx context.Context, d time.Duration, path, op string, args, result any) error {
	vc, err := control.DialPath(path)
	if err != nil {
		return err
	}
	defer vc.Close()
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	if result == nil {
		result = &struct{}{}
	}
	return vc.Call(ctx, op, args, result)
}
