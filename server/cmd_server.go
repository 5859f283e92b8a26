package server

import (
	"context"
	"io"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/coda-fs/coda/server/logging"
)

// serverCmdOptions are the flags of `coda server`.
type serverCmdOptions struct {
	Data      string
	Listen    string
	ReadyFile string
	Log       logging.Options
	Lifetime  time.Duration
}

// NewServerCommand returns `coda server` (run a file server in the
// foreground) with its `init` subcommand.
func NewServerCommand() *cli.Command {
	var o serverCmdOptions
	return &cli.Command{
		Name:      "server",
		Category:  "server",
		Usage:     "run a Coda file server in the foreground",
		UsageText: "coda server [--data DIR] [--listen HOST:PORT] [--ready-file FILE] [--log-file FILE] [--log-format text|json] [--log-level LEVEL]\ncoda server init --data DIR --realm REALM --id N --listen HOST:PORT [--root-volume NAME]",
		Description: `Serves the volumes kept in the data directory made by "coda server init" until it
receives SIGTERM or SIGINT, then stops cleanly. Clients (venus) and admin tools (volutil,
createvol_rep) connect over TLS 1.3; the server presents the certificate issued to it at init
by the realm CA. Logs go to stderr, or with --log-file to a file that SIGHUP and
"volutil swaplog" reopen (for logrotate).

The first server initialised in a realm is its SCM. It creates no volume: make the realm's
root volume with createvol_rep once the server runs.

EXAMPLES:
   coda server init --data /vice --realm example.org --id 1 --listen 10.0.0.1:2432
   coda server --data /vice
   coda createvol_rep coda.root 10.0.0.1:2432
   coda server --data /srv/coda --listen 127.0.0.1:2432 --ready-file /run/coda-server.ready
   coda server --data /vice --log-file /var/log/coda/server.log --log-format json`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "data", Value: "/vice", Destination: &o.Data,
				Usage: "data `DIR` made by 'coda server init'"},
			&cli.StringFlag{Name: "listen", Destination: &o.Listen,
				Usage: "listen on `HOST:PORT` instead of the address given at init"},
			&cli.StringFlag{Name: "ready-file", Destination: &o.ReadyFile,
				Usage: "once accepting connections, write the listen address to `FILE` (atomically)"},
			&cli.DurationFlag{Name: "token-lifetime", Value: 25 * time.Hour, Destination: &o.Lifetime,
				Usage: "lifetime `DURATION` of the tokens this server issues"},
			logLevelFlag(&o.Log.Level),
			logFileFlag(&o.Log.File),
			logFormatFlag(&o.Log.Format),
		},
		Subcommands: []*cli.Command{newServerInitCommand()},
		Action: func(c *cli.Context) error {
			if err := noArgs(c); err != nil {
				return err
			}
			return runServer(c.Context, o, c.App.ErrWriter)
		},
	}
}

// runServer runs the server until ctx is cancelled.
func runServer(ctx context.Context, o serverCmdOptions, stderr io.Writer) error {
	logger, logFile, err := openLog(stderr, o.Log)
	if err != nil {
		return err
	}
	if logFile != nil {
		defer logFile.Close()
		defer logFile.ReopenOnHangup(logger)()
	}
	if err := removeReadyFile(o.ReadyFile); err != nil {
		return err
	}
	opts := Options{DataDir: o.Data, Listen: o.Listen, TokenLifetime: o.Lifetime, Logger: logger, Stderr: stderr}
	if logFile != nil {
		opts.ReopenLog = logFile.Reopen
	}
	if o.ReadyFile != "" {
		opts.Ready = func(addr string) {
			if err := writeReadyFile(o.ReadyFile, addr+"\n"); err != nil {
				logger.Error("cannot signal readiness", "err", err)
			}
		}
		defer func() { _ = removeReadyFile(o.ReadyFile) }()
	}
	return Run(ctx, opts)
}
