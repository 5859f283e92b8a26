package server

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/urfave/cli/v2"

	"github.com/coda-fs/coda/server/adminclient"
	"github.com/coda-fs/coda/server/progress"
)

func newVolutilDumpCommands(o *volutilCmdOptions) []*cli.Command {
	var level int
	var compress bool
	dump := &cli.Command{
		Name:      "dump",
		Usage:     "write a dump of a backup or read-only clone",
		UsageText: "coda volutil [-h SERVER] dump [-i LEVEL] [--compress] VOL [FILE]",
		Description: `Writes a dump (coda-dump(5)) of the server's replica of VOL, a backup or read-only clone,
to FILE (made 0600; removed again if the dump fails) or to standard output. A read-write
volume is refused: back it up first and dump VOL.backup. Level 0 is a full dump; level N
(1-9) holds what changed since the last dump of a lower level marked good with volutil
ancient, plus the objects removed since, so a full dump and its incrementals restore the tree
at the last one. Without a good dump below N the dump is full, and it says so on standard
error. --compress compresses the stream with zstd (dump2tar and restore read either).

EXAMPLES:
   coda volutil dump web.backup > web-full.dump
   coda volutil dump -i 1 web.backup | coda dump2tar | gzip > web-$(date +%F).tgz
   coda volutil -h fs2 dump --compress -i 2 web.backup /backups/web-2.dump.zst`,
		HideHelp: true,
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "i", Destination: &level, Usage: "dump `LEVEL` 0-9 (0: full)"},
			&cli.BoolFlag{Name: "compress", Destination: &compress, Usage: "compress the dump with zstd"},
			helpFlag(),
		},
		Action: func(c *cli.Context) error {
			if c.NArg() < 1 || c.NArg() > 2 {
				return usageErrorf("volutil dump: need VOL [FILE]")
			}
			if level < 0 || level > 9 {
				return usageErrorf("volutil dump: levels are 0-9, not %d", level)
			}
			return runDump(c.Context, *o, c.Args().First(), c.Args().Get(1), uint8(level), compress, c.App.Writer, c.App.ErrWriter)
		},
	}
	ancient := &cli.Command{
		Name:      "ancient",
		Usage:     "mark the last dump of a volume good, the base of the next levels",
		UsageText: "coda volutil [-h SERVER] ancient VOL",
		Description: `VOL is the read-write volume. Marks the last dump of its clone written on the server (-h,
the one that dumped it) good: every replica records that clone's state as the base of the
dump's level, so a later dump at a higher level, from any replica's server, holds the changes
since. Run it once the dump is safely stored.

EXAMPLES:
   coda volutil dump -i 1 web.backup > web.dump && coda volutil ancient web`,
		HideHelp: true,
		Flags:    []cli.Flag{helpFlag()},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageErrorf("volutil ancient: need exactly one VOL")
			}
			return runText(c.Context, *o, "ancient", c.Args().First(), c.App.Writer)
		},
	}
	estimate := &cli.Command{
		Name:      "dumpestimate",
		Usage:     "estimate the size of a dump at each level",
		UsageText: "coda volutil [-h SERVER] dumpestimate VOL",
		Description: `Prints, on one line, the estimated bytes of a dump of the clone VOL at each level 0 to 9,
for backup schedulers (Amanda).

EXAMPLES:
   coda volutil dumpestimate web.backup`,
		HideHelp: true,
		Flags:    []cli.Flag{helpFlag()},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageErrorf("volutil dumpestimate: need exactly one VOL")
			}
			return runText(c.Context, *o, "dumpestimate", c.Args().First(), c.App.Writer)
		},
	}
	return []*cli.Command{dump, ancient, estimate}
}

// runText runs ancient or dumpestimate and prints the server's answer.
func runText(ctx context.Context, o volutilCmdOptions, what, vol string, w io.Writer) error {
	c, err := o.dial(ctx)
	if err != nil {
		return fmt.Errorf("volutil %s: %w", what, err)
	}
	defer c.Close()
	var out string
	if what == "ancient" {
		out, err = c.Ancient(ctx, vol)
	} else {
		out, err = c.DumpEstimate(ctx, vol)
	}
	if err != nil {
		return fmt.Errorf("volutil %s %s: %w", what, vol, err)
	}
	_, err = fmt.Fprintln(w, out)
	return err
}

// estimate is dumpestimate's figure for vol at level, 0 when unknown.
func estimate(ctx context.Context, c *adminclient.Client, vol string, level uint8) int64 {
	line, err := c.DumpEstimate(ctx, vol)
	if err != nil {
		return 0
	}
	f := strings.Fields(line)
	if int(level) >= len(f) {
		return 0
	}
	n, _ := strconv.ParseInt(f[level], 10, 64)
	return n
}

func runDump(ctx context.Context, o volutilCmdOptions, vol, file string, level uint8, compress bool, stdout, stderr io.Writer) (err error) {
	c, err := o.dial(ctx)
	if err != nil {
		return fmt.Errorf("volutil dump: %w", err)
	}
	defer c.Close()
	out := stdout
	if file != "" {
		f, oerr := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if oerr != nil {
			return fmt.Errorf("volutil dump: %w", oerr)
		}
		defer func() {
			if cerr := f.Close(); err == nil && cerr != nil {
				err = fmt.Errorf("volutil dump: %w", cerr)
			}
			if err != nil {
				os.Remove(file) // no partial dump left looking whole
			}
		}()
		out = f
	}
	bw := bufio.NewWriterSize(out, 64<<10) // smaller than a data frame: frames go straight through
	w := io.Writer(bw)
	var zw *zstd.Encoder
	if compress {
		if zw, err = zstd.NewWriter(bw, zstd.WithEncoderLevel(zstd.SpeedFastest)); err != nil {
			return err
		}
		w = zw
	}
	start := time.Now()
	var n int64
	report, clear := func(total int64) { n = total }, func() {}
	if file != "" { // the data goes to a file: progress on stderr
		bar := progress.New(stderr, "dump "+vol, estimate(ctx, c, vol, level), progress.IsTerminal(stderr))
		report, clear = func(total int64) { n = total; bar.Set(total) }, bar.Clear // the summary below ends it
	}
	written, base, err := c.Dump(ctx, vol, level, w, report)
	clear()
	if err == nil && zw != nil {
		err = zw.Close()
	}
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		return fmt.Errorf("volutil dump %s: %w", vol, err)
	}
	if level > 0 && base < 0 {
		fmt.Fprintf(stderr, "volutil dump: no good dump below level %d of %s's volume: this dump is full (level 0)\n", level, vol)
	}
	what := "full"
	if base >= 0 {
		what = fmt.Sprintf("changes since level %d", base)
	}
	took := time.Since(start)
	fmt.Fprintf(stderr, "dumped %s at level %d (%s): %d bytes in %v (%.0f MB/s)\n", vol, written, what, n, took.Round(time.Millisecond), float64(n)/1e6/max(took.Seconds(), 1e-9))
	return nil
}
