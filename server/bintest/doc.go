// Package bintest runs the real coda binary in end-to-end tests: it finds
// the static binary (CODA_BIN, or ./coda at the repository root, built by
// `make`) or builds one once per test process, and starts servers as
// separate processes that signal readiness through a ready file.
package bintest
