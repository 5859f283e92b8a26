package client

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/coda-fs/coda/server/adminclient"
	"github.com/coda-fs/coda/server/conffile"
	"github.com/coda-fs/coda/server/logging"
	"github.com/coda-fs/coda/server/readyfile"
)

// venusCmdOptions are the flags of `coda venus`; set names the flags given
// on the command line (they win over the configuration file).
type venusCmdOptions struct {
	Realm     string
	Servers   string
	Mount     string
	Cache     string
	CacheSize string
	CA        string
	Config    string
	ReadyFile string
	Control   string
	Log       logging.Options
	Metrics   string
	Init      bool
	Force     bool
	set       map[string]bool
}

// NewVenusCommand returns `coda venus`, the cache manager and FUSE mount.
func NewVenusCommand() *cli.Command {
	o := venusCmdOptions{}
	return &cli.Command{
		Name:      "venus",
		Category:  "client",
		Usage:     "run the client cache manager: mount the realm with FUSE",
		UsageText: "coda venus --realm REALM --servers HOST:PORT[,HOST:PORT...] [--mount DIR] [--cache DIR] [--cache-size SIZE] [--ca FILE] [--config FILE] [--ready-file FILE]",
		Description: `Mounts the realm at MOUNT/REALM (default /coda/REALM) through FUSE and serves it until
SIGTERM or SIGINT, then unmounts. Files are cached whole in the cache directory; the servers
promise callbacks, so cached files are used without asking them again.

Settings come from flags, else from the configuration file (default /etc/coda/venus.conf;
a missing default file is fine; --config /dev/null reads none): key=value lines with
# comments, keys realm, servers (comma-separated), mountpoint, cachedir, cachesize and ca.
Other keys of Coda's venus.conf are ignored. Sizes take K, M, G or T suffixes (powers of
1024); unlike Coda, a bare number is bytes.

Without --ca, venus trusts the realm CA the first server presents and pins it in the cache
directory; a server of another CA is refused from then on.

EXAMPLES:
   coda venus --realm example.org --servers 10.0.0.1:2432,10.0.0.2:2432
   coda venus --config /dev/null --realm demo.local --servers 127.0.0.1:24320 --mount /tmp/cell/mnt --cache /tmp/cell/cache --cache-size 512M`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "realm", Destination: &o.Realm, Usage: "the `REALM` to mount"},
			&cli.StringFlag{Name: "servers", Destination: &o.Servers,
				Usage: "the realm's servers, `HOST:PORT[,HOST:PORT...]`"},
			&cli.StringFlag{Name: "mount", Value: "/coda", Destination: &o.Mount,
				Usage: "mount point `DIR`; the realm appears as DIR/REALM"},
			&cli.StringFlag{Name: "cache", Value: "/var/lib/coda/cache", Destination: &o.Cache,
				Usage: "cache `DIR` for file data and venus's database"},
			&cli.StringFlag{Name: "cache-size", Value: "2G", Destination: &o.CacheSize,
				Usage: "file data to keep cached, `SIZE` with K, M, G or T suffix"},
			&cli.StringFlag{Name: "ca", Destination: &o.CA,
				Usage: "realm CA certificate `FILE` to pin (default: trust on first use)"},
			&cli.StringFlag{Name: "config", EnvVars: []string{"CODA_VENUS_CONFIG"}, Destination: &o.Config,
				Usage: "configuration `FILE` (default " + DefaultVenusConfig + ")"},
			&cli.StringFlag{Name: "ready-file", Destination: &o.ReadyFile,
				Usage: "once the mount answers, write its path to `FILE` (atomically)"},
			&cli.StringFlag{Name: "control", Destination: &o.Control, EnvVars: []string{"CODA_CONTROL"},
				Usage: "control socket `PATH` for clog, cfs, … (default: /run/coda/venus-HASH.sock, named after the mount point)"},
			&cli.StringFlag{Name: "metrics", EnvVars: []string{"CODA_VENUS_METRICS"}, Destination: &o.Metrics,
				Usage: "serve metrics (Prometheus text format) at https://`HOST:PORT`/metrics, with a self-signed certificate kept as CACHE/metrics.pem"},
			&cli.StringFlag{Name: "log-level", Value: "info", EnvVars: []string{"CODA_LOG_LEVEL"}, Destination: &o.Log.Level,
				Usage: "log `LEVEL`: debug, info, warn or error"},
			&cli.StringFlag{Name: "log-file", EnvVars: []string{"CODA_LOG_FILE"}, Destination: &o.Log.File,
				Usage: "append the log to `FILE` instead of stderr; SIGHUP reopens it (logrotate)"},
			&cli.StringFlag{Name: "log-format", Value: "text", EnvVars: []string{"CODA_LOG_FORMAT"}, Destination: &o.Log.Format,
				Usage: "log `FORMAT`: text (key=value) or json (one object per line)"},
			&cli.BoolFlag{Name: "init", Destination: &o.Init,
				Usage: "empty the cache first (refused while changes logged for reintegration are pending)"},
			&cli.BoolFlag{Name: "force", Destination: &o.Force,
				Usage: "with --init: empty it even with changes pending (checkpointed in CACHE/spool first)"},
		},
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return usageErrorf("venus: unexpected argument %q", c.Args().First())
			}
			o.set = map[string]bool{}
			for _, name := range c.FlagNames() {
				o.set[name] = c.IsSet(name)
			}
			return runVenus(c.Context, o, c.App.ErrWriter)
		},
	}
}

