package auth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"strconv"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/coda-fs/coda/auth/password"
	"github.com/coda-fs/coda/client"
	"github.com/coda-fs/coda/client/control"
	"github.com/coda-fs/coda/server/proto"
)

// clogOptions are the inputs of `coda clog`.
type clogOptions struct {
	Pipe     bool
	As       string
	Host     string
	ToFile   string
	FromFile string
	Quiet    bool
	Mount    string
	Target   string // USER[@REALM]
}

// NewClogCommand returns `coda clog`.
func NewClogCommand() *cli.Command {
	var o clogOptions
	return &cli.Command{
		Name:     "clog",
		Category: "auth",
		Usage:    "log in to a Coda realm: get a token and hand it to venus",
		UsageText: "coda clog [-pipe] [-as LOCALUSER] [-host SERVER] [-tofile F] [-fromfile F] [USER][@REALM]\n" +
			"   (the password comes from the terminal, or from stdin when it is not one)",
		Description: `Logs in to the realm's auth service as USER (default: your login name; with -as U and
no USER, U), gets a token (default lifetime 25 hours) and hands it to venus, which binds it
to your local uid: your processes then act as USER in the realm. Root may bind the token to
another local user with -as, so that a daemon's processes act as its Coda user.

-tofile F also saves the token in F (mode 0600); -fromfile F loads a saved token into venus
without contacting the auth service. Venus hands every token to a server before it keeps it:
a forged, damaged, expired or foreign token is refused and the token venus held stays.

Daemons: keep the password of each daemon's Coda user in /etc/coda/auth/USER (root's, mode
0600) and renew its token from cron well within the lifetime, as in the shipped snippet
/usr/share/coda/scripts/coda-clog.cron:

   55 */3 * * *  root  /usr/bin/coda clog -as www-data < /etc/coda/auth/www-data

and run the same line (or coda-clog-init www-data) in the daemon's init script before it
starts. When a token expires, its uid acts as System:AnyUser (typically EACCES); venus logs
"tokens for uid N (USER) expired at …" once and ctokens shows it expired.

A wrong password and an unknown user get the same one-line refusal and exit status 1; venus
is left as it was. The password never appears in a log, a message or the process list.

EXAMPLES:
   coda clog jan
   coda clog -as www-data < /etc/coda/auth/www-data     # from cron or an init script, as root
   cat pass | coda clog -pipe jan@example.org
   coda clog -tofile /root/admin.tok admin
   coda clog -fromfile /root/admin.tok`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "pipe", Destination: &o.Pipe, Usage: "read the password from stdin even on a terminal"},
			&cli.StringFlag{Name: "as", Destination: &o.As, Usage: "bind the token to local user `LOCALUSER` (root only)"},
			&cli.StringFlag{Name: "host", Destination: &o.Host, Usage: "log in at `SERVER` (HOST:PORT) instead of venus's servers"},
			&cli.StringFlag{Name: "tofile", Destination: &o.ToFile, Usage: "also save the token in `FILE` (0600)"},
			&cli.StringFlag{Name: "fromfile", Destination: &o.FromFile, Usage: "load a token saved in `FILE` instead of logging in"},
			&cli.BoolFlag{Name: "q", Destination: &o.Quiet, Usage: "print nothing on success"},
			&cli.StringFlag{Name: "mount", EnvVars: []string{"CODA_MOUNT"}, Destination: &o.Mount,
				Usage: "the venus mount `DIR` to talk to (default /coda)"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 1 {
				return usageErrorf("clog: too many arguments (one USER[@REALM])")
			}
			o.Target = c.Args().First()
			return runClog(c.Context, o, os.Stdin, c.App.Writer)
		},
	}
}

// runClog logs in and hands the token to venus.
func runClog(ctx context.Context, o clogOptions, stdin io.Reader, stdout io.Writer) error {
	var asUID *uint32
	name, realm := splitUserRealm(o.Target)
	if o.As != "" {
		if os.Getuid() != 0 {
			return errors.New("clog: -as is for root only")
		}
		u, err := user.Lookup(o.As)
		if err != nil {
			return fmt.Errorf("clog: no local user %s", o.As)
		}
		n, err := strconv.ParseUint(u.Uid, 10, 32)
		if err != nil {
			return fmt.Errorf("clog: local user %s has uid %s", o.As, u.Uid)
		}
		uid := uint32(n)
		asUID = &uid
		if name == "" {
			name = o.As
		}
	}
	if name == "" && o.FromFile == "" {
		u, err := user.Current()
		if err != nil {
			return fmt.Errorf("clog: who are you? %v (name the user)", err)
		}
		name = u.Username
	}
	vc, info, err := openVenus(ctx, o.Mount, realm)
	if err != nil {
		return fmt.Errorf("clog: %w", err)
	}
	defer vc.Close()
	var tok proto.TokenInfo
	defer func() { clear(tok.Token) }()
	if o.FromFile != "" {
		if tok, err = readTokenFile(o.FromFile); err != nil {
			return fmt.Errorf("clog: %w", err)
		}
	} else {
		pw, err := password.NewReader(stdin, o.Pipe).Read(fmt.Sprintf("Password for %s@%s: ", name, info.Realm))
		if err != nil {
			return fmt.Errorf("clog: %w", err)
		}
		lctx, cancel := context.WithTimeout(ctx, callTimeout)
		defer cancel()
		tok, err = login(lctx, info, o.Host, name, pw)
		clear(pw)
		if err != nil {
			return fmt.Errorf("clog: %w", err)
		}
	}
	if o.ToFile != "" {
		if err := writeTokenFile(o.ToFile, &tok); err != nil {
			return fmt.Errorf("clog: %w", err)
		}
	}
	var st client.TokenReply
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	if err := vc.Call(ctx, client.OpSetToken, client.SetTokenArgs{AsUID: asUID, Token: tok}, &st); err != nil {
		return fmt.Errorf("clog: venus refused the token: %w", err)
	}
	if !o.Quiet {
		fmt.Fprintf(stdout, "%s@%s: token for local user %s, valid until %s\n",
			st.User, st.Realm, st.Local, st.Expires.Local().Format(time.DateTime))
	}
	return nil
}

