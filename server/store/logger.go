package store

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
)

// pebbleLogger routes Pebble's messages to slog. Pebble's Fatalf would exit
// the process; ours panics with a fatalError, which the store recovers into
// an error where Pebble calls it from the committing goroutine.
type pebbleLogger struct{ log *slog.Logger }

func (l pebbleLogger) Infof(format string, args ...any) {
	if l.log.Enabled(context.Background(), slog.LevelDebug) {
		l.log.Debug("pebble: " + strings.TrimSpace(fmt.Sprintf(format, args...)))
	}
}

func (l pebbleLogger) Errorf(format string, args ...any) {
	l.log.Error("pebble: " + strings.TrimSpace(fmt.Sprintf(format, args...)))
}

func (l pebbleLogger) Fatalf(format string, args ...any) {
	msg := strings.TrimSpace(fmt.Sprintf(format, args...))
	l.log.Error("pebble fatal: " + msg)
	panic(fatalError{msg})
}

type fatalError struct{ msg string }

func (e fatalError) Error() string { return e.msg }

// recoverFatal turns a fatalError panic into *errp; other panics go on.
// Use as `defer recoverFatal(&err)`.
func recoverFatal(errp *error) {
	r := recover()
	if r == nil {
		return
	}
	fe, ok := r.(fatalError)
	if !ok {
		panic(r)
	}
	*errp = fe
}
