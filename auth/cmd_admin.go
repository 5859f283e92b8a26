package auth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/coda-fs/coda/auth/password"
	"github.com/coda-fs/coda/client"
	"github.com/coda-fs/coda/client/control"
	"github.com/coda-fs/coda/server/adminclient"
)

// adminOptions say how au and pdbtool reach the SCM as an administrator.
type adminOptions struct {
	Host    string // -h; empty: $CODA_SCM, else venus's first server, else localhost
	KeyFile string // --key; used when readable
	CAFile  string // --ca
	Mount   string // the venus whose admin token to use
}

const defaultKeyFile = "/vice/db/volutil.key"

func (o *adminOptions) setDefaults() {
	if o.KeyFile == "" {
		o.KeyFile = os.Getenv("CODA_VOLUTIL_KEY")
	}
	if o.KeyFile == "" {
		o.KeyFile = defaultKeyFile
	}
	if o.Host == "" {
		o.Host = os.Getenv("CODA_SCM")
	}
	if o.Mount == "" {
		o.Mount = os.Getenv("CODA_MOUNT")
	}
}

// dialAdmin connects to the SCM with the admin key when its file can be
// read, else with the caller's token from venus.
func dialAdmin(ctx context.Context, o adminOptions) (*adminclient.Client, error) {
	o.setDefaults()
	if f, err := os.Open(o.KeyFile); err == nil {
		f.Close()
		host := o.Host
		if host == "" {
			host = "localhost"
		}
		return adminclient.Dial(ctx, adminclient.Addr(host), o.KeyFile, o.CAFile)
	}
	vc, err := control.DialPath(o.Mount)
	if err != nil {
		return nil, fmt.Errorf("no admin key at %s and no venus to take your token from: %w", o.KeyFile, err)
	}
	defer vc.Close()
	info, err := realmInfo(ctx, vc)
	if err != nil {
		return nil, err
	}
	var tok struct {
		Token []byte
	}
	if err := vc.Call(ctx, client.OpGetToken, nil, &tok); err != nil {
		return nil, fmt.Errorf("no admin key at %s, and %w", o.KeyFile, err)
	}
	defer clear(tok.Token)
	host := o.Host
	if host == "" && len(info.Servers) > 0 {
		host = info.Servers[0]
	}
	if host == "" {
		host = "localhost"
	}
	return adminclient.DialToken(ctx, adminclient.Addr(host), []byte(info.CAPEM), tok.Token)
}

// parseAdminArgs takes the leading -h HOST, --key FILE, --ca FILE and
// --mount DIR options off args (pdbtool and au keep their own argument
// parsing because ids such as -204 look like flags).
func parseAdminArgs(args []string) (adminOptions, []string, bool, error) {
	var o adminOptions
	for len(args) > 0 {
		a := args[0]
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || a == "-" || isNumber(a) {
			break
		}
		if a == "--" {
			return o, args[1:], false, nil
		}
		if name == "help" {
			return o, nil, true, nil
		}
		var dst *string
		switch name {
		case "h", "host":
			dst = &o.Host
		case "key":
			dst = &o.KeyFile
		case "ca":
			dst = &o.CAFile
		case "mount":
			dst = &o.Mount
		default:
			return o, nil, false, usageErrorf("unknown option %s", a)
		}
		if !hasVal {
			if len(args) < 2 {
				return o, nil, false, usageErrorf("option %s needs a value", a)
			}
			val, args = args[1], args[1:]
		}
		*dst = val
		args = args[1:]
	}
	return o, args, false, nil
}

// adminAction wraps run with the option parsing and --help of the admin
// tools that parse their own arguments.
func adminAction(run func(c *cli.Context, o adminOptions, args []string) error) cli.ActionFunc {
	return func(c *cli.Context) error {
		o, args, help, err := parseAdminArgs(c.Args().Slice())
		if err != nil {
			return err
		}
		if help || slices.Contains(args, "--help") {
			return cli.ShowSubcommandHelp(c)
		}
		return run(c, o, args)
	}
}

