package server

import (
	"io"
	"log/slog"
	"time"

	"github.com/coda-fs/coda/server/proto"
)

// InitOptions are the inputs of `coda server init`.
type InitOptions struct {
	DataDir    string // the data directory to create; must not exist or be empty
	Realm      string
	ID         uint32 // server id, 1–255
	Listen     string // HOST:PORT the server will listen on and put in its certificate
	RootVolume string // name of the realm's root volume (default coda.root)
	// AdminPassword is the password of the realm's "admin" user, created
	// in System:Administrators on the SCM.
	AdminPassword []byte
	// Join, when set, is the HOST:PORT of the realm's SCM: this server
	// joins the realm there (its certificate, the admin key) with
	// RealmSecret, the content of a copy of the SCM's db/realm.secret, and
	// keeps read-only copies of the SCM's realm databases.
	Join        string
	RealmSecret []byte
	Logger      *slog.Logger
}

// Options are the inputs of `coda server`.
type Options struct {
	DataDir string
	Listen  string // overrides the address recorded at init when set
	// TokenLifetime is the lifetime of the tokens this server issues
	// (default 25h).
	TokenLifetime time.Duration
	Logger        *slog.Logger
	// Metrics, when set, is the HOST:PORT serving the server's metrics at
	// https://HOST:PORT/metrics (Prometheus text format, the server's
	// certificate).
	Metrics string
	// ReopenLog, when set, reopens the log file (volutil swaplog).
	ReopenLog func() error
	// Ready, when set, is called once the server accepts connections.
	Ready func(addr string)
	// Stderr receives start-up messages meant for the operator.
	Stderr io.Writer
	// FaultHook, for tests only, may drop the reply of a request after
	// it was served (rpc.Config.FaultHook).
	FaultHook func(op proto.Op) (dropReply bool)
}
