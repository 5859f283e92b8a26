package auth

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/user"

	"github.com/urfave/cli/v2"

	"github.com/coda-fs/coda/auth/password"
	"github.com/coda-fs/coda/server/proto"
)

type cpasswdOptions struct {
	Host  string
	Mount string
	User  string // USER[@REALM]
	Pipe  bool
}

// NewCpasswdCommand returns `coda cpasswd`.
func NewCpasswdCommand() *cli.Command {
	var o cpasswdOptions
	return &cli.Command{
		Name:      "cpasswd",
		Category:  "auth",
		Usage:     "change your Coda password",
		UsageText: "coda cpasswd [-h SCM] [USER][@REALM]",
		Description: `Changes USER's password (default: your login name) on the SCM, proven by the old
password. Asks for the old password and the new one twice on the terminal, or reads three
lines (old, new, new) from stdin when it is not a terminal. The SCM is -h, else $CODA_SCM,
else the first server venus knows.

EXAMPLES:
   coda cpasswd
   printf 'old\nnew\nnew\n' | coda cpasswd jan@example.org`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "h", EnvVars: []string{"CODA_SCM"}, Destination: &o.Host, Usage: "the SCM, `HOST:PORT`"},
			&cli.BoolFlag{Name: "pipe", Destination: &o.Pipe, Usage: "read the passwords from stdin even on a terminal"},
			&cli.StringFlag{Name: "mount", EnvVars: []string{"CODA_MOUNT"}, Destination: &o.Mount,
				Usage: "the venus mount `DIR` to talk to (default /coda)"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 1 {
				return usageErrorf("cpasswd: too many arguments")
			}
			o.User = c.Args().First()
			return runCpasswd(c.Context, o, os.Stdin)
		},
	}
}

func runCpasswd(ctx context.Context, o cpasswdOptions, stdin io.Reader) error {
	name, realm := splitUserRealm(o.User)
	if name == "" {
		u, err := user.Current()
		if err != nil {
			return fmt.Errorf("cpasswd: who are you? %v (name the user)", err)
		}
		name = u.Username
	}
	vc, info, err := openVenus(ctx, o.Mount, realm)
	if err != nil {
		return fmt.Errorf("cpasswd: %w", err)
	}
	defer vc.Close()
	pr := password.NewReader(stdin, o.Pipe)
	old, err := pr.Read(fmt.Sprintf("Old password for %s@%s: ", name, info.Realm))
	if err != nil {
		return fmt.Errorf("cpasswd: %w", err)
	}
	defer clear(old)
	pw, err := pr.ReadNew(name + "@" + info.Realm)
	if err != nil {
		return fmt.Errorf("cpasswd: %w", err)
	}
	defer clear(pw)
	scm := o.Host
	if scm == "" && len(info.Servers) > 0 {
		scm = info.Servers[0]
	}
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	conn, _, err := dialServer(ctx, info, scm)
	if err != nil {
		return fmt.Errorf("cpasswd: %w", errSCM(scm, err))
	}
	defer conn.Close()
	err = conn.Call(ctx, proto.OpChangePassword, &proto.ChangePassword{User: name, Old: old, New: pw}, &proto.Empty{}, nil)
	if err != nil {
		return fmt.Errorf("cpasswd: %w", err)
	}
	fmt.Fprintf(os.Stderr, "Password for %s@%s changed.\n", name, info.Realm)
	return nil
}
