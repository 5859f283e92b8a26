// Package e2e holds end-to-end tests of the coda server binary: real
// processes, kill -9, bytes on a real socket. It has no code outside its
// tests.
package e2e
