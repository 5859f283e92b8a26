// Package venustest starts real venus mounts in-process for tests: a real
// server (server/servertest) with the realm's root volume, and
// client.RunVenus on a mount point in a temp dir, with readiness signalled
// through the Ready callback (no sleeps). It also runs the processes that
// touch a mount: a test must never access the mount from the goroutines of
// the process serving it when the access can block in the kernel (exec,
// mmap, concurrent opens), so such accesses run as shell commands or as a
// helper: a child copy of the test binary that runs one named function
// (MaybeRunHelper in TestMain, Command to start it).
package venustest
