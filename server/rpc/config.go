package rpc

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Defaults of Config's zero fields.
const (
	DefaultProbeInterval    = 500 * time.Millisecond
	DefaultDeadAfter        = 2 * time.Second
	DefaultBusyInterval     = 500 * time.Millisecond
	DefaultHandshakeTimeout = 5 * time.Second
	DefaultMaxInflight      = 64
)

// withDefaults returns c with its zero fields set to the defaults.
func (c Config) withDefaults() Config {
	if c.ProbeInterval <= 0 {
		c.ProbeInterval = DefaultProbeInterval
	}
	if c.DeadAfter <= 0 {
		c.DeadAfter = DefaultDeadAfter
	}
	if c.BusyInterval <= 0 {
		c.BusyInterval = DefaultBusyInterval
	}
	if c.HandshakeTimeout <= 0 {
		c.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if c.MaxInflight <= 0 {
		c.MaxInflight = DefaultMaxInflight
	}
	if c.StartBy <= 0 {
		c.StartBy = c.DeadAfter
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Validate checks c after defaults are applied.
func (c Config) Validate() error {
	c = c.withDefaults()
	if c.TLS == nil {
		return errors.New("rpc: no TLS configuration")
	}
	if c.ProbeInterval >= c.DeadAfter {
		return fmt.Errorf("rpc: probe interval %v must be shorter than dead-after %v", c.ProbeInterval, c.DeadAfter)
	}
	if c.BusyInterval >= c.DeadAfter {
		return fmt.Errorf("rpc: busy interval %v must be shorter than dead-after %v", c.BusyInterval, c.DeadAfter)
	}
	return nil
}

// tlsConfig returns a copy of the TLS config restricted to TLS 1.3, with
// full-size records from the first byte (bulk data is our main load).
func (c Config) tlsConfig() *tls.Config {
	t := c.TLS.Clone()
	t.MinVersion = tls.VersionTLS13
	t.MaxVersion = 0
	t.DynamicRecordSizingDisabled = true
	return t
}

// tick is the period of a connection's liveness timer: fine enough that
// death is noticed soon after DeadAfter.
func (c Config) tick() time.Duration {
	t := min(c.ProbeInterval, c.BusyInterval, c.DeadAfter) / 4
	return max(t, 5*time.Millisecond)
}
