package server

import (
	"io"
	"log/slog"
)

// InitOptions are the inputs of `coda server init`.
type InitOptions struct {
	DataDir    string // the data directory to create; must not exist or be empty
	Realm      string
	ID         uint32 // server id, 1–255
	Listen     string // HOST:PORT the server will listen on and put in its certificate
	RootVolume string // name of the realm's root volume (default coda.root)
	Logger     *slog.Logger
}

// Options are the inputs of `coda server`.
type Options struct {
	DataDir string
	Listen  string // overrides the address recorded at init when set
	Logger  *slog.Logger
	// Ready, when set, is called once the server accepts connections.
	Ready func(addr string)
	// Stderr receives start-up messages meant for the operator.
	Stderr io.Writer
}
