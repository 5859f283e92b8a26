//go:build race

package fusefs_test

// raceEnabled: the race detector slows the server ~10x; tests whose point
// is scale use smaller sizes under it.
const raceEnabled = true
