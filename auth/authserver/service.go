package authserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coda-fs/coda/auth/password"
	"github.com/coda-fs/coda/auth/pdb"
	"github.com/coda-fs/coda/auth/token"
	"github.com/coda-fs/coda/server/dbsync"
	"github.com/coda-fs/coda/server/proto"
	"github.com/coda-fs/coda/server/realmdb"
	"github.com/coda-fs/coda/server/store"
)

// Names of the realm databases the auth service keeps.
const (
	PDBName    = "pdb"    // the protection database (pdb export text)
	PasswdName = "passwd" // password hashes by user id
)

// Config is what the auth service needs.
type Config struct {
	DB       *store.DB        // the server's store; realm databases live under 'R'
	Realm    string           // the realm tokens are issued for
	Secret   []byte           // realm.secret: the token key (at least token.MinSecret bytes)
	Lifetime time.Duration    // of new tokens; 0 means token.DefaultLifetime
	SCM      bool             // this server holds the writable databases
	SCMAddr  string           // where the SCM is, for messages on other servers
	Logger   *slog.Logger     // nil discards
	Now      func() time.Time // nil means time.Now
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	switch {
	case c.DB == nil:
		return errors.New("authserver: Config.DB is nil")
	case c.Realm == "" || len(c.Realm) > token.MaxName:
		return fmt.Errorf("authserver: realm name must be 1..%d bytes", token.MaxName)
	case len(c.Secret) < token.MinSecret:
		return fmt.Errorf("authserver: realm secret must be at least %d bytes", token.MinSecret)
	case c.Lifetime < 0:
		return errors.New("authserver: negative token lifetime")
	}
	return nil
}

// Service is the auth service of one server. All methods are safe for
// concurrent use.
type Service struct {
	cfg    Config
	log    *slog.Logger
	now    func() time.Time
	params password.Params
	lim    *password.Limiter
	// hashing bounds concurrent argon2 runs (each takes params.Memory).
	hashing chan struct{}
	// sleep waits out a throttle delay; tests replace it.
	sleep func(ctx context.Context, d time.Duration) error

	wmu sync.Mutex // serialises every write of pdb and pw
	pdb *realmdb.Database[*pdb.DB]
	pw  *realmdb.Database[passwords]

	cps       atomic.Pointer[cpsCache]
	dummyOnce sync.Once
	dummy     string // a hash to verify against when the user has none
}

var pdbCodec = realmdb.Codec[*pdb.DB]{
	Encode: func(d *pdb.DB) ([]byte, error) {
		var b bytes.Buffer
		err := d.Export(&b)
		return b.Bytes(), err
	},
	Decode: func(data []byte) (*pdb.DB, error) {
		if len(data) == 0 {
			return pdb.New(), nil
		}
		return pdb.Import(bytes.NewReader(data))
	},
}

// New loads the realm databases from cfg.DB and returns the service. A
// store where Init never ran gives empty databases (every login fails);
// on the SCM that is logged as a warning.
func New(cfg Config) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.Secret = bytes.Clone(cfg.Secret)
	if cfg.Lifetime == 0 {
		cfg.Lifetime = token.DefaultLifetime
	}
	s := &Service{cfg: cfg, log: cfg.Logger, now: cfg.Now, params: password.DefaultParams(),
		lim: password.NewLimiter(), hashing: make(chan struct{}, max(2, runtime.NumCPU()/2)),
		sleep: sleepFor}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	var err error
	if s.pdb, s.pw, err = openAll(cfg.DB, &s.wmu); err != nil {
		return nil, err
	}
	if cfg.SCM && s.pdb.Version() == 0 {
		s.log.Warn("the protection database is empty: nobody can log in (coda server init creates it)")
	}
	return s, nil
}

func openAll(st *store.DB, wmu *sync.Mutex) (*realmdb.Database[*pdb.DB], *realmdb.Database[passwords], error) {
	p, err := realmdb.Open(st, wmu, PDBName, pdbCodec)
	if err != nil {
		return nil, nil, err
	}
	pw, err := realmdb.Open(st, wmu, PasswdName, passwdCodec)
	if err != nil {
		return nil, nil, err
	}
	return p, pw, nil
}

// Databases returns every realm database of the service, for replication.
func (s *Service) Databases() []dbsync.DB { return []dbsync.DB{s.pdb, s.pw} }

// Init creates the realm databases on the SCM: the built-in principals
// (admin, System:AnyUser, System:Administrators) and admin's password.
// It refuses an empty password and a store that already has them. It does
// not keep or modify adminPassword; the caller zeroes it.
func Init(db *store.DB, adminPassword []byte) error {
	return initWith(db, adminPassword, password.DefaultParams())
}

func initWith(db *store.DB, pw []byte, params password.Params) error {
	if len(pw) == 0 {
		return errors.New("authserver: the admin password is empty")
	}
	if len(pw) > proto.MaxPassword {
		return fmt.Errorf("authserver: the admin password is longer than %d bytes", proto.MaxPassword)
	}
	var wmu sync.Mutex
	wmu.Lock()
	defer wmu.Unlock()
	pd, pwd, err := openAll(db, &wmu)
	if err != nil {
		return err
	}
	if pd.Version() != 0 || pwd.Version() != 0 {
		return errors.New("authserver: the realm databases already exist")
	}
	hash, err := password.HashWith(params, pw)
	if err != nil {
		return err
	}
	w1, err := pd.Next(pdb.NewRealm())
	if err != nil {
		return err
	}
	w2, err := pwd.Next(passwords{proto.AdminUserID: {name: "admin", hash: hash}})
	if err != nil {
		return err
	}
	return realmdb.Commit(db, w1, w2)
}

// change is one mutation in progress: private copies of the databases it
// changes, made on first use. Only the touched databases are written.
type change struct {
	s  *Service
	p  *pdb.DB
	pw passwords
}

// pdbCopy returns the private copy of the pdb.
func (c *change) pdbCopy() (*pdb.DB, error) {
	if c.p == nil {
		p, err := pdbCodec.Decode(c.s.pdb.Snapshot().Data)
		if err != nil {
			return nil, err
		}
		c.p = p
	}
	return c.p, nil
}

// passwords returns the private copy of the password table.
func (c *change) passwords() passwords {
	if c.pw == nil {
		c.pw = maps.Clone(c.s.pw.Value())
	}
	return c.pw
}

// mutate runs fn on a change and writes what it touched in one synced
// commit, then publishes it. If fn or the write fails nothing changes.
func (s *Service) mutate(fn func(c *change) error) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	c := &change{s: s}
	if err := fn(c); err != nil {
		return err
	}
	var ws []*realmdb.Pending
	if c.p != nil {
		w, err := s.pdb.Next(c.p)
		if err != nil {
			return err
		}
		ws = append(ws, w)
	}
	if c.pw != nil {
		w, err := s.pw.Next(c.pw)
		if err != nil {
			return err
		}
		ws = append(ws, w)
	}
	if len(ws) == 0 {
		return nil
	}
	return realmdb.Commit(s.cfg.DB, ws...)
}

// readOnly is the refusal of a mutation on a server that is not the SCM.
func (s *Service) readOnly(what string) error {
	if s.cfg.SCMAddr == "" {
		return proto.Errorf(proto.CodeNotSupported, what+" on the SCM; this server is read-only")
	}
	return proto.Errorf(proto.CodeNotSupported,
		fmt.Sprintf("%s on the SCM (%s); this server is read-only", what, s.cfg.SCMAddr))
}

// sleepFor waits d or until ctx is done.
func sleepFor(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
