package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/coda-fs/coda/server/bintest"
)

// TestMetricsEndpoint: coda server --metrics serves Prometheus text format
// over TLS with the server's certificate; a scraper trusting the realm CA
// reads it, and the counters move as requests are served.
func TestMetricsEndpoint(t *testing.T) {
	c := initCell(t)
	maddr := freeAddr(t)
	ready := filepath.Join(c.dir, "ready")
	bintest.Start(t, filepath.Join(c.dir, "server.log"), ready, "server", "--data", c.data, "--ready-file", ready, "--metrics", maddr)
	ca, err := os.ReadFile(c.caFile())
	if err != nil {
		t.Fatal(err)
	}
	scrape := func() string { t.Helper(); return bintest.Scrape(t, maddr, ca) }
	value := bintest.MetricValue
	before := scrape()
	for _, want := range []string{"coda_server_info{realm=\"" + realm + "\",id=\"1\"} 1\n", "# TYPE coda_server_connections gauge\n"} {
		if !strings.Contains(before, want) {
			t.Fatalf("the first scrape lacks %q:\n%s", want, before)
		}
	}
	if r := bintest.Run(t, "", "createvol_rep", "coda.root", c.addr, "--key", c.keyFile()); r.Code != 0 {
		t.Fatalf("createvol_rep: %s", r.Stderr)
	}
	after := scrape()
	series := `coda_server_rpc_duration_seconds_count{op="createvolumerep"}`
	if value(before, series) != 0 || value(after, series) != 1 {
		t.Fatalf("%s: %v before, %v after; want 0 then 1\n%s", series, value(before, series), value(after, series), after)
	}
	if !strings.Contains(after, "# TYPE coda_server_rpc_duration_seconds histogram\n") ||
		!strings.Contains(after, `coda_server_volume_files{volume="coda.root",type="rw"} 1`) {
		t.Fatalf("no coda.root in the volume metrics:\n%s", after)
	}
}
