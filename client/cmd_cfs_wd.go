package client

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/coda-fs/coda/server/progress"
)

// wdCall sends a write-disconnection operation for the volumes holding
// the paths (every volume when none).
func wdCall(c *cli.Context, op string, a WDArgs, result any) error {
	for _, p := range c.Args().Slice() {
		st, err := lstat(p)
		if err != nil {
			return err
		}
		a.Inos = append(a.Inos, st.Ino)
	}
	return callVenus(c.Context, c.Args().First(), op, a, result)
}

func newCfsWD() *cli.Command {
	var age, chunk float64
	return &cli.Command{
		Name:      "wd",
		Aliases:   []string{"writedisconnect"},
		Usage:     "log updates and send them in the background (a weak link)",
		UsageText: "coda cfs wd|writedisconnect [-age SECONDS] [-time SECONDS] [PATH...]",
		Description: `Puts the volumes holding each PATH (every volume venus knows when none) in
write-disconnected mode: venus still reads from the servers, but every update is applied to
the cache and logged, as when disconnected, and the log trickles back in the background:
changes older than -age seconds, for about -time seconds at a time. cfs lv shows the mode and
the log; cfs fr sends it now; cfs strong ends the mode. The setting survives venus restarts.
Root only.

EXAMPLES:
   coda cfs wd -age 30 -time 5 /coda/example.org/www
   coda cfs wd`,
		Flags: []cli.Flag{
			&cli.Float64Flag{Name: "age", Value: 0, Destination: &age, Usage: "send changes older than `SECONDS`"},
			&cli.Float64Flag{Name: "time", Value: 10, Destination: &chunk, Usage: "send for about `SECONDS` at a time"},
		},
		Action: func(c *cli.Context) error {
			if age < 0 || chunk <= 0 {
				return usageErrorf("cfs wd: -age must be ≥ 0 and -time > 0")
			}
			var n int
			if err := wdCall(c, OpWD, WDArgs{Age: age, Time: chunk}, &n); err != nil {
				return fmt.Errorf("cfs wd: %w", err)
			}
			fmt.Fprintf(c.App.Writer, "%d volumes write-disconnected\n", n)
			return nil
		},
	}
}

func newCfsStrong() *cli.Command {
	return &cli.Command{
		Name:      "strong",
		Aliases:   []string{"wr", "writereconnect"},
		Usage:     "make updates synchronous again (end cfs wd) and send the log",
		UsageText: "coda cfs strong|wr [PATH...]",
		Description: `Ends write-disconnected mode for the volumes holding each PATH (every volume when none):
what is logged is sent now, and from then on every update goes to the servers before it
returns. Root only.

EXAMPLES:
   coda cfs strong
   coda cfs wr /coda/example.org/www`,
		Action: func(c *cli.Context) error {
			var n int
			if err := wdCall(c, OpStrong, WDArgs{}, &n); err != nil {
				return fmt.Errorf("cfs strong: %w", err)
			}
			fmt.Fprintf(c.App.Writer, "%d volumes strongly connected\n", n)
			return nil
		},
	}
}

func newCfsAdaptive() *cli.Command {
	return &cli.Command{
		Name:      "adaptive",
		Usage:     "log updates while the link is weak, send them at once while it is not",
		UsageText: "coda cfs adaptive [PATH...]",
		Description: `Puts the volumes holding each PATH (every volume venus knows when none) in adaptive
mode: venus measures the bandwidth of its link to the servers from the files it fetches and
stores, and while it is below 50 KB/s the volumes are write-disconnected (updates are logged
and trickled back, 15 seconds at a time, as with cfs wd -age 0 -time 15); while it is above,
they are strongly connected and what was logged is sent. cfs lv shows the mode and the
measured bandwidth; codacon announces each switch; cfs strong or cfs wd end the mode. The
setting survives venus restarts. Root only.

EXAMPLES:
   coda cfs adaptive
   coda cfs adaptive /coda/example.org/home`,
		Action: func(c *cli.Context) error {
			var n int
			if err := wdCall(c, OpAdaptive, WDArgs{}, &n); err != nil {
				return fmt.Errorf("cfs adaptive: %w", err)
			}
			fmt.Fprintf(c.App.Writer, "%d volumes adaptive\n", n)
			return nil
		},
	}
}

func newCfsForceReintegrate() *cli.Command {
	return &cli.Command{
		Name:      "fr",
		Aliases:   []string{"forcereintegrate"},
		Usage:     "send the logged updates now and say what remains",
		UsageText: "coda cfs fr|forcereintegrate [PATH...]",
		Description: `Sends the changes logged for the volumes holding each PATH (every volume when none) to
the servers now, whatever their age, and prints how many remain (those that wait for a
server, a token, or a decision about a conflict: see cfs checklocal). Meanwhile it reports
its progress on stderr: a line redrawn in place on a terminal, a line every 10 s elsewhere.

EXAMPLES:
   coda cfs fr /coda/example.org/www`,
		Action: func(c *cli.Context) error {
			var left int
			stop := reportLog(c.Context, c.App.ErrWriter, c.Args().First())
			err := wdCall(c, OpForce, WDArgs{}, &left)
			stop()
			if err != nil {
				return fmt.Errorf("cfs fr: %w", err)
			}
			fmt.Fprintf(c.App.Writer, "%d changes remain logged\n", left)
			return nil
		},
	}
}

// reportLog reports on w, until the returned function is called, how much
// of the log (every volume's, as cfs status counts it) the servers took
// since the call, polling the venus serving path.
func reportLog(ctx context.Context, w io.Writer, path string) (stop func()) {
	logged := func(r StatusReply) int64 {
		var n int64
		for _, v := range r.Volumes {
			n += int64(v.CML.Records)
		}
		return n
	}
	var first StatusReply
	if err := callVenus(ctx, path, OpStatus, nil, &first); err != nil || logged(first) == 0 {
		return func() {}
	}
	start := logged(first)
	bar := progress.NewCount(w, "cfs fr", start, "changes", progress.IsTerminal(w))
	return poll(ctx, path, bar, func(r StatusReply) int64 { return start - logged(r) })
}

// poll sets bar from venus's status (polled from the venus serving path:
// every 200 ms on a terminal, every progress.Interval elsewhere) until the
// returned function is called, which clears the bar.
func poll(ctx context.Context, path string, bar *progress.Bar, done func(StatusReply) int64) (stop func()) {
	every := progress.Interval
	if bar.Terminal() {
		every = 200 * time.Millisecond
	}
	update := func() {
		var r StatusReply
		if err := callVenus(ctx, path, OpStatus, nil, &r); err == nil {
			bar.Set(done(r))
		}
	}
	quit, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-quit:
				bar.Clear()
				return
			case <-t.C:
				update()
			}
		}
	}()
	return func() { close(quit); <-finished }
}
