package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/coda-fs/coda/auth"
	"github.com/coda-fs/coda/backup"
	"github.com/coda-fs/coda/client"
	"github.com/coda-fs/coda/man"
	"github.com/coda-fs/coda/server"
)

// Set at link time by the Makefile (-ldflags "-X main.version=… -X
// main.commit=…"); never written at run time.
var (
	version = "dev"
	commit  = "unknown"
)

const (
	exitOK    = 0
	exitError = 1 // one line "coda: MSG" on stderr
	exitUsage = 2 // bad flags or arguments
)

func main() {
	configureCLI()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	stopProfile := startProfile(os.Getenv("CODA_CPUPROFILE"))
	code := run(ctx, os.Args, os.Stdout, os.Stderr)
	stopProfile()
	stop()
	os.Exit(code)
}

// startProfile writes a CPU profile of this process to PREFIX.PID when
// CODA_CPUPROFILE=PREFIX is set (for `go tool pprof`; benchmarks use it to
// find where a server's or a tool's time goes). It returns the function
// that ends the profile.
func startProfile(prefix string) func() {
	if prefix == "" {
		return func() {}
	}
	f, err := os.OpenFile(fmt.Sprintf("%s.%d", prefix, os.Getpid()), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err == nil {
		err = pprof.StartCPUProfile(f)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "coda: CODA_CPUPROFILE: %v\n", err)
		return func() {}
	}
	return func() { pprof.StopCPUProfile(); f.Close() }
}

// configureCLI sets urfave/cli's one process-wide setting we change, once,
// before anything runs: its help flag is -h and --help, but Coda's admin
// tools use -h for the host, so help is --help only, everywhere.
func configureCLI() {
	cli.HelpFlag = &cli.BoolFlag{Name: "help", Usage: "show help", DisableDefaultText: true}
}

// run runs the command line args (args[0] is the name the binary was
// called by) and returns the exit status. It is main without the process:
// tests call it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		args = []string{"coda"}
	}
	if mode, ok := busyboxMode(args[0]); ok {
		args = append([]string{"coda", mode}, args[1:]...)
	} else {
		args = append([]string{"coda"}, args[1:]...)
	}
	app := newApp(stdout, stderr)
	err := app.RunContext(ctx, flagsFirst(app, args))
	return exitCode(ctx, err, stderr)
}

// busyboxNames are the names a symlink to the binary may have; each runs
// the mode of the same name (codadump2tar runs dump2tar). `make install`
// creates them (its BUSYBOX list is checked against this one by a test).
func busyboxNames() []string {
	return []string{
		"venus", "cfs", "hoard", "codacon",
		"clog", "ctokens", "cunlog", "cpasswd", "au", "pdbtool",
		"volutil", "createvol_rep", "purgevol_rep", "codadump2tar",
	}
}

// busyboxMode returns the mode the binary runs when called as argv0.
func busyboxMode(argv0 string) (string, bool) {
	base := filepath.Base(argv0)
	if !slices.Contains(busyboxNames(), base) {
		return "", false
	}
	if base == "codadump2tar" {
		return "dump2tar", true
	}
	return base, true
}

func newApp(stdout, stderr io.Writer) *cli.App {
	app := &cli.App{
		Name:      "coda",
		Usage:     "the Coda distributed file system in one binary",
		UsageText: "coda MODE [options] [arguments]\nMODE [options] [arguments]   (called through a symlink named after the mode)",
		Version:   fmt.Sprintf("%s (commit %s)", version, commit),
		Description: `Coda keeps one shared file tree on 1-8 file servers. Clients (venus) mount it with FUSE
at /coda/REALM, cache whole files on local disk and are told by the servers when a cached file
changes (callbacks). Every mode is one command of this binary: "coda venus", "coda server",
"coda volutil", and so on; each has --help.

BUSYBOX NAMES:
A symlink to the binary named venus, cfs, hoard, codacon, clog, ctokens, cunlog, cpasswd, au,
pdbtool, volutil, createvol_rep, purgevol_rep or codadump2tar runs that mode (codadump2tar is
"coda dump2tar"); "make install" creates them.

EXIT STATUS:
0 on success, 1 on failure with one line "coda: MESSAGE" on stderr, 2 on a usage error
(unknown flag, missing or extra arguments).

EXAMPLES:
   coda server init --data /vice --realm example.org --id 1 --listen 10.0.0.1:2432
   coda server --data /vice
   coda createvol_rep coda.root 10.0.0.1:2432
   coda venus --realm example.org --servers 10.0.0.1:2432
   volutil -h 10.0.0.1 getvolumelist`,
		Writer:         stdout,
		ErrWriter:      stderr,
		ExitErrHandler: func(*cli.Context, error) {}, // exit codes are decided in exitCode
		Commands:       commands(),
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return cli.Exit(fmt.Sprintf("unknown mode %q (see coda --help)", c.Args().First()), exitUsage)
			}
			_ = cli.ShowAppHelp(c)
			return cli.Exit("no mode given", exitUsage)
		},
	}
	app.EnableBashCompletion = true // --generate-bash-completion, for the scripts of coda completion
	app.OnUsageError = onUsageError
	setOnUsageError(app.Commands)
	return app
}

