package server

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/coda-fs/coda/server/conffile"
	"github.com/coda-fs/coda/server/logging"
	"github.com/coda-fs/coda/server/readyfile"
)

// serverCmdOptions are the flags of `coda server`.
type serverCmdOptions struct {
	Config    string
	Data      string
	Listen    string
	ReadyFile string
	Log       logging.Options
	Lifetime  time.Duration
	Metrics   string
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
			&cli.StringFlag{Name: "config", EnvVars: []string{"CODA_SERVER_CONFIG"}, Destination: &o.Config,
				Usage: "configuration `FILE` (default " + DefaultServerConfig + "; see server.conf(5))"},
			&cli.StringFlag{Name: "data", Value: "/vice", EnvVars: []string{"CODA_SERVER_DATA"}, Destination: &o.Data,
				Usage: "data `DIR` made by 'coda server init'"},
			&cli.StringFlag{Name: "listen", EnvVars: []string{"CODA_SERVER_LISTEN"}, Destination: &o.Listen,
				Usage: "listen on `HOST:PORT` instead of the address given at init"},
			&cli.StringFlag{Name: "ready-file", Destination: &o.ReadyFile,
				Usage: "once accepting connections, write the listen address to `FILE` (atomically)"},
			&cli.StringFlag{Name: "metrics", EnvVars: []string{"CODA_SERVER_METRICS"}, Destination: &o.Metrics,
				Usage: "serve metrics (Prometheus text format) at https://`HOST:PORT`/metrics, with the server's certificate"},
			&cli.DurationFlag{Name: "token-lifetime", Value: 25 * time.Hour, EnvVars: []string{"CODA_TOKEN_LIFETIME"}, Destination: &o.Lifetime,
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
			if err := applyConfig(c, o.Config, DefaultServerConfig, serverConfigKeys); err != nil {
				return err
			}
			return runServer(c.Context, o, c.App.ErrWriter)
		},
	}
}

// DefaultServerConfig is the configuration file coda server reads when
// --config is not given; a missing default file is fine.
const DefaultServerConfig = "/etc/coda/server.conf"

// serverConfigKeys are server.conf's keys and the flags they set
// (man/server.conf.5 documents each; a test checks that it does).
// vicedir is Coda's name for the data directory.
var serverConfigKeys = map[string]conffile.Key{
	"data": {Flag: "data"}, "vicedir": {Flag: "data"}, "listen": {Flag: "listen"}, "ready-file": {Flag: "ready-file"},
	"token-lifetime": {Flag: "token-lifetime"}, "log-level": {Flag: "log-level", Check: logging.CheckLevel},
	"log-file": {Flag: "log-file"}, "log-format": {Flag: "log-format", Check: logging.CheckFormat},
	"metrics": {Flag: "metrics"},
}

// applyConfig sets c's flags from the configuration file (path, or def
// when path is empty and then only if it exists). Unknown keys are
// warned about on stderr.
func applyConfig(c *cli.Context, path, def string, keys map[string]conffile.Key) error {
	missingOK := path == ""
	if missingOK {
		path = def
	}
	cf, err := conffile.Read(path, missingOK)
	if err != nil {
		return fmt.Errorf("server config: %w", err)
	}
	err = cf.Apply(c, keys, func(msg string) { fmt.Fprintf(c.App.ErrWriter, "coda: warning: %s\n", msg) })
	if err != nil {
		return fmt.Errorf("server config: %w", err)
	}
	return nil
}

// runServer runs the server until ctx is cancelled.
func runServer(ctx context.Context, o serverCmdOptions, stderr io.Writer) error {
	logger, logFile, err := openLog(stderr, o.Log)
	if err != nil {
		return err
	}
	if logFile != nil {
		defer logFile.Close()
	}
	defer logging.OnHangup(logFile, logger)()
	if err := removeReadyFile(o.ReadyFile); err != nil {
		return err
	}
	opts := Options{DataDir: o.Data, Listen: o.Listen, TokenLifetime: o.Lifetime, Logger: logger, Stderr: stderr, Metrics: o.Metrics}
	if logFile != nil {
		opts.ReopenLog = logFile.Reopen
	}
	opts.Ready = func(addr string) {
		if err := readyfile.Notify("READY=1"); err != nil { // systemd, Type=notify
			logger.Error("cannot tell systemd the server is ready", "err", err)
		}
		if o.ReadyFile == "" {
			return
		}
		if err := writeReadyFile(o.ReadyFile, addr+"\n"); err != nil {
			logger.Error("cannot signal readiness", "err", err)
		}
	}
	if o.ReadyFile != "" {
		defer func() { _ = removeReadyFile(o.ReadyFile) }()
	}
	return Run(ctx, opts)
}
