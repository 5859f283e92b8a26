package venus

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// Options configure a Venus.
type Options struct {
	Realm    string
	Servers  []string // HOST:PORT of the realm's servers, tried in order
	CacheDir string
	// CacheSize bounds the allocated bytes of unmodified, closed cached files;
	// least recently used ones are evicted beyond it. Default 2 GiB.
	CacheSize int64
	// CAFile is the realm CA to pin; empty: trust on first use, stored in
	// CacheDir/realm-ca.pem and refused if a server later presents another.
	CAFile string
	// Name identifies this client in the servers' logs (default: host name).
	Name   string
	Logger *slog.Logger

	// DialTimeout bounds one connection attempt (default 3s); RetryAfter is
	// how long calls fail at once after a failed attempt (default 2s).
	DialTimeout time.Duration
	RetryAfter  time.Duration
	// CallTimeout bounds a metadata RPC (default 30s); data transfers get
	// DataTimeout (default 1h) and rely on the connection's liveness probes.
	CallTimeout time.Duration
	DataTimeout time.Duration
	// DeadAfter: a connection on which nothing arrived (reply, probe,
	// keepalive) for this long is dead, and the calls on it go to another
	// replica (default 1.5s, so that a hung server costs less than 2s).
	DeadAfter time.Duration
	// CacheTimeout is how long the kernel may cache entries and attributes
	// of objects holding a callback (default 1h).
	CacheTimeout time.Duration
	// FS holds the cache database (nil: the real file system); tests put
	// it on a crash-simulating file system. Containers are always files.
	FS vfs.FS
}

// DefaultCacheSize is the cache size when Options.CacheSize is 0.
const DefaultCacheSize = 2 << 30

func (o *Options) setDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&o.DialTimeout, 3*time.Second)
	def(&o.RetryAfter, 2*time.Second)
	def(&o.CallTimeout, 30*time.Second)
	def(&o.DataTimeout, time.Hour)
	def(&o.DeadAfter, 1500*time.Millisecond)
	def(&o.CacheTimeout, time.Hour)
	if o.CacheSize == 0 {
		o.CacheSize = DefaultCacheSize
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Validate checks the options a user gives.
func (o *Options) Validate() error {
	switch {
	case o.Realm == "":
		return errors.New("no realm given (--realm)")
	case len(o.Servers) == 0:
		return fmt.Errorf("no servers given for realm %s (--servers HOST:PORT,...)", o.Realm)
	case o.CacheDir == "":
		return errors.New("no cache directory given (--cache)")
	case o.CacheSize < 0:
		return fmt.Errorf("negative cache size %d", o.CacheSize)
	}
	return nil
}
