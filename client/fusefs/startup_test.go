package fusefs_test

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coda-fs/coda/client"
	"github.com/coda-fs/coda/client/venus"
	"github.com/coda-fs/coda/client/venustest"
	"github.com/coda-fs/coda/server/bintest"
	"github.com/coda-fs/coda/server/servertest"
)

// clogAdmin logs root in as the realm's admin on the venus mounted at
// mount, with the real clog.
func clogAdmin(t *testing.T, mount string) {
	t.Helper()
	if r := bintest.Run(t, servertest.AdminPassword+"\n", "clog", "-pipe", "--mount", mount, "admin"); r.Code != 0 {
		t.Fatalf("clog admin: exit %d: %s", r.Code, r.Stderr)
	}
}

func venusOpts(t *testing.T, srv *servertest.Server) client.VenusOptions {
	dir := t.TempDir()
	return client.VenusOptions{Realm: srv.Realm, Servers: []string{srv.Addr},
		Mount: filepath.Join(dir, "mnt"), CacheDir: filepath.Join(dir, "cache"),
		Logger: venustest.Logger(t, "venus")}
}

// TestWrongCARefused: a CA file that is not the realm's gets a clear error
// naming the file, quickly.
func TestWrongCARefused(t *testing.T) {
	srv := venustest.NewServer(t)
	other := servertest.Start(t, servertest.Options{Realm: srv.Realm})
	o := venusOpts(t, srv)
	o.CAFile = other.CAFile
	start := time.Now()
	_, err := venustest.Run(t, o)
	if err == nil {
		t.Fatal("venus started with another realm's CA")
	}
	var caErr *venus.CAError
	if !errors.As(err, &caErr) || !strings.Contains(err.Error(), other.CAFile) {
		t.Fatalf("error does not name the pinned CA file %s: %v", other.CAFile, err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("refusal took %v", d)
	}
	t.Logf("venus said: %v", err)
}

// TestTrustOnFirstUsePinsTheCA: without --ca venus pins the CA it first
// sees in the cache directory and refuses a server of another CA later.
func TestTrustOnFirstUsePinsTheCA(t *testing.T) {
	srv := venustest.NewServer(t)
	v := venustest.Start(t, srv, venustest.Options{TOFU: true})
	pinned := filepath.Join(v.CacheDir, venus.PinnedCAFile)
	got, err := os.ReadFile(pinned)
	if err != nil || string(got) != string(srv.CA()) {
		t.Fatalf("pinned CA %s: %v (matches: %v)", pinned, err, string(got) == string(srv.CA()))
	}
	venustest.Sh(t, "echo x > "+v.Path("f"))
	v.Stop()

	impostor := venustest.NewServer(t)
	o := venusOpts(t, impostor)
	o.CacheDir, o.Mount = v.CacheDir, v.Mount
	_, err = venustest.Run(t, o)
	if err == nil || !strings.Contains(err.Error(), pinned) {
		t.Fatalf("a server of another CA was not refused with the pinned file named: %v", err)
	}
	t.Logf("venus said: %v", err)
}

// TestUnreachableServer: a closed port and a server that never answers both
// give a clear error within a few seconds.
func TestUnreachableServer(t *testing.T) {
	srv := venustest.NewServer(t)
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := closed.Addr().String()
	closed.Close()
	for _, addr := range []string{closedAddr, silent.Addr().String()} {
		for _, tofu := range []bool{false, true} {
			o := venusOpts(t, srv)
			o.Servers = []string{addr}
			if !tofu {
				o.CAFile = srv.CAFile
			}
			start := time.Now()
			_, err := venustest.Run(t, o)
			if err == nil {
				t.Fatalf("venus started with server %s unreachable", addr)
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Fatalf("venus took %v to give up on %s", d, addr)
			}
			if !errors.Is(err, syscall.ETIMEDOUT) && !strings.Contains(err.Error(), addr) {
				t.Fatalf("unclear error for %s: %v", addr, err)
			}
			t.Logf("tofu=%v %s: %v", tofu, addr, err)
		}
	}
}

// TestRestartAfterKill: a venus killed with SIGKILL leaves a dead mount;
// the next venus detaches it, removes orphan containers and serves the
// cache without losing or corrupting anything.
func TestRestartAfterKill(t *testing.T) {
	srv := venustest.NewServer(t)
	o := venusOpts(t, srv)
	o.CAFile = srv.CAFile
	cmd := venustest.Command("venus", o.Realm, srv.Addr, o.CAFile, o.Mount, o.CacheDir)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	buf := make([]byte, 6)
	if _, err := stdout.Read(buf); err != nil || string(buf) != "ready\n" {
		t.Fatalf("child venus: %q %v", buf, err)
	}
	root := filepath.Join(o.Mount, o.Realm)
	clogAdmin(t, o.Mount)
	venustest.Sh(t, "for i in 1 2 3; do echo content$i > "+root+"/f$i; cat "+root+"/f$i >/dev/null; done")
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	if _, err := os.Stat(o.Mount); !errors.Is(err, syscall.ENOTCONN) {
		t.Fatalf("after kill -9 the mount point stats %v, want ENOTCONN", err)
	}
	orphan := filepath.Join(o.CacheDir, "containers", "00000000deadbeef")
	if err := os.WriteFile(orphan, []byte("orphan"), 0o600); err != nil {
		t.Fatal(err)
	}
	v, err := venustest.Run(t, o)
	if err != nil {
		t.Fatalf("venus did not start after a kill: %v", err)
	}
	out := venustest.Sh(t, "cat "+root+"/f1 "+root+"/f2 "+root+"/f3")
	if out != "content1\ncontent2\ncontent3\n" {
		t.Fatalf("after restart read %q", out)
	}
	if _, err := os.Stat(orphan); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("orphan container not removed: %v", err)
	}
	_ = v
}

// runVenusHelper runs venus in a child process (args: realm, server, CA
// file, mount, cache) and prints "ready" once mounted; it runs until killed.
func runVenusHelper(args []string) error {
	ready := make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		errc <- client.RunVenus(context.Background(), client.VenusOptions{Realm: args[0],
			Servers: []string{args[1]}, CAFile: args[2], Mount: args[3], CacheDir: args[4],
			Ready: func() { close(ready) }})
	}()
	select {
	case <-ready:
		os.Stdout.WriteString("ready\n")
	case err := <-errc:
		return err
	}
	return <-errc
}

// TestStopWhileBusy: stopping venus while a process holds a file open
// detaches the mount and returns in bounded time.
func TestStopWhileBusy(t *testing.T) {
	srv := venustest.NewServer(t)
	v := venustest.Start(t, srv, venustest.Options{})
	venustest.Sh(t, "echo x > "+v.Path("f"))
	h, _ := startHolder(t, v.Path("f"))
	start := time.Now()
	v.Stop()
	if d := time.Since(start); d > 15*time.Second {
		t.Fatalf("stopping a busy venus took %v", d)
	}
	h.stdin.Close()
	h.cmd.Wait()
	if out := venustest.Sh(t, "ls "+v.Mount); out != "" {
		t.Fatalf("the mount point still shows %q", out)
	}
}
