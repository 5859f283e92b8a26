// Package readyfile lets a daemon tell scripts and tests that it is ready
// without anyone sleeping: the daemon writes the file atomically once it
// serves, and removes it on exit; a waiter polls for it with a deadline.
package readyfile
