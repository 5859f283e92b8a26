package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/coda-fs/coda/server/bintest"
)

// TestServerConfigFile: coda server takes its settings from
// --config FILE (Coda's vicedir for the data directory, key=value, any
// case, comments); the command line and CODA_* variables win; an unknown
// key is warned about with its line; a bad value stops the start with the
// file, the line and the reason.
func TestServerConfigFile(t *testing.T) {
	c := initCell(t)
	conf := filepath.Join(c.dir, "server.conf")
	logFile := filepath.Join(c.dir, "server.log")
	ready := filepath.Join(c.dir, "ready")
	os.WriteFile(conf, []byte("# server.conf\nVICEDIR = "+c.data+"\nlog-file=\""+logFile+"\"\nlog-format=json\nrvm_log=/dev/null\n"), 0o644)
	stderr := filepath.Join(c.dir, "stderr")
	p := bintest.Start(t, stderr, ready, "server", "--config", conf, "--ready-file", ready)
	if b, _ := os.ReadFile(logFile); !strings.Contains(string(b), `"msg":"server ready"`) {
		t.Fatalf("the log file named by the configuration holds %q", b)
	}
	if b, _ := os.ReadFile(stderr); !strings.Contains(string(b), conf+":5: unknown key \"rvm_log\" ignored") {
		t.Fatalf("no warning of the unknown key: %q", b)
	}
	p.Stop()
	for _, tc := range []struct{ conf, msg string }{
		{"vicedir=" + c.data + "\ntoken-lifetime=forever\n", ":2: token-lifetime: bad value \"forever\""},
		{"log-level=loud\n", ":1: log-level: bad value \"loud\""},
		{"just words\n", ":1: want key=value"},
	} {
		os.WriteFile(conf, []byte(tc.conf), 0o644)
		if r := bintest.Run(t, "", "server", "--config", conf); r.Code != 1 || !strings.Contains(r.Stderr, conf+tc.msg) || strings.Count(r.Stderr, "\n") != 1 {
			t.Errorf("%q: exit %d, %q; want exit 1 and one line with %q", tc.conf, r.Code, r.Stderr, tc.msg)
		}
	}
	// The command line wins over the file: a bad log level there is never read.
	os.WriteFile(conf, []byte("vicedir="+c.data+"\nlog-level=loud\n"), 0o644)
	p = bintest.Start(t, stderr, ready, "server", "--config", conf, "--ready-file", ready, "--log-level", "warn")
	p.Stop()
	if r := bintest.Run(t, "", "server", "--config", filepath.Join(c.dir, "missing.conf")); r.Code != 1 || !strings.Contains(r.Stderr, "no such file") {
		t.Errorf("a missing --config: exit %d, %q", r.Code, r.Stderr)
	}
}