// venusOptions merges flags, the configuration file and defaults into
// VenusOptions (Logger and Ready not set).
func (o venusCmdOptions) venusOptions(warn func(string)) (VenusOptions, error) {
	if o.Force && !o.Init {
		return VenusOptions{}, usageErrorf("venus: --force goes with --init")
	}
	path, missingOK := o.Config, false
	if path == "" {
		path, missingOK = DefaultVenusConfig, true
	}
	cf, err := conffile.Read(path, missingOK)
	if err != nil {
		return VenusOptions{}, fmt.Errorf("venus config: %w", err)
	}
	// Flags given on the command line (or by environment) win over the file.
	fields := map[string]*string{"realm": &o.Realm, "servers": &o.Servers, "mount": &o.Mount,
		"cache": &o.Cache, "cache-size": &o.CacheSize, "ca": &o.CA, "control": &o.Control,
		"log-level": &o.Log.Level, "log-file": &o.Log.File, "log-format": &o.Log.Format, "metrics": &o.Metrics}
	isSet := func(flag string) bool { return o.set[flag] }
	set := func(flag, v string) error { *fields[flag] = v; return nil }
	if err := cf.ApplyTo(venusConfigKeys, isSet, set, warn); err != nil {
		return VenusOptions{}, fmt.Errorf("venus config: %w", err)
	}
	return o.validate()
}

func (o venusCmdOptions) validate() (VenusOptions, error) {
	if o.Realm == "" {
		return VenusOptions{}, usageErrorf("venus: no realm: give --realm or realm= in the configuration file")
	}
	var servers []string
	for _, s := range strings.Split(o.Servers, ",") {
		if s = strings.TrimSpace(s); s != "" {
			servers = append(servers, adminclient.Addr(s))
		}
	}
	if len(servers) == 0 {
		return VenusOptions{}, usageErrorf("venus: no servers: give --servers or servers= in the configuration file")
	}
	size, err := parseSize(o.CacheSize)
	if err != nil {
		return VenusOptions{}, usageErrorf("venus: cache size: %v", err)
	}
	if o.Mount == "" || o.Cache == "" {
		return VenusOptions{}, usageErrorf("venus: the mount point and the cache directory must not be empty")
	}
	return VenusOptions{
		Realm:     o.Realm,
		Servers:   servers,
		Mount:     o.Mount,
		CacheDir:  o.Cache,
		CacheSize: size,
		CAFile:    o.CA,
		InitCache: o.Init,
		ForceInit: o.Force,

		ControlSocket: o.Control,
		Metrics:       o.Metrics,
	}, nil
}

// runVenus runs venus until ctx is cancelled.
func runVenus(ctx context.Context, o venusCmdOptions, stderr io.Writer) error {
	opts, err := o.venusOptions(func(msg string) { fmt.Fprintf(stderr, "coda: warning: %s\n", msg) })
	if err != nil {
		return err
	}
	var logFile *logging.File
	if opts.Logger, logFile, err = logging.Open(stderr, o.Log); err != nil {
		return usageErrorf("venus: %v", err)
	}
	if logFile != nil {
		defer logFile.Close()
	}
	defer logging.OnHangup(logFile, opts.Logger)()
	if err := removeReadyFile(o.ReadyFile); err != nil {
		return err
	}
	logger, mnt := opts.Logger, filepath.Join(opts.Mount, opts.Realm)
	opts.Ready = func() {
		if err := readyfile.Notify("READY=1"); err != nil { // systemd, Type=notify: the mount answers
			logger.Error("cannot tell systemd venus is ready", "err", err)
		}
		if o.ReadyFile == "" {
			return
		}
		if err := writeReadyFile(o.ReadyFile, mnt+"\n"); err != nil {
			logger.Error("cannot signal readiness", "err", err)
		}
	}
	if o.ReadyFile != "" {
		defer func() { _ = removeReadyFile(o.ReadyFile) }()
	}
	return RunVenus(ctx, opts)
}
