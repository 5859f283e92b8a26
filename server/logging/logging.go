package logging

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// Options say where and how a daemon logs.
type Options struct {
	Level  string // debug, info, warn or error
	Format string // text (default) or json
	File   string // append to this file instead of the writer given ("" or "-": the writer)
}

// File is a log file that can be reopened (after logrotate moved it away,
// on SIGHUP or volutil swaplog). Writes and Reopen may run concurrently.
type File struct {
	path string
	mu   sync.Mutex
	f    *os.File
}

// logMode: logs say nothing secret, but they are the administrator's.
const logMode = 0o640

func openFile(path string) (*File, error) {
	lf := &File{path: path}
	if err := lf.Reopen(); err != nil {
		return nil, err
	}
	return lf, nil
}

// Reopen opens the file's path anew (creating it) and closes the old one.
func (lf *File) Reopen() error {
	f, err := os.OpenFile(lf.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, logMode)
	if err != nil {
		return fmt.Errorf("log file: %w", err)
	}
	lf.mu.Lock()
	old := lf.f
	lf.f = f
	lf.mu.Unlock()
	if old != nil {
		return old.Close()
	}
	return nil
}

// OnHangup makes SIGHUP reopen lf (logging it to log) until the returned
// function is called; with no log file (nil), SIGHUP is only noted — a
// daemon never dies of it (systemd's ExecReload sends it).
func OnHangup(lf *File, log *slog.Logger) (stop func()) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-hup:
				switch err := lf.reopen(); {
				case lf == nil:
					log.Info("SIGHUP: logging to standard error, no log file to reopen")
				case err != nil:
					log.Error("cannot reopen the log file", "file", lf.path, "err", err)
				default:
					log.Info("log file reopened", "file", lf.path)
				}
			case <-done:
				return
			}
		}
	}()
	return func() { signal.Stop(hup); close(done) }
}

// reopen is Reopen for a possibly nil file.
func (lf *File) reopen() error {
	if lf == nil {
		return nil
	}
	return lf.Reopen()
}

// Path is the file's path.
func (lf *File) Path() string { return lf.path }

func (lf *File) Write(p []byte) (int, error) {
	lf.mu.Lock()
	defer lf.mu.Unlock()
	return lf.f.Write(p)
}

// Close closes the file.
func (lf *File) Close() error {
	lf.mu.Lock()
	defer lf.mu.Unlock()
	return lf.f.Close()
}

// ErrNoLogFile: Reopen was asked of a logger writing to a stream.
var ErrNoLogFile = errors.New("logging to standard error: no log file to reopen (start with --log-file)")

// CheckLevel checks a log level name.
func CheckLevel(s string) error {
	var l slog.Level
	if l.UnmarshalText([]byte(s)) != nil {
		return errors.New("want debug, info, warn or error")
	}
	return nil
}

// CheckFormat checks a log format name.
func CheckFormat(s string) error {
	if s != "text" && s != "json" {
		return errors.New("want text or json")
	}
	return nil
}

// Open returns a logger as o says, on w unless o names a file, and the
// file (nil when logging to w).
func Open(w io.Writer, o Options) (*slog.Logger, *File, error) {
	var l slog.Level
	level := o.Level
	if level == "" {
		level = "info"
	}
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, nil, fmt.Errorf("bad --log-level %q: want debug, info, warn or error", o.Level)
	}
	if o.Format != "" && o.Format != "text" && o.Format != "json" {
		return nil, nil, fmt.Errorf("bad --log-format %q: want text or json", o.Format)
	}
	var lf *File
	if o.File != "" && o.File != "-" {
		var err error
		if lf, err = openFile(o.File); err != nil {
			return nil, nil, err
		}
		w = lf
	}
	ho := &slog.HandlerOptions{Level: l}
	if o.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, ho)), lf, nil
	}
	return slog.New(slog.NewTextHandler(w, ho)), lf, nil
}

// New returns a text logger on w at level (debug, info, warn or error).
func New(w io.Writer, level string) (*slog.Logger, error) {
	l, _, err := Open(w, Options{Level: level})
	return l, err
}
