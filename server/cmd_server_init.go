package server

import (
	"context"
	"fmt"
	"io"

	"github.com/urfave/cli/v2"
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
}

func newServerInitCommand() *cli.Command {
	var o initCmdOptions
	return &cli.Command{
		Name:      "init",
		Usage:     "create a server's data directory (the first server of a realm is its SCM)",
		UsageText: "coda server init --data DIR --realm REALM --id N --listen HOST:PORT [--root-volume NAME]",
		Description: `Creates the data directory of a new server: its database, the realm CA (on the
first server, the SCM), the server's TLS certificate for the listen address, and the realm
admin key db/volutil.key (mode 0600) that volutil and createvol_rep prove. The directory must
not exist or be empty. No volume is created: run createvol_rep for the root volume next.

EXAMPLES:
   coda server init --data /vice --realm example.org --id 1 --listen 10.0.0.1:2432
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
				Usage: "join the realm whose SCM is at `HOST:PORT` (not available yet)"},
			&cli.StringFlag{Name: "secret", Destination: &o.Secret,
				Usage: "copy of the SCM's db/realm.secret `FILE`, with --join (not available yet)"},
			logLevelFlag(&o.LogLevel),
		},
		Action: func(c *cli.Context) error {
			if err := noArgs(c); err != nil {
				return err
			}
			return runServerInit(c.Context, o, c.App.Writer, c.App.ErrWriter)
		},
	}
}

// initOptions checks the flags of `coda server init` and turns them into
// InitOptions (Logger not set).
func (o initCmdOptions) initOptions() (InitOptions, error) {
	switch {
	case o.Join != "" || o.Secret != "":
		return InitOptions{}, fmt.Errorf("joining an existing realm (--join, --secret) is not available yet")
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
	}, nil
}

func runServerInit(ctx context.Context, o initCmdOptions, stdout, stderr io.Writer) error {
	opts, err := o.initOptions()
	if err != nil {
		return err
	}
	if opts.Logger, err = newLogger(stderr, o.LogLevel); err != nil {
		return err
	}
	if err := Init(ctx, opts); err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "initialised server %d of realm %s in %s\nstart it with: coda server --data %s\nthen create the root volume: coda createvol_rep %s %s\n",
		opts.ID, opts.Realm, opts.DataDir, opts.DataDir, opts.RootVolume, opts.Listen)
	return err
}
