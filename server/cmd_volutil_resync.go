package server

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/coda-fs/coda/server/adminclient"
	"github.com/coda-fs/coda/server/progress"
	"github.com/coda-fs/coda/server/proto"
)

func newVolutilResyncCommand(o *volutilCmdOptions) *cli.Command {
	return &cli.Command{
		Name:      "resync",
		Usage:     "bring every replica of a volume level now, server to server",
		UsageText: "coda volutil [-h SERVER] resync VOL",
		Description: `The server given by -h (one holding a replica of VOL; best an up-to-date one) compares
every replica's vnodes and copies the dominant state to the replicas that lag: directories
first (which also creates what a replica lacks), then files and symbolic links — small ones in
batches, large ones streamed several at a time. No client is needed; clients may keep reading
and writing meanwhile (an object that changes while it is copied is left to the next pass).

On a terminal a progress bar shows objects scanned, objects and bytes copied, the rate and an
estimate of the time left; otherwise one progress line is printed per second. Objects whose
replicas diverged (updates on both sides of a partition) are listed and left alone. An
interrupted resync is simply run again: what is level already is only compared, not copied.

Exit status 0 when every replica reached is level, 1 when something was left (listed), 2 on
bad usage.

EXAMPLES:
   coda volutil -h 10.0.0.1 resync coda.root
   coda volutil -h 10.0.0.1 resync 0x7f000002`,
		HideHelp: true,
		Flags:    []cli.Flag{helpFlag()},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageErrorf("volutil resync: need exactly one VOL")
			}
			return runResync(c.Context, *o, c.Args().First(), c.App.Writer)
		},
	}
}

// resyncPasses is how often resync goes over the volume while objects keep
// changing under it.
const resyncPasses = 3

func runResync(ctx context.Context, o volutilCmdOptions, vol string, w io.Writer) error {
	c, info, err := o.dialVolume(ctx, vol)
	if err != nil {
		return fmt.Errorf("volutil resync: %w", err)
	}
	defer c.Close()
	p := newProgress(w, info.Name)
	var problems []string
	for pass := 1; pass <= resyncPasses; pass++ {
		problems, err = resyncPass(ctx, c, info.ID, p)
		if err != nil {
			p.end()
			return fmt.Errorf("volutil resync %s: %w", info.Name, err)
		}
		if len(problems) == 0 || !allStale(problems) {
			break
		}
	}
	p.end()
	if len(problems) > 0 {
		for _, pr := range problems {
			fmt.Fprintf(w, "not level: %s\n", pr)
		}
		return fmt.Errorf("volutil resync %s: %d objects or servers left as they were (listed above)", info.Name, len(problems))
	}
	fmt.Fprintf(w, "%s: every replica level (%d objects copied, %s)\n", info.Name, p.copied, byteCount(p.bytes))
	return nil
}

// allStale reports whether every problem is an object that changed while
// it was copied (another pass will catch it).
func allStale(problems []string) bool {
	for _, p := range problems {
		if !strings.Contains(p, "changed") {
			return false
		}
	}
	return true
}

// resyncPass runs the server's steps until the volume is done and returns
// what was left.
func resyncPass(ctx context.Context, c *adminclient.Client, id uint32, p *resyncProgress) ([]string, error) {
	req := proto.Resync{Volume: id}
	var problems []string
	p.scanned = 0
	for {
		r, err := c.ResyncStep(ctx, &req)
		if err != nil {
			return nil, err
		}
		problems = append(problems, r.Problems...)
		p.step(r)
		if r.Done {
			return problems, nil
		}
		req.Phase, req.After = r.Phase, r.After
	}
}

// resyncProgress shows a resync's progress: a bar redrawn in place on a
// terminal, else a line per second.
type resyncProgress struct {
	w       io.Writer
	tty     bool
	name    string
	start   time.Time
	last    time.Time
	total   uint64
	scanned uint64 // both phases scan every vnode: 2×total in all
	copied  uint64
	bytes   int64
	drawn   bool
}

func newProgress(w io.Writer, name string) *resyncProgress {
	return &resyncProgress{w: w, name: name, start: time.Now(), tty: progress.IsTerminal(w)}
}

func (p *resyncProgress) step(r *proto.ResyncReply) {
	p.total = max(p.total, r.Total)
	p.scanned += r.Scanned
	p.copied += r.Copied
	p.bytes += r.Bytes
	now := time.Now()
	if !p.tty && now.Sub(p.last) < time.Second && !r.Done {
		return
	}
	p.last = now
	elapsed := now.Sub(p.start).Seconds()
	frac := 1.0
	if p.total > 0 {
		frac = min(float64(p.scanned)/float64(2*p.total), 1)
	}
	eta := "-"
	if frac > 0 && frac < 1 {
		eta = (time.Duration(elapsed*(1-frac)/frac) * time.Second).Round(time.Second).String()
	}
	rate := fmt.Sprintf("%.0f objects/s %s/s", float64(p.copied)/max(elapsed, 1e-3), byteCount(int64(float64(p.bytes)/max(elapsed, 1e-3))))
	line := fmt.Sprintf("%s: %3.0f%% scanned %d, copied %d objects %s, %s, ETA %s",
		p.name, frac*100, p.scanned, p.copied, byteCount(p.bytes), rate, eta)
	if p.tty {
		const width = 24
		n := int(frac * width)
		fmt.Fprintf(p.w, "\r[%s%s] %s\x1b[K", strings.Repeat("#", n), strings.Repeat(".", width-n), line)
		p.drawn = true
		return
	}
	fmt.Fprintln(p.w, line)
}

// end finishes the bar's line.
func (p *resyncProgress) end() {
	if p.drawn {
		fmt.Fprintln(p.w)
	}
}

// byteCount formats n bytes for people: 1.5 GB.
func byteCount(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %cB", float64(n)/float64(div), "kMGTPE"[exp])
}
