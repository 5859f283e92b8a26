package client

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/coda-fs/coda/client/control"
	"github.com/coda-fs/coda/client/venus"
	"github.com/coda-fs/coda/server/progress"
)

// HoardArgs carry a hoard command to venus: an entry (OpHoardAdd), a path
// (OpHoardDelete), a uid to clear (OpHoardClear, root only).
type HoardArgs struct {
	Entry venus.HoardEntry `json:"entry"`
	UID   *uint32          `json:"uid,omitempty"`
}

// NewHoardCommand returns the coda hoard command.
func NewHoardCommand() *cli.Command {
	var mount string
	mountFlag := &cli.StringFlag{Name: "mount", EnvVars: []string{"CODA_MOUNT"}, Destination: &mount,
		Usage: "the venus mount `DIR` to talk to when no PATH names it (default /coda)"}
	return &cli.Command{
		Name:     "hoard",
		Category: "client",
		Usage:    "manage venus's hoard database: what stays cached for disconnected work",
		UsageText: `coda hoard add PATH [PRIO][:c|:c+|:d|:d+]
coda hoard delete PATH
coda hoard list | walk | verify | clear [--uid UID]`,
		Description: `The hoard database names what venus keeps in its cache so that work goes on when the
servers cannot be reached (see cfs lv, disconnected operation). Each entry is a path with a
priority from 1 to 1000 (default 10); for a directory, :c hoards its children, :d everything
below it, and a '+' (:c+, :d+) also what is made there later. Without '+' the entry is
expanded when it is added, one entry per object then below it.

Venus walks the database every 10 minutes and on coda hoard walk: highest priority first, it
fetches what is missing and refreshes what changed, within the cache size. Hoarded files are
evicted only after every file that is not hoarded. coda hoard verify lists hoarded objects
that are not cached: what a disconnection now would leave out.

Entries belong to the user who adds them and are walked with that user's token; root lists,
deletes and clears everyone's. The database lives in venus's cache and survives restarts
(coda venus --init empties it).

EXAMPLES:
   coda hoard add /coda/example.org/www 100:d+
   coda hoard add ~/coda/notes.txt 500
   coda hoard walk
   coda hoard verify
   coda hoard list
   coda hoard delete /coda/example.org/www`,
		Subcommands: []*cli.Command{
			{
				Name:      "add",
				Aliases:   []string{"a"},
				Usage:     "hoard PATH (and its children or descendants)",
				UsageText: "coda hoard add PATH [PRIO][:c|:c+|:d|:d+]",
				Description: `Adds PATH with priority PRIO (1-1000, default 10); :c also its children, :d everything
below it, with '+' those made later too (else the entry is expanded now, one per object).
A walk starts in the background.

EXAMPLES:
   coda hoard add /coda/example.org/www 100:d+
   coda hoard add /coda/example.org/etc/passwd 900`,
				Action: func(c *cli.Context) error {
					if c.NArg() < 1 || c.NArg() > 2 {
						return usageErrorf("usage: coda hoard add PATH [PRIO][:c|:c+|:d|:d+]")
					}
					e, err := parseHoardSpec(c.Args().Get(1))
					if err != nil {
						return usageErrorf("coda hoard add: %v", err)
					}
					p := c.Args().First()
					if e.Path, err = belowMount(p); err != nil {
						return fmt.Errorf("coda hoard add: %w", err)
					}
					var n int
					if err := callVenus(c.Context, p, OpHoardAdd, HoardArgs{Entry: e}, &n); err != nil {
						return fmt.Errorf("coda hoard add: %w", err)
					}
					fmt.Fprintf(c.App.Writer, "%d entries added\n", n)
					return nil
				},
			},
			{
				Name:      "delete",
				Aliases:   []string{"d"},
				Usage:     "remove PATH's entry",
				UsageText: "coda hoard delete PATH",
				Description: `Removes PATH's entry (your own; root removes every user's entry for PATH). What is
cached stays cached, evicted like anything else.

EXAMPLES:
   coda hoard delete /coda/example.org/www`,
				Action: func(c *cli.Context) error {
					if c.NArg() != 1 {
						return usageErrorf("usage: coda hoard delete PATH")
					}
					p := c.Args().First()
					rel, err := belowMount(p)
					if err != nil {
						return fmt.Errorf("coda hoard delete: %w", err)
					}
					var n int
					if err := callVenus(c.Context, p, OpHoardDelete, HoardArgs{Entry: venus.HoardEntry{Path: rel}}, &n); err != nil {
						return fmt.Errorf("coda hoard delete: %w", err)
					}
					if n == 0 {
						return fmt.Errorf("coda hoard delete: %s is not in the hoard database", p)
					}
					return nil
				},
			},
			{
				Name:      "list",
				Aliases:   []string{"l"},
				Usage:     "list the entries",
				UsageText: "coda hoard list [--mount DIR]",
				Description: `Lists your entries (root: everyone's), highest priority first: path, priority and
attributes as add takes them, and the local uid that added it.

EXAMPLES:
   coda hoard list
   coda hoard list --mount /mnt/coda`,
				Flags: []cli.Flag{mountFlag},
				Action: func(c *cli.Context) error {
					var entries []venus.HoardEntry
					if err := callVenus(c.Context, mount, OpHoardList, HoardArgs{}, &entries); err != nil {
						return fmt.Errorf("coda hoard list: %w", err)
					}
					_, mp, err := control.Locate(mount)
					if err != nil {
						return fmt.Errorf("coda hoard list: %w", err)
					}
					for _, e := range entries {
						fmt.Fprintf(c.App.Writer, "%s %s uid %d\n", filepath.Join(mp, e.Path), hoardSpec(e), e.UID)
					}
					return nil
				},
			},
			{
				Name:      "walk",
				Aliases:   []string{"w"},
				Usage:     "walk the database now: fetch and refresh what it names",
				UsageText: "coda hoard walk [--mount DIR]",
				Description: `Walks the hoard database now, highest priority first: fetches what is missing,
refreshes what changed, and prints what it did and what it could not reach.

EXAMPLES:
   coda hoard walk`,
				Flags: []cli.Flag{mountFlag},
				Action: func(c *cli.Context) error {
					var r venus.HoardReport
					bar := progress.New(c.App.ErrWriter, "hoard walk", 0, progress.IsTerminal(c.App.ErrWriter))
					stop := poll(c.Context, mount, bar, func(s StatusReply) int64 { return s.Walk.Fetched })
					err := callVenusWithin(c.Context, hoardWalkWait, mount, OpHoardWalk, HoardArgs{}, &r)
					stop()
					if err != nil {
						return fmt.Errorf("coda hoard walk: %w", err)
					}
					fmt.Fprintf(c.App.Writer, "%d objects hoarded, %d files fetched (%d bytes), %d left out (cache full), in %.1fs\n",
						r.Objects, r.Fetched, r.Bytes, r.Skipped, r.Took)
					for _, m := range r.Missing {
						fmt.Fprintf(c.App.Writer, "missing: %s\n", m)
					}
					return nil
				},
			},
			{
				Name:      "verify",
				Aliases:   []string{"v"},
				Usage:     "list hoarded objects that are not cached",
				UsageText: "coda hoard verify [--mount DIR]",
				Description: `Lists the hoarded objects that are not in the cache now (one per line, with why) and
exits 1 when there is any: what a disconnection now would leave out.

EXAMPLES:
   coda hoard verify || coda hoard walk`,
				Flags: []cli.Flag{mountFlag},
				Action: func(c *cli.Context) error {
					var missing []string
					if err := callVenus(c.Context, mount, OpHoardVerify, HoardArgs{}, &missing); err != nil {
						return fmt.Errorf("coda hoard verify: %w", err)
					}
					for _, m := range missing {
						fmt.Fprintln(c.App.Writer, m)
					}
					if len(missing) > 0 {
						return cli.Exit("", 1)
					}
					return nil
				},
			},
			{
				Name:      "clear",
				Aliases:   []string{"c"},
				Usage:     "remove your entries (root: everyone's, or those of --uid)",
				UsageText: "coda hoard clear [--mount DIR] [--uid UID]",
				Description: `Removes all your entries; root removes everyone's, or with --uid those of one local user.

EXAMPLES:
   coda hoard clear
   coda hoard clear --uid 33`,
				Flags: []cli.Flag{mountFlag, &cli.StringFlag{Name: "uid", Usage: "clear only the entries of local `UID` (root)"}},
				Action: func(c *cli.Context) error {
					var a HoardArgs
					if s := c.String("uid"); s != "" {
						n, err := strconv.ParseUint(s, 10, 32)
						if err != nil {
							return usageErrorf("coda hoard clear: bad --uid %q", s)
						}
						u := uint32(n)
						a.UID = &u
					}
					var n int
					if err := callVenus(c.Context, mount, OpHoardClear, a, &n); err != nil {
						return fmt.Errorf("coda hoard clear: %w", err)
					}
					fmt.Fprintf(c.App.Writer, "%d entries removed\n", n)
					return nil
				},
			},
		},
	}
}

