// Package client assembles venus: RunVenus pins the realm CA, connects
// the cache manager core (client/venus) to the servers and mounts it
// through the FUSE adapter (client/fusefs), signalling readiness and
// unmounting cleanly when its context ends. The cmd_*.go files turn the
// venus command line and venus.conf into VenusOptions.
package client
