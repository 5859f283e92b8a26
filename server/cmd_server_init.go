package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/coda-fs/coda/auth/password"
	"github.com/coda-fs/coda/server/pki"
)

// initCmdOptions are the flags of `coda server init`.
type initCmdOptions struct {
	Data       string
	Realm      string
	ID         uint
	Listen     string
	RootVolume string
	Join       string
	Secret     string
	LogLevel   string
	// AdminPasswordFile holds the admin user's password (first line).
	AdminPasswordFile string
}

func newServerInitCommand() *cli.Command {
	var o initCmdOptions
	return &cli.Command{
		Name:  "init",
		Usage: "create a server's data directory (the first server of a realm is its SCM)",
		UsageText: "coda server init --data DIR --realm REALM --id N --listen HOST:PORT [--root-volume NAME]\n" +
			"   coda server init --data DIR --realm REALM --id N --listen HOST:PORT --join SCM_HOST:PORT --secret FILE",
		Description: `Creates the data directory of a new server: its database, the realm CA (on the
first server, the SCM), the server's TLS certificate for the listen address, and the realm
admin key db/volutil.key (mode 0600) that volutil and createvol_rep prove. The directory must
not exist or be empty. No volume is created: run createvol_rep for the root volume next.

The first server is the SCM: it holds the realm CA, the writable user, group and password
databases and the list of the realm's servers, and creates the user admin (in
System:Administrators) with the password from --admin-password-file, the terminal or stdin.

A further server joins with --join SCM_HOST:PORT --secret FILE, FILE being a copy of the
SCM's db/realm.secret (mode 0600) that the operator made. The SCM checks the secret, signs the
new server's certificate (its private key never leaves it) and hands it the admin key; the new
server keeps read-only copies of the SCM's databases, updated every second, and serves logins
from them while the SCM is down. Server ids are unique in the realm; re-initialising a lost
server with its old id and address is allowed.

EXAMPLES:
   coda server init --data /vice --realm example.org --id 1 --listen 10.0.0.1:2432
   coda server init --data /vice --realm example.org --id 2 --listen 10.0.0.2:2432 \
       --join 10.0.0.1:2432 --secret /root/realm.secret
   coda server init --data /tmp/cell/server --realm demo.local --id 1 --listen 127.0.0.1:24320`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "data", Value: "/vice", Destination: &o.Data,
				Usage: "data `DIR` to create (must not exist or be empty)"},
			&cli.StringFlag{Name: "realm", Destination: &o.Realm,
				Usage: "the realm's name `REALM`, e.g. example.org"},
			&cli.UintFlag{Name: "id", Value: 1, Destination: &o.ID,
				Usage: "this server's id `N` in the realm, 1-255"},
			&cli.StringFlag{Name: "listen", Destination: &o.Listen,
				Usage: "`HOST:PORT` the server listens on; the host goes into its certificate"},
			&cli.StringFlag{Name: "root-volume", Value: "coda.root", Destination: &o.RootVolume,
				Usage: "`NAME` of the realm's root volume"},
			&cli.StringFlag{Name: "join", Destination: &o.Join,
				Usage: "join the realm whose SCM is at `HOST:PORT` (needs --secret)"},
			&cli.StringFlag{Name: "secret", Destination: &o.Secret,
				Usage: "copy of the SCM's db/realm.secret `FILE` (mode 0600), with --join"},
			&cli.StringFlag{Name: "admin-password-file", Destination: &o.AdminPasswordFile,
				Usage: "password of the realm's admin user, first line of `FILE` (else asked on the terminal, else read from stdin)"},
			logLevelFlag(&o.LogLevel),
		},
		Action: func(c *cli.Context) error {
			if err := noArgs(c); err != nil {
				return err
			}
			return runServerInit(c.Context, o, os.Stdin, c.App.Writer, c.App.ErrWriter)
		},
	}
}

// initOptions checks the flags of `coda server init` and turns them into
// InitOptions (Logger not set).
func (o initCmdOptions) initOptions() (InitOptions, error) {
	switch {
	case (o.Join == "") != (o.Secret == ""):
		return InitOptions{}, usageErrorf("server init: --join and --secret go together")
	case o.Join != "" && o.AdminPasswordFile != "":
		return InitOptions{}, usageErrorf("server init: --admin-password-file is for the SCM; a joining server copies the SCM's users")
	case o.Realm == "":
		return InitOptions{}, usageErrorf("server init: --realm is required")
	case o.Listen == "":
		return InitOptions{}, usageErrorf("server init: --listen HOST:PORT is required")
	case o.ID < 1 || o.ID > 255:
		return InitOptions{}, usageErrorf("server init: --id must be 1-255, not %d", o.ID)
	case o.Data == "":
		return InitOptions{}, usageErrorf("server init: --data is required")
	}
	return InitOptions{
		DataDir:    o.Data,
		Realm:      o.Realm,
		ID:         uint32(o.ID),
		Listen:     o.Listen,
		RootVolume: o.RootVolume,
		Join:       o.Join,
	}, nil
}

func runServerInit(ctx context.Context, o initCmdOptions, stdin io.Reader, stdout, stderr io.Writer) error {
	opts, err := o.initOptions()
	if err != nil {
		return err
	}
	if opts.Join != "" {
		if opts.RealmSecret, err = pki.ReadSecretFile(o.Secret); err != nil {
			return fmt.Errorf("realm secret: %w", err)
		}
		defer clear(opts.RealmSecret)
	} else {
		if opts.AdminPassword, err = adminPassword(o.AdminPasswordFile, stdin); err != nil {
			return err
		}
		defer clear(opts.AdminPassword)
	}
	if opts.Logger, err = newLogger(stderr, o.LogLevel); err != nil {
		return err
	}
	if err := Init(ctx, opts); err != nil {
		return err
	}
	if opts.Join != "" {
		_, err = fmt.Fprintf(stdout, "server %d joined realm %s (SCM %s); data in %s\nstart it with: coda server --data %s\n",
			opts.ID, opts.Realm, opts.Join, opts.DataDir, opts.DataDir)
		return err
	}
	_, err = fmt.Fprintf(stdout, "initialised server %d of realm %s in %s\nstart it with: coda server --data %s\nthen create the root volume: coda createvol_rep %s %s\n",
		opts.ID, opts.Realm, opts.DataDir, opts.DataDir, opts.RootVolume, opts.Listen)
	return err
}

// adminPassword reads the admin user's password: the first line of file,
// else twice from the terminal, else one line of stdin.
func adminPassword(file string, stdin io.Reader) ([]byte, error) {
	if file != "" {
		data, err := pki.ReadSecretFile(file)
		if err != nil {
			return nil, fmt.Errorf("admin password: %w", err)
		}
		line, _, _ := bytes.Cut(data, []byte("\n"))
		pw := bytes.Clone(bytes.TrimRight(line, "\r"))
		clear(data)
		if len(pw) == 0 {
			return nil, fmt.Errorf("admin password: %s starts with an empty line", file)
		}
		return pw, nil
	}
	r := password.NewReader(stdin, false)
	var pw []byte
	var err error
	if r.Piped() {
		pw, err = r.Read("")
	} else {
		pw, err = r.ReadNew("the realm's admin user")
	}
	if errors.Is(err, password.ErrNoPassword) || (err == nil && len(pw) == 0) {
		return nil, errors.New("server init: no admin password: give --admin-password-file FILE, type it on a terminal, or pipe it on stdin")
	}
	if err != nil {
		return nil, fmt.Errorf("server init: admin password: %w", err)
	}
	return pw, nil
}