// commands lists every mode, in the order `coda --help` shows them.
func commands() []*cli.Command {
	return []*cli.Command{
		server.NewServerCommand(),
		server.NewCreatevolRepCommand(),
		server.NewPurgevolRepCommand(),
		server.NewVolutilCommand(),
		client.NewVenusCommand(),
		client.NewCfsCommand(),
		client.NewHoardCommand(),
		client.NewCodaconCommand(),
		auth.NewClogCommand(),
		auth.NewCtokensCommand(),
		auth.NewCunlogCommand(),
		auth.NewCpasswdCommand(),
		auth.NewAuCommand(),
		auth.NewPdbtoolCommand(),
		backup.NewDump2tarCommand(),
		newCompletionCommand(),
		newGenManCommand(),
	}
}

// manPages are the generated pages: coda(1) for the app, one per built
// mode. Hand-written pages (coda-proto(7)) live beside them in man/.
func manPages() []man.Page {
	return []man.Page{
		{Command: "", Name: "coda", Section: 1},
		{Command: "server", Name: "coda-server", Section: 8},
		{Command: "venus", Name: "venus", Section: 8},
		{Command: "volutil", Name: "volutil", Section: 8},
		{Command: "createvol_rep", Name: "createvol_rep", Section: 8},
		{Command: "purgevol_rep", Name: "purgevol_rep", Section: 8},
		{Command: "cfs", Name: "cfs", Section: 1},
		{Command: "codacon", Name: "codacon", Section: 1},
		{Command: "hoard", Name: "hoard", Section: 1},
		{Command: "clog", Name: "clog", Section: 1},
		{Command: "ctokens", Name: "ctokens", Section: 1},
		{Command: "cunlog", Name: "cunlog", Section: 1},
		{Command: "cpasswd", Name: "cpasswd", Section: 1},
		{Command: "au", Name: "au", Section: 8},
		{Command: "pdbtool", Name: "pdbtool", Section: 8},
		{Command: "dump2tar", Name: "dump2tar", Section: 1},
		{Command: "completion", Name: "coda-completion", Section: 1},
	}
}

func handWrittenPages() []string {
	return []string{"coda-backup(8)", "coda-dump(5)", "coda-proto(7)", "coda-repair(7)", "coda-restore-files(8)"}
}

func newGenManCommand() *cli.Command {
	return &cli.Command{
		Name:      "gen-man",
		Hidden:    true,
		Usage:     "write the generated man pages into DIR (make man)",
		UsageText: "coda gen-man DIR",
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return cli.Exit("gen-man: need exactly one DIR", exitUsage)
			}
			return man.WriteAll(c.Args().First(), c.App, manPages(), handWrittenPages())
		},
	}
}

// onUsageError turns a flag parsing error into a usage error (exit 2)
// instead of urfave/cli's help dump.
func onUsageError(c *cli.Context, err error, _ bool) error {
	name := commandName(c)
	if name == "coda" {
		return cli.Exit(fmt.Sprintf("%v (see coda --help)", err), exitUsage)
	}
	return cli.Exit(fmt.Sprintf("%s: %v (see coda %s --help)", name, err, name), exitUsage)
}

// commandName is the command path without "coda", e.g. "volutil info".
func commandName(c *cli.Context) string {
	if c.Command == nil || c.Command.HelpName == "" || c.Command.Name == c.App.Name {
		return "coda"
	}
	return strings.TrimPrefix(c.Command.HelpName, c.App.Name+" ")
}

