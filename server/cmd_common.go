package server

import (
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/coda-fs/coda/server/logging"
	"github.com/coda-fs/coda/server/readyfile"
)

// Helpers shared by the server-side command files (cmd_*.go). They turn
// flags into option structs; the work is done by plain run functions.

// exitUsage is the exit status of a usage error (main prints the message).
const exitUsage = 2

// usageErrorf returns a usage error: main prints "coda: MSG" and exits 2.
func usageErrorf(format string, args ...any) error {
	return cli.Exit(fmt.Sprintf(format, args...), exitUsage)
}

// helpFlag is the --help flag of commands that hide urfave's built-in one
// because -h means something else to them (volutil's host flag).
func helpFlag() cli.Flag {
	return &cli.BoolFlag{Name: "help", Usage: "show help", DisableDefaultText: true}
}

func logLevelFlag(dst *string) cli.Flag {
	return &cli.StringFlag{
		Name: "log-level", Value: "info", EnvVars: []string{"CODA_LOG_LEVEL"}, Destination: dst,
		Usage: "log `LEVEL`: debug, info, warn or error",
	}
}

func keyFlag(dst *string) cli.Flag {
	return &cli.StringFlag{
		Name: "key", Value: "/vice/db/volutil.key", EnvVars: []string{"CODA_VOLUTIL_KEY"}, Destination: dst,
		Usage: "realm admin key `FILE` (0600, written by 'coda server init')",
	}
}

func caFlag(dst *string) cli.Flag {
	return &cli.StringFlag{
		Name: "ca", Destination: dst,
		Usage: "realm CA certificate `FILE` to pin (default: ca.pem beside the key file, else trust on first use)",
	}
}

func logFileFlag(dst *string) cli.Flag {
	return &cli.StringFlag{
		Name: "log-file", EnvVars: []string{"CODA_LOG_FILE"}, Destination: dst,
		Usage: "append the log to `FILE` instead of stderr; SIGHUP reopens it (logrotate)",
	}
}

func logFormatFlag(dst *string) cli.Flag {
	return &cli.StringFlag{
		Name: "log-format", Value: "text", EnvVars: []string{"CODA_LOG_FORMAT"}, Destination: dst,
		Usage: "log `FORMAT`: text (key=value) or json (one object per line)",
	}
}

// openLog opens the daemon's logger as o says (stderr unless a file), and
// returns the log file if there is one.
func openLog(stderr io.Writer, o logging.Options) (*slog.Logger, *logging.File, error) {
	l, f, err := logging.Open(stderr, o)
	if err != nil {
		return nil, nil, usageErrorf("%v", err)
	}
	return l, f, nil
}

// newLogger returns a text logger on w at the named level.
func newLogger(w io.Writer, level string) (*slog.Logger, error) {
	l, err := logging.New(w, level)
	if err != nil {
		return nil, usageErrorf("%v", err)
	}
	return l, nil
}

// writeReadyFile and removeReadyFile signal readiness to scripts.
var (
	writeReadyFile  = readyfile.Write
	removeReadyFile = readyfile.Remove
)

// noArgs refuses positional arguments of a command that takes none.
func noArgs(c *cli.Context) error {
	if c.Args().Present() {
		return usageErrorf("%s: unexpected argument %q", cmdName(c), c.Args().First())
	}
	return nil
}

// cmdName is the command path without "coda", e.g. "volutil info".
func cmdName(c *cli.Context) string {
	if c.Command.HelpName == "" {
		return c.Command.Name
	}
	return strings.TrimPrefix(c.Command.HelpName, c.App.Name+" ")
}

// scmOfKeyDir returns the SCM recorded beside an admin key file in a
// server's data directory (DATA/db/identity: the SCM's address, or this
// server's own when it is the SCM), so that admin tools run on a server
// need no -h.
func scmOfKeyDir(keyFile string) (string, bool) {
	id, err := readIdentity(filepath.Dir(filepath.Dir(keyFile)))
	if err != nil {
		return "", false
	}
	if id.SCM != "" {
		return id.SCM, true
	}
	return id.Listen, true
}
