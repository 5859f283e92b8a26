// Package e2e holds end-to-end tests of venus run as users run it: the
// static binary for the server and venus, and separate processes touching
// the mount. It has no code outside its tests.
package e2e