func setOnUsageError(cmds []*cli.Command) {
	for _, c := range cmds {
		if c.OnUsageError == nil {
			c.OnUsageError = onUsageError
		}
		setOnUsageError(c.Subcommands)
	}
}

// exitCode prints err as one line and returns the exit status.
func exitCode(ctx context.Context, err error, stderr io.Writer) int {
	if err == nil {
		return exitOK
	}
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		return exitOK // stopped by SIGTERM or SIGINT, as asked
	}
	code := exitError
	var ec cli.ExitCoder
	if errors.As(err, &ec) {
		code = min(ec.ExitCode(), exitUsage)
	}
	msg := strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", "; ")), " ")
	if msg != "" {
		fmt.Fprintf(stderr, "coda: %s\n", msg)
	}
	return code
}

// flagsFirst lets flags follow positional arguments, as users type them
// (`createvol_rep NAME SERVER --key FILE`, `volutil getvolumelist --key
// FILE`): urfave/cli v2 stops parsing flags at the first argument. It
// follows args down to the command they name, moves that command's flags
// before its positional arguments, and moves a flag the command does not
// know but one of its parents does to that parent. Everything after "--"
// stays positional.
func flagsFirst(app *cli.App, args []string) []string {
	out, hoisted := reorder(app.Flags, app.Commands, args[1:], nil)
	for _, h := range hoisted { // known by no level: let the leaf refuse it
		out = append(h, out...)
	}
	return append([]string{args[0]}, out...)
}

// reorder rewrites the arguments of one command level. up holds the flags
// of the levels above; hoisted returns the flags (with their values) that
// belong to a level above.
func reorder(flags []cli.Flag, cmds []*cli.Command, args []string, up []cli.Flag) (out []string, hoisted [][]string) {
	i := 0
	for i < len(args) && isFlag(args[i]) {
		i += 1 + flagValueArgs(flags, args[i])
	}
	if i < len(args) && args[i] != "--" {
		for _, c := range cmds {
			if !c.HasName(args[i]) {
				continue
			}
			if c.SkipFlagParsing {
				return args, nil
			}
			sub, subHoisted := reorder(c.Flags, c.Subcommands, args[i+1:], append(append([]cli.Flag(nil), flags...), up...))
			out = append(out, args[:i]...)
			for _, h := range subHoisted {
				if knows(flags, h[0]) {
					out = append(out, h...)
				} else {
					hoisted = append(hoisted, h)
				}
			}
			out = append(append(out, args[i]), sub...)
			return out, hoisted
		}
		if len(cmds) > 0 {
			return args, nil // an unknown subcommand: leave it to the parser to refuse
		}
	}
	var flagArgs, positional []string
	dashdash := false
	for j := 0; j < len(args); j++ {
		switch a := args[j]; {
		case dashdash:
			positional = append(positional, a)
		case a == "--":
			dashdash = true
		case isFlag(a) && !knows(flags, a) && knows(up, a):
			n := flagValueArgs(up, a)
			hoisted = append(hoisted, args[j:min(j+1+n, len(args))])
			j += n
		case isFlag(a):
			n := flagValueArgs(flags, a)
			flagArgs = append(flagArgs, args[j:min(j+1+n, len(args))]...)
			j += n
		default:
			positional = append(positional, a)
		}
	}
	if dashdash {
		flagArgs = append(flagArgs, "--")
	}
	return append(flagArgs, positional...), hoisted
}

func isFlag(a string) bool { return len(a) > 1 && a[0] == '-' && a != "--" }

// flagValueArgs is 1 when the flag a (e.g. "--key") takes its value from
// the next argument, else 0 ("--key=F", boolean and unknown flags).
func flagValueArgs(flags []cli.Flag, a string) int {
	f := lookupFlag(flags, a)
	if df, ok := f.(cli.DocGenerationFlag); ok && df.TakesValue() && !strings.Contains(a, "=") {
		return 1
	}
	return 0
}

func knows(flags []cli.Flag, a string) bool { return lookupFlag(flags, a) != nil }

// lookupFlag finds the flag named by the argument a ("--key", "-h",
// "--key=F"); --help is known everywhere.
func lookupFlag(flags []cli.Flag, a string) cli.Flag {
	name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
	for _, f := range append(flags, cli.HelpFlag) {
		if f == nil {
			continue
		}
		for _, n := range f.Names() {
			if n == name {
				return f
			}
		}
	}
	return nil
}
