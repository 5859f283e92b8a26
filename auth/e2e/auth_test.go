package e2e

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coda-fs/coda/server/bintest"
)

// wwwData is the local daemon user of the tests (Debian's www-data).
const (
	wwwData  = "www-data"
	asWWW    = "setpriv --reuid=33 --regid=33 --clear-groups "
	asNobody = "setpriv --reuid=65534 --regid=65534 --clear-groups "
)

// sh runs script with bash and returns its combined output and error.
func sh(script string, env ...string) (string, error) {
	cmd := exec.Command("bash", "-c", script)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func mustSh(t *testing.T, script string, env ...string) string {
	t.Helper()
	out, err := sh(script, env...)
	if err != nil {
		t.Fatalf("%s: %v\n%s", script, err, out)
	}
	return out
}

// denied runs script, which must fail with "Permission denied".
func denied(t *testing.T, script string) {
	t.Helper()
	out, err := sh(script)
	if err == nil || !strings.Contains(out, "Permission denied") {
		t.Errorf("%s: %v %q, want Permission denied", script, err, out)
	}
}

// openPath lets other local users reach dir through the test's temp dirs.
func openPath(dir string) {
	for d := filepath.Dir(dir); d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
		os.Chmod(d, 0o755)
	}
}

// newUser creates a Coda user with a password and returns its id.
func newUser(t *testing.T, c *bintest.Cell, name, password string) int {
	t.Helper()
	out := c.Admin("pdbtool", "nu", name)
	var id int
	if _, err := fmt.Sscanf(out, "created user "+name+" (id %d)", &id); err != nil {
		t.Fatalf("pdbtool nu %s said %q", name, out)
	}
	c.AdminIn(password+"\n"+password+"\n", "au", "nu", name)
	return id
}

// wwwDir makes directory www owned by Coda user id (www-data) with the ACL
// entry www-data rlidw, as root after running first (if not empty).
func wwwDir(t *testing.T, v *bintest.Venus, id int, first string) string {
	t.Helper()
	d := filepath.Join(v.Root, "www")
	script := fmt.Sprintf("mkdir %s && chown %d %s && %s cfs sa %s www-data rlidw", d, id, d, bin(t), d)
	if first != "" {
		script = first + " && " + script
	}
	mustSh(t, script)
	return d
}

// bin is the coda binary.
func bin(t *testing.T) string { return bintest.Binary(t) }

// oneLine checks that a failed command printed one "coda: …" line holding
// want, and nothing that looks like secret.
func oneLine(t *testing.T, what string, r bintest.Result, want, secret string) {
	t.Helper()
	if r.Code == 0 {
		t.Errorf("%s: exit 0, want failure", what)
	}
	if !strings.HasPrefix(r.Stderr, "coda: ") || strings.Count(r.Stderr, "\n") != 1 || !strings.Contains(r.Stderr, want) {
		t.Errorf("%s: stderr %q, want one line with %q", what, r.Stderr, want)
	}
	if secret != "" && (strings.Contains(r.Stderr, secret) || strings.Contains(r.Stdout, secret)) {
		t.Errorf("%s: the password appears in the output", what)
	}
}

