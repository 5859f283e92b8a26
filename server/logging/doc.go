// Package logging builds the *slog.Logger the daemons and tools log
// through: text (or JSON) at a named level, on stderr or appended to a
// log file that SIGHUP and volutil swaplog reopen for logrotate. Nothing
// here logs secrets: callers never pass them.
package logging
