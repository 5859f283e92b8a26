package server

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coda-fs/coda/auth/authserver"
	"github.com/coda-fs/coda/server/adminclient"
	"github.com/coda-fs/coda/server/dbsync"
	"github.com/coda-fs/coda/server/fileserver"
	"github.com/coda-fs/coda/server/location"
	"github.com/coda-fs/coda/server/metrics"
	"github.com/coda-fs/coda/server/pki"
	"github.com/coda-fs/coda/server/proto"
	"github.com/coda-fs/coda/server/realmdb"
	"github.com/coda-fs/coda/server/rpc"
	"github.com/coda-fs/coda/server/store"
	"github.com/coda-fs/coda/server/volume"
)

// The data directory:
//
//	DIR/db/identity      realm, server id, listen address, root volume name,
//	                     and the SCM's address on every other server
//	DIR/db/ca.pem        the realm CA certificate (public)
//	DIR/db/ca.key        the realm CA key (SCM only, 0600)
//	DIR/db/server.pem    this server's certificate, signed by the realm CA
//	DIR/db/server.key    its key (0600)
//	DIR/db/volutil.key   the realm's admin key (0600)
//	DIR/db/realm.secret  the realm secret other servers join with (0600)
//	DIR/store/           Pebble metadata and container files (package store)
const (
	identityFile = "identity"
	storeDir     = "store"
)

// firstSyncWait bounds how long a starting server waits for its first copy
// of the realm databases before it serves.
const firstSyncWait = 3 * time.Second

// DefaultRootVolume is the name of the realm's root volume.
const DefaultRootVolume = "coda.root"

// identity is what init records about this server.
type identity struct {
	Realm      string
	ID         uint32
	Listen     string
	RootVolume string
	SCM        string // HOST:PORT of the SCM; empty on the SCM itself
}

func (id identity) encode() []byte {
	b := fmt.Appendf(nil, "# written by coda server init; do not edit\nrealm=%s\nid=%d\nlisten=%s\nroot-volume=%s\n",
		id.Realm, id.ID, id.Listen, id.RootVolume)
	if id.SCM != "" {
		b = fmt.Appendf(b, "scm=%s\n", id.SCM)
	}
	return b
}

func readIdentity(dir string) (identity, error) {
	path := filepath.Join(dir, "db", identityFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return identity{}, fmt.Errorf("%s is not a coda data directory (no db/%s); run coda server init first", dir, identityFile)
	}
	if err != nil {
		return identity{}, err
	}
	var id identity
	sc := bufio.NewScanner(bytes.NewReader(b))
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || text[0] == '#' {
			continue
		}
		k, v, ok := strings.Cut(text, "=")
		if !ok {
			return identity{}, fmt.Errorf("%s:%d: want key=value", path, line)
		}
		switch k {
		case "realm":
			id.Realm = v
		case "id":
			n, err := strconv.ParseUint(v, 10, 8)
			if err != nil {
				return identity{}, fmt.Errorf("%s:%d: bad server id %q", path, line, v)
			}
			id.ID = uint32(n)
		case "listen":
			id.Listen = v
		case "root-volume":
			id.RootVolume = v
		case "scm":
			id.SCM = v
		}
	}
	if id.Realm == "" || id.ID == 0 || id.Listen == "" {
		return identity{}, fmt.Errorf("%s: incomplete (realm, id and listen are required)", path)
	}
	if id.RootVolume == "" {
		id.RootVolume = DefaultRootVolume
	}
	return id, nil
}

