package client

import (
	"log/slog"
	"time"

	"github.com/coda-fs/coda/client/venus"
)

// VenusOptions are the inputs of `coda venus`.
type VenusOptions struct {
	Realm     string
	Servers   []string // HOST:PORT of the realm's servers
	Mount     string   // mount point; the realm appears as Mount/Realm
	CacheDir  string
	CacheSize int64  // bytes of file data to keep cached
	CAFile    string // realm CA to pin; empty: trust on first use, stored in CacheDir
	// ControlSocket is where tools (clog, cfs, …) reach venus; default
	// control.SocketPath of the mount point.
	ControlSocket string
	// Metrics, when set, is the HOST:PORT serving venus's metrics at
	// https://HOST:PORT/metrics, with a self-signed certificate kept in
	// CacheDir/metrics.pem.
	Metrics string
	Logger  *slog.Logger
	// Ready, when set, is called once the mount answers.
	Ready func()

	// Started, when set, is called with the cache manager once it is
	// mounted, before Ready (tests read its counters).
	Started func(v *venus.Venus)
	// NoPassthrough makes venus serve reads and writes itself even when the
	// kernel offers FUSE passthrough.
	NoPassthrough bool
	// UnmountWait bounds how long a busy mount is still served after it was
	// detached at shutdown (default 5s).
	UnmountWait time.Duration
	// InitCache empties the cache before starting (venus --init); with
	// ForceInit even when changes logged for reintegration are pending
	// (they are checkpointed in CacheDir/spool first).
	InitCache, ForceInit bool
}
