package dbsync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/coda-fs/coda/server/proto"
	"github.com/coda-fs/coda/server/rpc"
)

// DB is a realm database that can be copied.
type DB interface {
	// Name is the database's name, unique in the realm.
	Name() string
	// Version is the current version; it only grows.
	Version() uint64
	// Snapshot returns the current content and version.
	Snapshot() proto.DBSnapshot
	// Install replaces the content with data at version (newer than the
	// current one); a failure changes nothing.
	Install(version uint64, data []byte) error
}

// Fetch answers a DBFetch from dbs: every database newer than the asker's.
// The caller checks that the asker may see them.
func Fetch(dbs []DB, req *proto.DBFetch) (*proto.DBFetchReply, error) {
	have := make(map[string]uint64, len(req.Have))
	for _, h := range req.Have {
		have[h.Name] = h.Version
	}
	var out proto.DBFetchReply
	for _, db := range dbs {
		if db.Version() <= have[db.Name()] {
			continue
		}
		s := db.Snapshot()
		if len(s.Data) > proto.MaxDBPayload {
			return nil, proto.Errorf(proto.CodeInvalid, fmt.Sprintf("realm database %s is %d bytes, more than a copy carries (%d)",
				s.Name, len(s.Data), proto.MaxDBPayload))
		}
		out.DBs = append(out.DBs, s)
	}
	return &out, nil
}

// Follower copies the SCM's databases into DBs.
type Follower struct {
	DBs []DB
	// Dial connects to the SCM as an administrator.
	Dial func(ctx context.Context) (*rpc.Conn, error)
	// SCM names the SCM in log lines.
	SCM string
	// Interval between fetches (default 1 s).
	Interval time.Duration
	// CallTimeout bounds one fetch (default 10 s).
	CallTimeout time.Duration
	Logger      *slog.Logger
	// Synced, when set, is called after every fetch that succeeded.
	Synced func()
}

// Run fetches until ctx ends. A failure is logged when it starts and when
// it ends, not at every attempt.
func (f *Follower) Run(ctx context.Context) {
	interval, timeout, log := f.Interval, f.CallTimeout, f.Logger
	if interval <= 0 {
		interval = time.Second
	}
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var conn *rpc.Conn
	defer func() {
		if conn != nil {
			conn.Close()
		}
	}()
	var failing error
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		var err error
		if conn == nil || conn.Err() != nil {
			if conn != nil {
				conn.Close()
			}
			dctx, cancel := context.WithTimeout(ctx, timeout)
			conn, err = f.Dial(dctx)
			cancel()
		}
		if err == nil {
			err = f.fetch(ctx, conn, timeout, log)
		}
		switch {
		case ctx.Err() != nil:
			return
		case err != nil && failing == nil:
			log.Warn("realm databases: cannot copy from the SCM; serving the copy held", "scm", f.SCM, "err", err)
		case err == nil && failing != nil:
			log.Info("realm databases: copying from the SCM again", "scm", f.SCM)
		}
		failing = err
		if err == nil && f.Synced != nil {
			f.Synced()
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// fetch asks once and installs what came.
func (f *Follower) fetch(ctx context.Context, conn *rpc.Conn, timeout time.Duration, log *slog.Logger) error {
	req := proto.DBFetch{Have: make([]proto.DBVersion, len(f.DBs))}
	byName := make(map[string]DB, len(f.DBs))
	for i, db := range f.DBs {
		req.Have[i] = proto.DBVersion{Name: db.Name(), Version: db.Version()}
		byName[db.Name()] = db
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var reply proto.DBFetchReply
	if err := conn.Call(cctx, proto.OpDBFetch, &req, &reply, nil); err != nil {
		return err
	}
	var errs []string
	for _, s := range reply.DBs {
		db := byName[s.Name]
		if db == nil {
			continue // a database this server does not know yet (a newer SCM)
		}
		if err := db.Install(s.Version, s.Data); err != nil {
			// The others are independent: install them anyway.
			errs = append(errs, fmt.Sprintf("install %s version %d: %v", s.Name, s.Version, err))
			continue
		}
		log.Debug("realm database copied", "db", s.Name, "version", s.Version)
	}
	if errs != nil {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}
