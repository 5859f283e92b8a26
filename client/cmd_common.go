package client

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/coda-fs/coda/server/readyfile"
)

// Helpers shared by the client-side command files (cmd_*.go). Logging and
// readiness live in server/logging and server/readyfile, shared with the
// server commands.

// exitUsage is the exit status of a usage error (main prints the message).
const exitUsage = 2

// usageErrorf returns a usage error: main prints "coda: MSG" and exits 2.
func usageErrorf(format string, args ...any) error {
	return cli.Exit(fmt.Sprintf(format, args...), exitUsage)
}

// writeReadyFile and removeReadyFile signal readiness to scripts.
var (
	writeReadyFile  = readyfile.Write
	removeReadyFile = readyfile.Remove
)
