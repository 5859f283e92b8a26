// Package logging builds the *slog.Logger the daemons and tools log
// through: text on stderr at a named level. (Log files, JSON and reopening
// on SIGHUP come with the operations issue.) Nothing here logs secrets:
// callers never pass them.
package logging
