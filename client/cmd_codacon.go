package client

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/coda-fs/coda/client/control"
	"github.com/coda-fs/coda/client/venus"
)

// eventKinds are the kinds codacon --only accepts.
var eventKinds = []string{venus.EventFetch, venus.EventStore, venus.EventServerDown, venus.EventServerUp,
	venus.EventConflict, venus.EventResolved, venus.EventRepaired, venus.EventVolume, venus.EventReintegrating,
	venus.EventReintegrated, venus.EventTokenExpired, venus.EventHoardWalk}

// NewCodaconCommand returns the codacon mode: venus's event stream.
func NewCodaconCommand() *cli.Command {
	var history, dump, asJSON bool
	var count int
	var only string
	return &cli.Command{
		Name:      "codacon",
		Category:  "client",
		Usage:     "print venus's live event stream",
		UsageText: "coda codacon [--history|--dump] [--only KIND,...] [--count N] [--json] [PATH]",
		Description: `Prints what the venus serving PATH (default: $CODA_MOUNT or /coda) does, one line per
event, as it happens: TIME KIND [FID [PATH]]: DETAILS. The kinds:

   fetch, store          a file fetched from or stored to the servers (with its size)
   server-down/up        a server lost or reached again
   conflict              replicas found diverged that the servers could not merge
   resolved              replicas made level again by the servers (a merge, a policy)
   repaired              a conflict repaired with cfs repair
   volume                a volume disconnected (no replica reachable) or connected again
   reintegrating         reintegration of a volume's log started, or its progress
   reintegrated          updates made while disconnected sent to the servers (or why
                         they wait: servers down, no token, a refused update)
   token-expired         a user's token expired (what it logged waits for clog)
   hoard-walk            a hoard walk ended: what it fetched, what it missed

Root sees every event; other users see those their own accesses caused and those of no one
in particular (servers). Venus keeps the last 4096 events: --history prints those first,
--dump prints them and exits. A reader too slow for the stream is told how many events it
missed. Stops at interrupt, or after N events with --count. With --json each event is one
JSON object per line (seq, time, kind, fid, path, msg, uid), for scripts.

EXAMPLES:
   coda codacon
   coda codacon --only conflict,resolved,repaired /coda/example.org
   coda codacon --history --count 20
   coda codacon --dump --only conflict | wc -l`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "history", Destination: &history, Usage: "print the events venus still keeps first"},
			&cli.BoolFlag{Name: "dump", Destination: &dump, Usage: "print the events venus keeps, then exit"},
			&cli.StringFlag{Name: "only", Destination: &only, Usage: "print only events of the kinds in `LIST` (comma-separated)"},
			&cli.IntFlag{Name: "count", Destination: &count, Usage: "exit after printing `N` events (0: never)"},
			&cli.BoolFlag{Name: "json", Destination: &asJSON, Usage: "print each event as a line of JSON"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 1 {
				return usageErrorf("codacon: at most one PATH")
			}
			var kinds []string
			if only != "" {
				kinds = strings.Split(only, ",")
				for _, k := range kinds {
					if !slices.Contains(eventKinds, k) {
						return usageErrorf("codacon: unknown event kind %q (one of %s)", k, strings.Join(eventKinds, ", "))
					}
				}
			}
			vc, err := control.DialPath(c.Args().First())
			if err != nil {
				return fmt.Errorf("codacon: %w", err)
			}
			defer vc.Close()
			call := func(a EventsArgs) (venus.EventBatch, error) {
				var b venus.EventBatch
				ctx, cancel := context.WithTimeout(c.Context, 2*eventsWait)
				defer cancel()
				err := vc.Call(ctx, OpEvents, a, &b)
				return b, err
			}
			var after uint64
			if !history && !dump {
				b, err := call(EventsArgs{Latest: true})
				if err != nil {
					return fmt.Errorf("codacon: %w", err)
				}
				after = b.Last
			}
			printed := 0
			for {
				b, err := call(EventsArgs{After: after, NoWait: dump})
				if c.Context.Err() != nil {
					return nil // interrupted
				}
				if err != nil {
					return fmt.Errorf("codacon: %w", err)
				}
				if b.Missed > 0 {
					fmt.Fprintf(c.App.Writer, "… %d events missed (venus keeps the last 4096)\n", b.Missed)
				}
				for _, e := range b.Events {
					if kinds != nil && !slices.Contains(kinds, e.Kind) {
						continue
					}
					if asJSON {
						b, err := json.Marshal(e)
						if err != nil {
							return fmt.Errorf("codacon: %w", err)
						}
						fmt.Fprintf(c.App.Writer, "%s\n", b)
					} else {
						fmt.Fprintln(c.App.Writer, e.String())
					}
					if printed++; count > 0 && printed >= count {
						return nil
					}
				}
				if dump {
					return nil
				}
				after = b.Last
			}
		},
	}
}
