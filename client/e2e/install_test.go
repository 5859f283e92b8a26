package e2e

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coda-fs/coda/server/bintest"
)

// unitLine returns the value of key (ExecStart, ExecReload…) in a unit.
func unitLine(t *testing.T, unit, key string) string {
	t.Helper()
	f, err := os.Open(unit)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), key+"="); ok {
			return v
		}
	}
	t.Fatalf("%s has no %s", unit, key)
	return ""
}

// TestInstallAndServices: make install into a temporary DESTDIR, then the
// operator's day from the docs alone — a server and a venus started by
// their units' ExecStart command lines as written (the binary's path
// under DESTDIR; the settings from server.conf and venus.conf, named by
// CODA_SERVER_CONFIG and CODA_VENUS_CONFIG), each telling systemd it is
// ready (Type=notify: venus only once the mount answers), clog through
// the installed busybox name, the mount used, ExecReload (SIGHUP), and
// stop by the units' KillSignal with a clean unmount. systemd-analyze
// verify checks the installed units when it is there.
func TestInstallAndServices(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dest := t.TempDir()
	if out, err := exec.Command("make", "-C", root, "--no-print-directory", "install", "DESTDIR="+dest, "PREFIX=/usr").CombinedOutput(); err != nil {
		t.Fatalf("make install: %v\n%s", err, out)
	}
	bin := filepath.Join(dest, "usr/bin/coda")
	units := filepath.Join(dest, "usr/lib/systemd/system")
	for _, f := range []string{"usr/bin/cfs", "usr/bin/clog", "usr/share/man/man8/venus.8", "usr/share/man/man5/server.conf.5",
		"usr/share/bash-completion/completions/coda", "usr/share/coda/scripts/coda-backup", "etc/coda/venus.conf.example", "usr/share/coda/logrotate/coda",
		"usr/lib/systemd/system/coda-server.service", "usr/lib/systemd/system/coda-venus.service"} {
		if _, err := os.Stat(filepath.Join(dest, f)); err != nil {
			t.Fatalf("make install did not install %s: %v", f, err)
		}
	}
	if sa, err := exec.LookPath("systemd-analyze"); err == nil {
		// Verify copies whose commands point into DESTDIR (verify checks
		// that each command exists).
		vdir := t.TempDir()
		ents, _ := os.ReadDir(units)
		var names []string
		for _, e := range ents {
			b, _ := os.ReadFile(filepath.Join(units, e.Name()))
			b = []byte(strings.ReplaceAll(strings.ReplaceAll(string(b), "/usr/bin/coda", bin), "/usr/share/coda", filepath.Join(dest, "usr/share/coda")))
			os.WriteFile(filepath.Join(vdir, e.Name()), b, 0o644)
			if !strings.Contains(e.Name(), "@") {
				names = append(names, e.Name())
			}
		}
		cmd := exec.Command(sa, append([]string{"verify", "--man=no"}, append(names, "coda-clog@www-data.service")...)...)
		cmd.Dir = vdir
		if out, err := cmd.CombinedOutput(); err != nil || len(out) != 0 {
			t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
		}
	}

	// systemd's side of Type=notify: a datagram socket.
	notify := filepath.Join(t.TempDir(), "notify")
	nl, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: notify, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer nl.Close()
	waitNotify := func(what string) {
		t.Helper()
		nl.SetReadDeadline(time.Now().Add(30 * time.Second))
		buf := make([]byte, 256)
		n, err := nl.Read(buf)
		if err != nil || string(buf[:n]) != "READY=1" {
			t.Fatalf("%s never said READY=1: %q %v", what, buf[:n], err)
		}
	}
	// start runs a unit's ExecStart as written, under DESTDIR.
	start := func(unit string, env ...string) *exec.Cmd {
		t.Helper()
		line := unitLine(t, filepath.Join(units, unit), "ExecStart")
		args := strings.Fields(strings.Replace(line, "/usr/bin/coda", bin, 1))
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Env = append(os.Environ(), append(env, "NOTIFY_SOCKET="+notify)...)
		cmd.Stderr, _ = os.Create(filepath.Join(dest, unit+".log"))
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		waitNotify(unit)
		return cmd
	}
	stop := func(unit string, cmd *exec.Cmd) {
		t.Helper()
		if sig := unitLine(t, filepath.Join(units, unit), "KillSignal"); sig != "SIGTERM" {
			t.Fatalf("%s stops with %s", unit, sig)
		}
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				b, _ := os.ReadFile(filepath.Join(dest, unit+".log"))
				t.Fatalf("%s exited with %v:\n%s", unit, err, b)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("%s did not stop on SIGTERM", unit)
		}
	}
	reload := func(unit string, cmd *exec.Cmd) {
		t.Helper()
		line := unitLine(t, filepath.Join(units, unit), "ExecReload")
		args := strings.Fields(strings.ReplaceAll(line, "$MAINPID", strconv.Itoa(cmd.Process.Pid)))
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s ExecReload: %v %s", unit, err, out)
		}
	}

	// The file server, from server.conf.
	run := func(stdin string, args ...string) string {
		t.Helper()
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	work := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	data, addr := filepath.Join(work, "vice"), l.Addr().String()
	l.Close()
	run(bintest.AdminPassword+"\n", bin, "server", "init", "--data", data, "--realm", realm, "--id", "1", "--listen", addr)
	serverConf := filepath.Join(work, "server.conf")
	os.WriteFile(serverConf, []byte("vicedir="+data+"\nlog-file="+filepath.Join(work, "server.log")+"\n"), 0o644)
	srv := start("coda-server.service", "CODA_SERVER_CONFIG="+serverConf)
	run("", filepath.Join(dest, "usr/bin/createvol_rep"), "--key", filepath.Join(data, "db/volutil.key"), "coda.root", addr)

	// venus, from venus.conf; its mount answers once systemd hears READY.
	mnt := filepath.Join(work, "coda")
	venusConf := filepath.Join(work, "venus.conf")
	os.WriteFile(venusConf, []byte("realm="+realm+"\nservers="+addr+"\nmountpoint="+mnt+"\ncachedir="+filepath.Join(work, "cache")+
		"\nca="+filepath.Join(data, "db/ca.pem")+"\ncontrol="+filepath.Join(work, "venus.sock")+"\n"), 0o644)
	ven := start("coda-venus.service", "CODA_VENUS_CONFIG="+venusConf)
	t.Cleanup(func() { // after the kill of a failed run: no dead mount left behind
		if b, _ := os.ReadFile("/proc/mounts"); strings.Contains(string(b), " "+mnt+" ") {
			exec.Command("umount", "-l", mnt).Run()
		}
	})
	tree := filepath.Join(mnt, realm)
	if _, err := os.Stat(tree); err != nil {
		t.Fatalf("the mount does not answer once venus is ready: %v", err)
	}
	ctl := "CODA_CONTROL=" + filepath.Join(work, "venus.sock")
	clog := exec.Command(filepath.Join(dest, "usr/bin/clog"), "-pipe", "admin")
	clog.Stdin, clog.Env = strings.NewReader(bintest.AdminPassword+"\n"), append(os.Environ(), ctl)
	if out, err := clog.CombinedOutput(); err != nil {
		t.Fatalf("clog: %v\n%s", err, out)
	}
	if err := os.WriteFile(filepath.Join(tree, "hello"), []byte("from the units\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(tree, "hello")); err != nil || string(b) != "from the units\n" {
		t.Fatalf("reading back: %q %v", b, err)
	}
	reload("coda-server.service", srv)
	reload("coda-venus.service", ven)
	stop("coda-venus.service", ven)
	if b, _ := os.ReadFile("/proc/mounts"); strings.Contains(string(b), " "+mnt+" ") {
		t.Fatal("venus stopped but left its mount")
	}
	stop("coda-server.service", srv)
	if b, _ := os.ReadFile(filepath.Join(work, "server.log")); !strings.Contains(string(b), "log file reopened") {
		t.Fatalf("the server's log does not show the reload:\n%s", b)
	}
}