// TestCronLineAsWwwData runs the operators' cron line as written, as root:
// the daemon user then creates files where its ACL entry says rlidw, and
// gets EACCES where it has only rl and where a negative entry takes the
// insert right away.
func TestCronLineAsWwwData(t *testing.T) {
	c := bintest.NewCell(t, bintest.CellOptions{})
	v := c.Venus("client")
	openPath(v.Mount)
	id := newUser(t, c, wwwData, "www-secret")
	authDir := filepath.Join(c.Dir, "etc/coda/auth")
	if err := os.MkdirAll(authDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(authDir, wwwData), []byte("www-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := func(name string) string { return filepath.Join(v.Root, name) }
	// The daemon owns all three directories, so the mode bits let it in
	// everywhere: only the ACLs differ.
	mustSh(t, fmt.Sprintf("mkdir %s %s %s && chown %d %s %s %s", p("rw"), p("ro"), p("neg"), id, p("rw"), p("ro"), p("neg")))
	for _, args := range [][]string{
		{"sa", p("rw"), wwwData, "rlidw"},
		{"sa", p("ro"), wwwData, "rl"},
		{"sa", p("neg"), wwwData, "rlidw"},
		{"sa", "-negative", p("neg"), wwwData, "i"},
	} {
		if r := bintest.Run(t, "", append([]string{"cfs"}, args...)...); r.Code != 0 {
			t.Fatalf("cfs %v: %s", args, r.Stderr)
		}
	}
	// The cron line as shipped in scripts/, run as root; only the paths
	// of the binary, the password directory and the mount are the test's.
	out := mustSh(t, cronCommand(t, authDir), "CODA_MOUNT="+v.Mount)
	if !strings.Contains(out, "www-data@"+c.Realm) {
		t.Errorf("clog said %q", out)
	}
	mustSh(t, asWWW+"sh -c 'echo page > "+p("rw/index.html")+"'")
	if got := mustSh(t, "stat -c %u "+p("rw/index.html")); got != strconv.Itoa(id)+"\n" {
		t.Errorf("www-data's file is owned by %q, want Coda user %d", got, id)
	}
	if got := mustSh(t, asWWW+"cat "+p("rw/index.html")); got != "page\n" {
		t.Errorf("www-data reads %q", got)
	}
	denied(t, asWWW+"touch "+p("ro/index.html"))
	denied(t, asWWW+"touch "+p("neg/index.html"))
	denied(t, asNobody+"touch "+p("rw/nobody")) // no token: System:AnyUser
	la := mustSh(t, bin(t)+" cfs la "+p("neg"))
	if !strings.Contains(la, "Negative rights:") || !strings.Contains(la, "www-data") {
		t.Errorf("cfs la %s:\n%s", p("neg"), la)
	}
	// ctokens as the daemon shows its token.
	if got := mustSh(t, asWWW+bin(t)+" ctokens --mount "+v.Mount); !strings.Contains(got, "(www-data)") || strings.Contains(got, "Expired") {
		t.Errorf("ctokens as www-data:\n%s", got)
	}
}

// cronCommand returns the command of the shipped cron snippet's line,
// with the binary and the password directory moved to the test's.
func cronCommand(t *testing.T, authDir string) string {
	t.Helper()
	raw, err := os.ReadFile("../../scripts/auth/coda-clog.cron")
	if err != nil {
		t.Fatal(err)
	}
	const want = "@PREFIX@/bin/coda clog -as www-data < /etc/coda/auth/www-data" // install.sh fills in PREFIX
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "" {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 7 || f[5] != "root" {
			t.Fatalf("cron line %q: want five time fields, root, a command", line)
		}
		cmd := strings.Join(f[6:], " ")
		if cmd != want {
			t.Fatalf("the cron snippet runs %q, want %q", cmd, want)
		}
		cmd = strings.Replace(cmd, "@PREFIX@/bin/coda", bin(t), 1)
		return strings.Replace(cmd, "/etc/coda/auth", authDir, 1)
	}
	t.Fatal("no line in the cron snippet")
	return ""
}

// TestInitHook: scripts/auth/coda-clog-init logs a daemon in from its
// password file, and refuses a password file others can read.
func TestInitHook(t *testing.T) {
	c := bintest.NewCell(t, bintest.CellOptions{})
	v := c.Venus("client")
	newUser(t, c, wwwData, "www-secret")
	authDir := filepath.Join(c.Dir, "auth")
	os.MkdirAll(authDir, 0o700)
	pw := filepath.Join(authDir, wwwData)
	os.WriteFile(pw, []byte("www-secret\n"), 0o644)
	env := []string{"CODA_AUTH_DIR=" + authDir, "CODA_BIN=" + bin(t), "CODA_MOUNT=" + v.Mount, "CODA_CLOG_WAIT=5"}
	hook := "../../scripts/auth/coda-clog-init www-data"
	if out, err := sh(hook, env...); err == nil || !strings.Contains(out, "mode 0600") {
		t.Errorf("hook with a 0644 password file: %v %q", err, out)
	}
	os.Chmod(pw, 0o600)
	mustSh(t, hook, env...)
	if got := mustSh(t, asWWW+bin(t)+" ctokens --mount "+v.Mount); !strings.Contains(got, "(www-data)") {
		t.Errorf("ctokens as www-data after the hook:\n%s", got)
	}
}

// TestClogRefusals: a wrong password, an unknown user and -as from a
// non-root user each fail with one clear line, and venus keeps the token
// it had.
func TestClogRefusals(t *testing.T) {
	c := bintest.NewCell(t, bintest.CellOptions{})
	v := c.Venus("client")
	openPath(v.Mount)
	newUser(t, c, "alice", "alice-secret")
	before := mustSh(t, bin(t)+" ctokens --mount "+v.Mount)

	r := bintest.Run(t, "not-the-password\n", "clog", "-pipe", "--mount", v.Mount, "alice")
	oneLine(t, "wrong password", r, "login failed", "not-the-password")
	r = bintest.Run(t, "whatever-secret\n", "clog", "-pipe", "--mount", v.Mount, "nosuchuser")
	oneLine(t, "unknown user", r, "login failed", "whatever-secret")
	if after := mustSh(t, bin(t)+" ctokens --mount "+v.Mount); after != before {
		t.Errorf("a failed clog changed venus's tokens:\n%s\nbefore:\n%s", after, before)
	}
	mustSh(t, "touch "+filepath.Join(v.Root, "still-admin"))

	out, err := sh(asNobody + bin(t) + " clog -as www-data --mount " + v.Mount + " alice <<< alice-secret")
	if err == nil || !strings.Contains(out, "for root only") || strings.Count(out, "\n") != 1 {
		t.Errorf("clog -as by nobody: %v %q", err, out)
	}
	if got := mustSh(t, bin(t)+" ctokens --mount "+v.Mount); got != before {
		t.Errorf("a refused clog -as changed root's tokens:\n%s", got)
	}
	// No password reaches a log, right or wrong.
	for _, log := range []string{c.Server.LogFile, v.Log} {
		b, _ := os.ReadFile(log)
		for _, pw := range []string{"not-the-password", "whatever-secret", "alice-secret", bintest.AdminPassword} {
			if bytes.Contains(b, []byte(pw)) {
				t.Errorf("%s holds a password", log)
			}
		}
	}
}

// TestTokenExpiry: with a 3 s token lifetime, a daemon's token runs out:
// its writes get EACCES, venus logs the expiry once, ctokens says
// expired; a new clog restores access with nothing restarted.
func TestTokenExpiry(t *testing.T) {
	c := bintest.NewCell(t, bintest.CellOptions{ServerArgs: []string{"--token-lifetime", "3s"}})
	v := c.Venus("client")
	openPath(v.Mount)
	id := newUser(t, c, wwwData, "www-secret")
	// The admin's token is short-lived too: log in again, then set up at
	// once.
	d := wwwDir(t, v, id, fmt.Sprintf("%s clog -pipe --mount %s admin <<< %s", bin(t), v.Mount, bintest.AdminPassword))
	clog := fmt.Sprintf("%s clog -as www-data --mount %s <<< www-secret", bin(t), v.Mount)
	mustSh(t, clog)
	mustSh(t, asWWW+"touch "+d+"/before")

	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(mustSh(t, asWWW+bin(t)+" ctokens --mount "+v.Mount), "Expired at") {
		if time.Now().After(deadline) {
			t.Fatal("ctokens never says the token expired")
		}
		time.Sleep(100 * time.Millisecond) // poll the token's state
	}
	denied(t, asWWW+"touch "+d+"/after1")
	denied(t, asWWW+"touch "+d+"/after2")
	log, _ := os.ReadFile(v.Log)
	line := "tokens for uid 33 (www-data) expired at"
	if n := bytes.Count(log, []byte(line)); n != 1 {
		t.Errorf("venus logged %q %d times, want once:\n%s", line, n, log)
	}
	mustSh(t, clog)
	mustSh(t, asWWW+"touch "+d+"/again")
}

// TestSavedTokens: -tofile writes a 0600 token file that -fromfile loads
// into venus without the auth service; a token file with one bit changed
// is refused by the server, and venus keeps the good token.
func TestSavedTokens(t *testing.T) {
	c := bintest.NewCell(t, bintest.CellOptions{})
	v := c.Venus("client")
	openPath(v.Mount)
	id := newUser(t, c, wwwData, "www-secret")
	d := wwwDir(t, v, id, "")
	tokFile := filepath.Join(c.Dir, "www.tok")
	mustSh(t, fmt.Sprintf("%s clog -pipe -tofile %s --mount %s www-data <<< www-secret", bin(t), tokFile, v.Mount))
	st, err := os.Stat(tokFile)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("token file: %v %v, want mode 0600", st.Mode(), err)
	}
	// Root now acts as www-data; load the saved token for the daemon too.
	mustSh(t, fmt.Sprintf("%s clog -as www-data -fromfile %s --mount %s", bin(t), tokFile, v.Mount))
	mustSh(t, asWWW+"touch "+d+"/loaded")

	raw, _ := os.ReadFile(tokFile)
	lines := strings.SplitN(strings.TrimSpace(string(raw)), "\n", 2)
	b, err := base64.StdEncoding.DecodeString(lines[len(lines)-1])
	if err != nil {
		t.Fatalf("token file %q: %v", raw, err)
	}
	b[10] ^= 0x20 // inside the sealed token, after its length
	bad := filepath.Join(c.Dir, "bad.tok")
	os.WriteFile(bad, []byte(lines[0]+"\n"+base64.StdEncoding.EncodeToString(b)+"\n"), 0o600)
	r := bintest.Run(t, "", "clog", "-as", "www-data", "-fromfile", bad, "--mount", v.Mount)
	oneLine(t, "tampered token file", r, "clog:", "")
	mustSh(t, asWWW+"touch "+d+"/still")
}

// TestCpasswdNamesDeadSCM: cpasswd against a stopped SCM fails with one
// line naming it.
func TestCpasswdNamesDeadSCM(t *testing.T) {
	c := bintest.NewCell(t, bintest.CellOptions{})
	v := c.Venus("client")
	newUser(t, c, "alice", "alice-secret")
	r := bintest.Run(t, "alice-secret\nnew-secret\nnew-secret\n", "cpasswd", "-pipe", "--mount", v.Mount, "alice")
	if r.Code != 0 {
		t.Fatalf("cpasswd with the SCM up: %s", r.Stderr)
	}
	if r := bintest.Run(t, "new-secret\n", "clog", "-pipe", "--mount", v.Mount, "alice"); r.Code != 0 {
		t.Fatalf("clog with the new password: %s", r.Stderr)
	}
	c.Server.Stop()
	r = bintest.Run(t, "new-secret\nnewer-secret\nnewer-secret\n", "cpasswd", "-pipe", "--mount", v.Mount, "alice")
	oneLine(t, "cpasswd with the SCM down", r, c.Addr, "new-secret")
}

// TestAdminToolsAndCunlog: au changes and deletes passwords, pdbtool
// exports and re-imports the database, clog -host logs in at a named
// server, and cunlog drops the caller's token.
func TestAdminToolsAndCunlog(t *testing.T) {
	c := bintest.NewCell(t, bintest.CellOptions{})
	v := c.Venus("client")
	newUser(t, c, "alice", "alice-secret")
	clog := func(user, pw string) bintest.Result {
		return bintest.Run(t, pw+"\n", "clog", "-pipe", "-host", c.Addr, "--mount", v.Mount, user)
	}
	c.AdminIn("second-secret\nsecond-secret\n", "au", "cp", "alice")
	if r := clog("alice", "alice-secret"); r.Code == 0 {
		t.Error("the old password still works after au cp")
	}
	if r := clog("alice", "second-secret"); r.Code != 0 {
		t.Errorf("the new password fails after au cp: %s", r.Stderr)
	}
	c.Admin("au", "du", "alice")
	oneLine(t, "clog after au du", clog("alice", "second-secret"), "login failed", "second-secret")

	export := filepath.Join(c.Dir, "pdb.txt")
	c.Admin("pdbtool", "ng", "admin:web", "admin")
	c.Admin("pdbtool", "export", export)
	c.Admin("pdbtool", "d", "admin:web")
	c.Admin("pdbtool", "import", export)
	if info := c.Admin("pdbtool", "i", "admin:web"); !strings.Contains(info, "admin:web") {
		t.Errorf("group lost by export and import:\n%s", info)
	}

	// Root is alice; cunlog makes it anonymous.
	mustSh(t, bin(t)+" cunlog --mount "+v.Mount)
	if got := mustSh(t, bin(t)+" ctokens --mount "+v.Mount); !strings.Contains(got, "none") {
		t.Errorf("ctokens after cunlog:\n%s", got)
	}
	denied(t, "touch "+filepath.Join(v.Root, "anonymous"))
}
