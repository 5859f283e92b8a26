package client

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"syscall"

	"github.com/coda-fs/coda/client/control"
	"github.com/coda-fs/coda/client/fusefs"
	"github.com/coda-fs/coda/client/venus"
	"github.com/coda-fs/coda/server/metrics"
)

// RunVenus runs the cache manager: it opens the cache, reaches a server of
// the realm, mounts Mount (the realm appears as Mount/Realm) and serves
// until ctx is cancelled, then unmounts. A dead mount left at Mount by a
// crashed venus is detached first.
func RunVenus(ctx context.Context, o VenusOptions) error {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	syscall.Umask(0) // containers and the mount get exactly the modes asked for
	if cleaned, err := fusefs.CleanDeadMount(o.Mount); err != nil {
		return err
	} else if cleaned {
		log.Warn("detached a dead mount left by an earlier venus", "mount", o.Mount)
	}
	if err := os.MkdirAll(o.Mount, 0o755); err != nil {
		return fmt.Errorf("mount point: %w", err)
	}
	if err := os.MkdirAll(o.CacheDir, 0o700); err != nil {
		return fmt.Errorf("cache: %w", err)
	}
	noPT := o.NoPassthrough
	if fsName := venus.StackedFS(o.CacheDir); fsName != "" {
		log.Warn("the cache directory is on a stacked file system; FUSE passthrough cannot use it, "+
			"so venus serves reads and writes itself (slower): put --cache on ext4, xfs, btrfs or tmpfs",
			"cache", o.CacheDir, "fs", fsName)
		noPT = true
	}
	if o.InitCache {
		cp, err := venus.InitCache(o.CacheDir, o.ForceInit, log)
		if err != nil {
			return fmt.Errorf("venus --init: %w", err)
		}
		if cp != "" {
			log.Warn("pending changes dropped from the cache; a checkpoint of them is kept", "checkpoint", cp)
		}
		log.Info("cache emptied", "cache", o.CacheDir)
	}
	v, err := venus.New(ctx, venus.Options{Realm: o.Realm, Servers: o.Servers, CacheDir: o.CacheDir,
		CacheSize: o.CacheSize, CAFile: o.CAFile, Logger: log})
	if err != nil {
		return err
	}
	defer v.Close()
	if err := v.Connect(ctx); err != nil {
		return err
	}
	if o.Metrics != "" {
		host, _, err := net.SplitHostPort(o.Metrics)
		if err != nil {
			return fmt.Errorf("--metrics %s: %w", o.Metrics, err)
		}
		cfg, err := metrics.SelfSigned(o.CacheDir, host)
		if err != nil {
			return err
		}
		var reg metrics.Registry
		reg.Register(v.Collect)
		if err := metrics.Serve(ctx, o.Metrics, cfg, &reg, log); err != nil {
			return err
		}
	}
	m, err := fusefs.New(o.Mount, v, fusefs.Options{Logger: log, NoPassthrough: noPT, BusyWait: o.UnmountWait})
	if err != nil {
		return err
	}
	sock := o.ControlSocket
	if sock == "" {
		sock = control.SocketPath(realPath(o.Mount))
	}
	ctl, err := control.Listen(sock, controlHandler(v), log)
	if err != nil {
		_ = m.Unmount()
		return err
	}
	defer ctl.Close()
	log.Info("venus serving", "realm", o.Realm, "mount", o.Mount, "control", sock, "passthrough", m.Passthrough())
	if o.Started != nil {
		o.Started(v)
	}
	if o.Ready != nil {
		o.Ready()
	}
	gone := make(chan struct{})
	go func() { m.Wait(); close(gone) }()
	select {
	case <-ctx.Done():
		if err := m.Unmount(); err != nil {
			return fmt.Errorf("unmount %s: %w", o.Mount, err)
		}
		return nil
	case <-gone:
		return fmt.Errorf("%s was unmounted from outside venus", o.Mount)
	}
}

// realPath is p absolute with its symlinks evaluated, as the kernel shows
// a mount point in mountinfo (which is how tools find the control socket).
func realPath(p string) string {
	if abs, err := filepath.Abs(p); err == nil {
		p = abs
	}
	if r, err := filepath.EvalSymlinks(p); err == nil {
		return r
	}
	return p
}