// login gets a token for name from the auth service.
func login(ctx context.Context, info client.RealmInfo, host, name string, pw []byte) (proto.TokenInfo, error) {
	conn, addr, err := dialServer(ctx, info, host)
	if err != nil {
		return proto.TokenInfo{}, err
	}
	defer conn.Close()
	var tok proto.TokenInfo
	if err := conn.Call(ctx, proto.OpLogin, &proto.Login{User: name, Password: pw}, &tok, nil); err != nil {
		if errors.Is(err, proto.ErrAuth) {
			return tok, fmt.Errorf("%s@%s: %w", name, info.Realm, err)
		}
		return tok, fmt.Errorf("login at %s: %w", addr, err)
	}
	return tok, nil
}

// NewCtokensCommand returns `coda ctokens`.
func NewCtokensCommand() *cli.Command {
	var mount string
	return &cli.Command{
		Name:      "ctokens",
		Category:  "auth",
		Usage:     "list the tokens venus holds for you",
		UsageText: "coda ctokens [@REALM]",
		Description: `Shows the token venus holds for your local uid: the Coda user and when it expires.

EXAMPLES:
   coda ctokens
   sudo -u www-data coda ctokens @example.org`,
		Flags: []cli.Flag{&cli.StringFlag{Name: "mount", EnvVars: []string{"CODA_MOUNT"}, Destination: &mount,
			Usage: "the venus mount `DIR` to talk to (default /coda)"}},
		Action: func(c *cli.Context) error {
			if c.NArg() > 1 {
				return usageErrorf("ctokens: too many arguments")
			}
			return runCtokens(c.Context, mount, c.Args().First(), c.App.Writer)
		},
	}
}

func runCtokens(ctx context.Context, mount, target string, stdout io.Writer) error {
	_, realm := splitUserRealm(target)
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	vc, err := control.DialPath(mount)
	if err != nil {
		return fmt.Errorf("ctokens: %w", err)
	}
	defer vc.Close()
	var toks []client.TokenReply
	if err := vc.Call(ctx, client.OpTokens, nil, &toks); err != nil {
		return fmt.Errorf("ctokens: %w", err)
	}
	uid := os.Getuid()
	fmt.Fprintf(stdout, "Tokens held by the Cache Manager for uid %d (%s):\n", uid, localName(uid))
	n := 0
	for _, t := range toks {
		if realm != "" && t.Realm != realm {
			continue
		}
		n++
		exp := "Expiration time: " + t.Expires.Local().Format(time.ANSIC)
		if t.Expired {
			exp = "Expired at " + t.Expires.Local().Format(time.ANSIC)
		}
		fmt.Fprintf(stdout, "    @%s\n        Coda user id:    %d (%s)\n        %s\n", t.Realm, t.UserID, t.User, exp)
	}
	if n == 0 {
		fmt.Fprintln(stdout, "    none")
	}
	return nil
}

func localName(uid int) string {
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil {
		return u.Username
	}
	return strconv.Itoa(uid)
}

// NewCunlogCommand returns `coda cunlog`.
func NewCunlogCommand() *cli.Command {
	var mount string
	return &cli.Command{
		Name:      "cunlog",
		Category:  "auth",
		Usage:     "discard your tokens",
		UsageText: "coda cunlog [@REALM]",
		Description: `Tells venus to forget the token of your local uid: your processes act as
System:AnyUser from now on.

EXAMPLES:
   coda cunlog
   coda cunlog @example.org`,
		Flags: []cli.Flag{&cli.StringFlag{Name: "mount", EnvVars: []string{"CODA_MOUNT"}, Destination: &mount,
			Usage: "the venus mount `DIR` to talk to (default /coda)"}},
		Action: func(c *cli.Context) error {
			if c.NArg() > 1 {
				return usageErrorf("cunlog: too many arguments")
			}
			return runCunlog(c.Context, mount, c.Args().First())
		},
	}
}

func runCunlog(ctx context.Context, mount, target string) error {
	_, realm := splitUserRealm(target)
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	vc, err := control.DialPath(mount)
	if err != nil {
		return fmt.Errorf("cunlog: %w", err)
	}
	defer vc.Close()
	if realm != "" {
		info, err := realmInfo(ctx, vc)
		if err != nil {
			return fmt.Errorf("cunlog: %w", err)
		}
		if err := checkRealm(realm, info); err != nil {
			return fmt.Errorf("cunlog: %w", err)
		}
	}
	var r client.DropReply
	if err := vc.Call(ctx, client.OpDropTokens, nil, &r); err != nil {
		return fmt.Errorf("cunlog: %w", err)
	}
	return nil
}
