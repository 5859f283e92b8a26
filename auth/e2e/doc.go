// Package e2e holds the acceptance tests of authentication and ACLs, run as
// operators run them: the static binary for the server, venus, clog,
// ctokens, pdbtool, au and cfs, and processes of other local users touching
// the mount. It has no code outside its tests.
package e2e