// validate checks init options and fills defaults.
func (o *InitOptions) validate() error {
	if o.DataDir == "" {
		return errors.New("--data is required")
	}
	if o.Realm == "" || strings.ContainsAny(o.Realm, " \t\n/=") {
		return fmt.Errorf("bad realm name %q", o.Realm)
	}
	if o.ID < 1 || o.ID > 255 {
		return fmt.Errorf("server id %d out of range 1-255", o.ID)
	}
	if _, _, err := net.SplitHostPort(o.Listen); err != nil {
		return fmt.Errorf("bad listen address %q: want HOST:PORT", o.Listen)
	}
	if o.Join != "" {
		if _, _, err := net.SplitHostPort(o.Join); err != nil {
			return fmt.Errorf("bad SCM address %q: want HOST:PORT", o.Join)
		}
		if len(o.RealmSecret) == 0 {
			return errors.New("joining a realm needs its secret (--secret FILE)")
		}
	}
	if len(o.AdminPassword) == 0 && o.Join == "" {
		return errors.New("no password for the admin user")
	}
	if o.RootVolume == "" {
		o.RootVolume = DefaultRootVolume
	}
	return nil
}

// Init creates a server's data directory: identity, the realm CA, the
// server's certificate, the admin key and realm secret, and an empty store.
// It refuses to touch an existing non-empty directory; on failure it removes
// what it created, so nothing half-made is left looking valid.
func Init(ctx context.Context, o InitOptions) (err error) {
	if err := o.validate(); err != nil {
		return err
	}
	if ents, err := os.ReadDir(o.DataDir); err == nil && len(ents) > 0 {
		return fmt.Errorf("data directory %s exists and is not empty; refusing to overwrite it", o.DataDir)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	created := false
	if err := os.Mkdir(o.DataDir, 0o700); err == nil {
		created = true
	} else if !errors.Is(err, fs.ErrExist) {
		return err
	}
	defer func() {
		if err != nil {
			cleanupInit(o.DataDir, created)
		}
	}()
	db := filepath.Join(o.DataDir, "db")
	if err := os.Mkdir(db, 0o700); err != nil {
		return err
	}
	if o.Join != "" {
		err = joinRealm(ctx, o, db)
	} else {
		err = writeKeys(db, o)
	}
	if err != nil {
		return err
	}
	st, err := store.Open(store.Options{Dir: filepath.Join(o.DataDir, storeDir), Logger: o.Logger})
	if err != nil {
		return err
	}
	if o.Join == "" { // other servers copy the SCM's realm databases
		if err := initRealmDBs(st, o); err != nil {
			st.Close()
			return err
		}
	}
	if err := st.Close(); err != nil {
		return err
	}
	id := identity{Realm: o.Realm, ID: o.ID, Listen: o.Listen, RootVolume: o.RootVolume, SCM: o.Join}
	return writeFileSync(filepath.Join(db, identityFile), id.encode(), 0o644)
}

// initRealmDBs creates the SCM's realm databases: the auth service's, and
// the servers database holding the SCM itself.
func initRealmDBs(st *store.DB, o InitOptions) error {
	if err := authserver.Init(st, o.AdminPassword); err != nil {
		return err
	}
	var wmu sync.Mutex
	servers, err := location.OpenServers(st, &wmu)
	if err != nil {
		return err
	}
	w, err := servers.Next(location.Servers{}.With(o.ID, o.Listen))
	if err != nil {
		return err
	}
	return realmdb.Commit(st, w)
}

// cleanupInit removes what a failed Init made.
func cleanupInit(dir string, created bool) {
	if created {
		os.RemoveAll(dir)
		return
	}
	for _, sub := range []string{"db", storeDir} {
		os.RemoveAll(filepath.Join(dir, sub))
	}
}

// writeKeys makes the CA, the server certificate, the admin key and the
// realm secret.
func writeKeys(db string, o InitOptions) error {
	caCert, caKey, err := pki.NewCA(o.Realm)
	if err != nil {
		return err
	}
	cert, key, err := pki.IssueServer(caCert, caKey, o.Realm, o.ID, o.Listen)
	if err != nil {
		return err
	}
	adminKey, err := pki.NewAdminKey()
	if err != nil {
		return err
	}
	secret, err := pki.NewAdminKey() // same shape: 32 random bytes in hex
	if err != nil {
		return err
	}
	if err := writeFileSync(filepath.Join(db, "ca.pem"), caCert, 0o644); err != nil {
		return err
	}
	if err := writeFileSync(filepath.Join(db, "server.pem"), cert, 0o644); err != nil {
		return err
	}
	for name, data := range map[string][]byte{"ca.key": caKey, "server.key": key,
		"volutil.key": adminKey, "realm.secret": secret} {
		if err := pki.WriteSecretFile(filepath.Join(db, name), data); err != nil {
			return err
		}
	}
	return nil
}

// writeFileSync writes a new file and fsyncs it.
func writeFileSync(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Run serves until ctx is cancelled, then shuts down cleanly.
func Run(ctx context.Context, o Options) error {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	id, err := readIdentity(o.DataDir)
	if err != nil {
		return err
	}
	listen := o.Listen
	if listen == "" {
		listen = id.Listen
	}
	l, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", listen, err)
	}
	d, err := openDaemon(o, id, l.Addr().String(), log)
	if err != nil {
		l.Close()
		return err
	}
	defer d.close()
	errc := make(chan error, 1)
	go func() { errc <- d.rpc.Serve(l) }()
	if d.follower != nil {
		// Copy the realm databases before saying ready (a server initialised
		// again after a disk loss must know its volumes at once), but never
		// wait long for an SCM that is down: the copy held serves meanwhile.
		synced := make(chan struct{})
		var once sync.Once
		next := d.follower.Synced
		d.follower.Synced = func() {
			once.Do(func() { close(synced) })
			if next != nil {
				next()
			}
		}
		fctx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { d.follower.Run(fctx); close(done) }()
		defer func() { stop(); <-done }()
		select {
		case <-synced:
		case <-time.After(firstSyncWait):
			log.Warn("realm databases not copied from the SCM yet; serving the copy held", "scm", id.SCM)
		case <-ctx.Done():
		}
	}
	if d.va != nil {
		d.va.wg.Go(d.va.purgeAbandonedRestores)
		defer d.va.wg.Wait() // after the connections closed: no purge runs on a closed store
		defer d.va.stop()    // first: the connections closing now leave their restores be
	}
	if o.Metrics != "" {
		mctx, stop := context.WithCancel(ctx)
		defer stop()
		if err := metrics.Serve(mctx, o.Metrics, d.tls, &d.metrics, log); err != nil {
			return err
		}
	}
	log.Info("server ready", "realm", id.Realm, "id", id.ID, "addr", l.Addr().String())
	if o.Ready != nil {
		o.Ready(l.Addr().String())
	}
	select {
	case <-ctx.Done():
	case <-d.stop:
	case err := <-errc:
		return err
	}
	log.Info("server shutting down")
	if d.va != nil {
		d.va.stop() // before the connections close: their restores are left be
	}
	d.rpc.Close()
	<-errc
	return nil
}

// daemon is a running server's parts.
type daemon struct {
	id       identity
	db       *store.DB
	fs       *fileserver.Server
	rpc      *rpc.Server
	follower *dbsync.Follower // nil on the SCM
	va       *volAdmin        // the SCM's; nil on other servers
	tls      *tls.Config
	metrics  metrics.Registry
	wmu      sync.Mutex    // serialises writes of the location databases
	stop     chan struct{} // closed by volutil shutdown
}

func openDaemon(o Options, id identity, addr string, log *slog.Logger) (*daemon, error) {
	dataDir := o.DataDir
	tlsCfg, adminKey, err := loadKeys(filepath.Join(dataDir, "db"))
	if err != nil {
		return nil, err
	}
	adminKeyFile, err := pki.ReadSecretFile(filepath.Join(dataDir, "db", "volutil.key"))
	if err != nil {
		return nil, err
	}
	secret, err := readKeyFile(filepath.Join(dataDir, "db", "realm.secret"))
	if err != nil {
		return nil, err
	}
	db, err := store.Open(store.Options{Dir: filepath.Join(dataDir, storeDir), Logger: log, CacheSize: 128 << 20})
	if err != nil {
		return nil, err
	}
	vols, err := volume.Open(db, log)
	if err != nil {
		db.Close()
		return nil, err
	}
	if err := cleanOrphans(db, vols, log); err != nil {
		db.Close()
		return nil, err
	}
	scm := id.SCM == ""
	scmAddr := id.SCM
	if scm {
		scmAddr = addr
	}
	auth, err := authserver.New(authserver.Config{DB: db, Realm: id.Realm, Secret: secret,
		Lifetime: o.TokenLifetime, SCM: scm, SCMAddr: scmAddr, Logger: log})
	if err != nil {
		db.Close()
		return nil, err
	}
	d := &daemon{id: id, db: db}
	servers, err := location.OpenServers(db, &d.wmu)
	if err != nil {
		db.Close()
		return nil, err
	}
	volumes, err := location.OpenVolumes(db, &d.wmu)
	if err != nil {
		db.Close()
		return nil, err
	}
	d.stop = make(chan struct{})
	var stopOnce sync.Once
	fsrv := fileserver.New(fileserver.Config{Realm: id.Realm, ServerID: id.ID, Addr: addr,
		Shutdown:   func() { stopOnce.Do(func() { close(d.stop) }) },
		RootVolume: id.RootVolume, AdminKey: adminKey, Auth: authority{auth}, Names: auth,
		DB: db, Volumes: vols, Locate: locator(servers, volumes), Logger: log, ReopenLog: o.ReopenLog,
		DialPeer: func(ctx context.Context, addr string) (*rpc.Conn, error) {
			c, err := dialPeer(ctx, filepath.Join(dataDir, "db"), addr)
			if err != nil {
				return nil, err
			}
			return c.Conn(), nil
		}})
	d.fs = fsrv
	var mux rpc.Mux
	fsrv.Register(&mux)
	auth.Register(&mux, fsrv.IsAdmin)
	dbs := append(auth.Databases(), servers, volumes)
	if scm {
		j := &joinService{realm: id.Realm, dbDir: filepath.Join(dataDir, "db"), secret: secret,
			adminKey: adminKeyFile, nonceOf: fsrv.HelloNonce, store: db, wmu: &d.wmu, servers: servers, log: log}
		mux.Handle(proto.OpJoin, j.handle)
		va := &volAdmin{self: id.ID, dbDir: filepath.Join(dataDir, "db"), vols: vols, servers: servers,
			volumes: volumes, store: db, wmu: &d.wmu, adminKey: fsrv.HoldsAdminKey, fs: fsrv, log: log}
		mux.Handle(proto.OpCreateVolumeRep, va.createRep)
		mux.Handle(proto.OpPurgeVolumeRep, va.purgeRep)
		mux.Handle(proto.OpRestoreDone, va.restoreDone)
		va.ctx, va.stop = context.WithCancel(context.Background())
		d.va = va
		mux.Handle(proto.OpBackupVolume, va.backup)
		mux.Handle(proto.OpDBFetch, func(ctx context.Context, r *rpc.Request) (proto.Message, *rpc.Source, error) {
			if !fsrv.HoldsAdminKey(r) {
				return nil, nil, proto.Errorf(proto.CodeAccess, "the realm databases are for servers (the admin key) only")
			}
			var req proto.DBFetch
			if err := r.Decode(&req); err != nil {
				return nil, nil, err
			}
			reply, err := dbsync.Fetch(dbs, &req)
			return reply, nil, err
		})
	} else {
		notSCM := func(ctx context.Context, r *rpc.Request) (proto.Message, *rpc.Source, error) {
			return nil, nil, proto.Errorf(proto.CodeNotSupported,
				fmt.Sprintf("%s on the SCM (%s); this server keeps a read-only copy of the realm databases", r.Op, id.SCM))
		}
		for _, op := range []proto.Op{proto.OpJoin, proto.OpCreateVolumeRep, proto.OpPurgeVolumeRep, proto.OpDBFetch, proto.OpBackupVolume, proto.OpRestoreDone} {
			mux.Handle(op, notSCM)
		}
		db := filepath.Join(dataDir, "db")
		d.follower = &dbsync.Follower{DBs: dbs, SCM: id.SCM, Logger: log,
			Dial: func(ctx context.Context) (*rpc.Conn, error) {
				c, err := dialPeer(ctx, db, id.SCM)
				if err != nil {
					return nil, err
				}
				return c.Conn(), nil
			}}
	}
	stats := &rpc.Stats{}
	d.rpc = rpc.NewServer(rpc.Config{TLS: tlsCfg, Logger: log, FaultHook: o.FaultHook, Stats: stats}, &mux, fsrv.Accept)
	d.tls = tlsCfg
	d.metrics.Register(func(w *metrics.Writer) {
		w.Gauge("coda_server_info", "The server: its realm and id.", 1, metrics.L("realm", id.Realm, "id", fmt.Sprint(id.ID))...)
		stats.Collect(w, "coda_server")
		fsrv.Collect(w)
	})
	d.rpc.OnClose(fsrv.ConnClosed)
	return d, nil
}

// dialPeer connects to another server of the realm at addr as an
// administrator, with the admin key and realm CA in this server's db
// directory.
func dialPeer(ctx context.Context, db, addr string) (*adminclient.Client, error) {
	return adminclient.Dial(ctx, addr, filepath.Join(db, "volutil.key"), filepath.Join(db, "ca.pem"))
}

func (d *daemon) close() {
	d.rpc.Close()
	d.fs.Close()
	d.db.Close()
}

// loadKeys reads the TLS material and the admin key, refusing secret files
// that others can read.
func loadKeys(db string) (*tls.Config, []byte, error) {
	read := func(name string) ([]byte, error) { return os.ReadFile(filepath.Join(db, name)) }
	caPEM, err := read("ca.pem")
	if err != nil {
		return nil, nil, err
	}
	certPEM, err := read("server.pem")
	if err != nil {
		return nil, nil, err
	}
	keyPEM, err := pki.ReadSecretFile(filepath.Join(db, "server.key"))
	if err != nil {
		return nil, nil, err
	}
	adminKey, err := readKeyFile(filepath.Join(db, "volutil.key"))
	if err != nil {
		return nil, nil, err
	}
	cfg, err := pki.ServerTLS(certPEM, keyPEM, caPEM)
	if err != nil {
		return nil, nil, err
	}
	return cfg, adminKey, nil
}

// cleanOrphans removes containers no vnode references (a crash between a
// container's commit and its metadata's).
func cleanOrphans(db *store.DB, vols *volume.Set, log *slog.Logger) error {
	refs := map[store.ContainerID]struct{}{}
	if err := vols.Containers(func(id store.ContainerID) { refs[id] = struct{}{} }); err != nil {
		return err
	}
	n, err := db.CleanOrphans(func(id store.ContainerID) bool { _, ok := refs[id]; return ok })
	if err != nil {
		return err
	}
	if n > 0 {
		log.Info("removed orphaned containers", "count", n)
	}
	return nil
}

// readKeyFile reads a 0600 key file written by Init (volutil.key,
// realm.secret).
func readKeyFile(path string) ([]byte, error) {
	raw, err := pki.ReadSecretFile(path)
	if err != nil {
		return nil, err
	}
	key, err := pki.ParseAdminKey(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return key, nil
}

// authority adapts the auth service to what the file server asks of it.
type authority struct{ s *authserver.Service }

func (a authority) OpenToken(b []byte) (int32, string, time.Time, error) {
	id, err := a.s.OpenToken(b)
	return id.UserID, id.User, id.Expires, err
}

func (a authority) CPS(uid int32) ([]int32, bool) { return a.s.CPS(uid) }