// hoardWalkWait is how long coda hoard walk waits for the walk to end
// (venus's own walks are bounded by the 10 minutes between them).
const hoardWalkWait = time.Hour

// parseHoardSpec parses [PRIO][:c|:c+|:d|:d+].
func parseHoardSpec(s string) (venus.HoardEntry, error) {
	e := venus.HoardEntry{Priority: venus.HoardDefaultPriority}
	prio, attr, _ := strings.Cut(s, ":")
	if prio != "" {
		n, err := strconv.Atoi(prio)
		if err != nil || n < venus.HoardMinPriority || n > venus.HoardMaxPriority {
			return e, fmt.Errorf("priority %q: a number from %d to %d", prio, venus.HoardMinPriority, venus.HoardMaxPriority)
		}
		e.Priority = n
	}
	switch attr {
	case "":
	case "c", "c+":
		e.Children, e.Future = true, attr == "c+"
	case "d", "d+":
		e.Descendants, e.Future = true, attr == "d+"
	default:
		return e, fmt.Errorf("%q: after the priority comes :c, :c+, :d or :d+", ":"+attr)
	}
	return e, nil
}

// hoardSpec writes an entry's priority and attributes as add takes them.
func hoardSpec(e venus.HoardEntry) string {
	s := strconv.Itoa(e.Priority)
	switch {
	case e.Children:
		s += ":c"
	case e.Descendants:
		s += ":d"
	}
	if e.Future {
		s += "+"
	}
	return s
}

// belowMount returns path relative to the venus mount holding it.
func belowMount(path string) (string, error) {
	if _, err := os.Lstat(path); err != nil {
		return "", err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	if dir, err := filepath.EvalSymlinks(filepath.Dir(abs)); err == nil {
		abs = filepath.Join(dir, filepath.Base(abs))
	}
	mp, err := control.FindMount(abs)
	if err != nil {
		return "", err
	}
	rel, err := filepath.Rel(mp, abs)
	if err != nil || rel == "." || strings.HasPrefix(rel, "..") {
		return "", fmt.Errorf("%s: name something below the mount point %s", path, mp)
	}
	return filepath.ToSlash(rel), nil
}
