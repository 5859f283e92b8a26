package fusefs_test

import (
	"os"
	"sort"
	"testing"

	"github.com/hanwen/go-fuse/v2/posixtest"

	"github.com/coda-fs/coda/client/venustest"
)

// posixExcluded lists the posixtest cases not run against venus, with why.
var posixExcluded = map[string]string{
	// The case expects a second F_SETLK by the same process on another
	// descriptor to conflict, which holds only where locks belong to open
	// file descriptions (go-fuse's loopback maps them to OFD locks on its
	// backing files). Venus leaves locking to the kernel, local to the
	// client as in Coda, and the kernel applies POSIX per-process
	// semantics: the same process's second lock succeeds, as POSIX says.
	"FcntlFlockLocksFile": "expects per-descriptor lock owners; venus keeps POSIX per-process locks (local, as in Coda)",
	// coda keeps no extended attributes (as Coda); the cases would skip
	// themselves on EOPNOTSUPP.
	"XAttr":      "coda has no extended attributes (EOPNOTSUPP)",
	"XAttrLarge": "coda has no extended attributes (EOPNOTSUPP)",
	// O_TMPFILE needs an unnamed object on the server; not supported.
	"Tmpfile": "O_TMPFILE is not supported (EOPNOTSUPP)",
}

// TestPosixSuite runs go-fuse's posixtest suite, every case in a fresh
// directory of one venus mount. The suite touches the mount from this
// process by design (venus serves from other goroutines).
func TestPosixSuite(t *testing.T) {
	srv := venustest.NewServer(t)
	v := venustest.Start(t, srv, venustest.Options{})
	names := make([]string, 0, len(posixtest.All))
	for name := range posixtest.All {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if why, ok := posixExcluded[name]; ok {
			t.Logf("excluded %s: %s", name, why)
			continue
		}
		t.Run(name, func(t *testing.T) {
			dir := v.Path("posix-" + name)
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			posixtest.All[name](t, dir)
		})
	}
}