func isNumber(s string) bool {
	s = strings.TrimPrefix(s, "-")
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// pdbCommands lists pdbtool's commands and their argument counts.
var pdbCommands = map[string][2]int{ // name → {min, max} arguments
	"nu": {1, 1}, "nui": {2, 2}, "ng": {2, 2}, "ag": {2, 2}, "rg": {2, 2},
	"d": {1, 1}, "i": {1, 1}, "n": {1, 1}, "list": {0, 0}, "export": {0, 1}, "import": {1, 1},
}

// NewPdbtoolCommand returns `coda pdbtool`.
func NewPdbtoolCommand() *cli.Command {
	return &cli.Command{
		Name:      "pdbtool",
		Category:  "auth",
		Usage:     "manage the realm's users and groups (on the SCM)",
		UsageText: "coda pdbtool [-h SCM] [--key FILE] COMMAND [arguments]",
		Description: `Edits the protection database on the SCM as an administrator: with the realm's
admin key when --key (default /vice/db/volutil.key, or $CODA_VOLUTIL_KEY) is readable,
else with your own token (coda clog admin first). Ids: users positive, groups negative.

COMMANDS:
   nu NAME              new user (next free id)
   nui NAME ID          new user with id ID
   ng GROUP OWNER       new group OWNER:NAME (or System:NAME) owned by user OWNER
   ag GROUP MEMBER      add a user or group (name or id) to GROUP; groups nest
   rg GROUP MEMBER      remove MEMBER from GROUP
   d NAME|ID            delete a user (and its password) or a group
   i NAME|ID            show id, groups (direct and transitive), members, owned groups
   list                 list every user and group
   export [FILE]        write the database as text (stdout without FILE)
   import FILE          replace the database with FILE's text (an export)

EXAMPLES:
   coda pdbtool nui jan 768
   coda pdbtool ng jan:friends jan
   coda pdbtool ag jan:friends -204
   coda pdbtool i jan
   coda pdbtool -h 10.0.0.1 export /root/pdb.txt`,
		SkipFlagParsing: true,
		Action: adminAction(func(c *cli.Context, o adminOptions, args []string) error {
			return runPdbtool(c.Context, o, args, c.App.Writer)
		}),
	}
}

func runPdbtool(ctx context.Context, o adminOptions, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return usageErrorf("pdbtool: missing COMMAND (see coda pdbtool --help)")
	}
	n, ok := pdbCommands[args[0]]
	if !ok {
		return usageErrorf("pdbtool: unknown command %q (see coda pdbtool --help)", args[0])
	}
	if got := len(args) - 1; got < n[0] || got > n[1] {
		return usageErrorf("pdbtool %s: wrong number of arguments (see coda pdbtool --help)", args[0])
	}
	req := slices.Clone(args)
	var outFile string
	switch args[0] {
	case "import":
		data, err := os.ReadFile(args[1])
		if err != nil {
			return fmt.Errorf("pdbtool import: %w", err)
		}
		req[1] = string(data)
	case "export":
		if len(args) == 2 {
			outFile, req = args[1], req[:1]
		}
	}
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	ac, err := dialAdmin(ctx, o)
	if err != nil {
		return fmt.Errorf("pdbtool: %w", err)
	}
	defer ac.Close()
	out, err := ac.PDB(ctx, req)
	if err != nil {
		return fmt.Errorf("pdbtool %s: %w", args[0], err)
	}
	if outFile != "" {
		if err := os.WriteFile(outFile, []byte(out), 0o644); err != nil {
			return fmt.Errorf("pdbtool export: %w", err)
		}
		return nil
	}
	_, err = io.WriteString(stdout, out)
	return err
}

// NewAuCommand returns `coda au`.
func NewAuCommand() *cli.Command {
	return &cli.Command{
		Name:      "au",
		Category:  "auth",
		Usage:     "set, change or delete a user's password (administrators)",
		UsageText: "coda au [-h SCM] [--key FILE] nu|cp|du USER",
		Description: `As an administrator (the realm's admin key, or your admin token): nu sets the password
of a user that exists in the protection database (pdbtool nu first), cp changes it, du
deletes it (the user can no longer log in). The new password is asked twice on the
terminal, or read from the first two lines of stdin when it is not a terminal.

EXAMPLES:
   coda pdbtool nu jan && coda au nu jan
   printf 'secret\nsecret\n' | coda au cp www-data
   coda au -h 10.0.0.1 du jan`,
		SkipFlagParsing: true,
		Action: adminAction(func(c *cli.Context, o adminOptions, args []string) error {
			return runAu(c.Context, o, args, os.Stdin)
		}),
	}
}

func runAu(ctx context.Context, o adminOptions, args []string, stdin io.Reader) error {
	if len(args) != 2 {
		return usageErrorf("au: want nu|cp|du USER (see coda au --help)")
	}
	cmd, user := args[0], args[1]
	var pw []byte
	switch cmd {
	case "nu", "cp":
		var err error
		if pw, err = password.NewReader(stdin, false).ReadNew(user); err != nil {
			return fmt.Errorf("au: %w", err)
		}
		defer clear(pw)
	case "du":
	default:
		return usageErrorf("au: unknown command %q: want nu, cp or du", cmd)
	}
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	ac, err := dialAdmin(ctx, o)
	if err != nil {
		return fmt.Errorf("au: %w", err)
	}
	defer ac.Close()
	if err := ac.SetPassword(ctx, user, pw); err != nil {
		return fmt.Errorf("au %s %s: %w", cmd, user, err)
	}
	return nil
}

// errSCM words a failure to reach the SCM.
func errSCM(addr string, err error) error {
	return errors.New("the SCM " + addr + " is unreachable: " + err.Error())
}
