package e2e

import (
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/coda-fs/coda/server/bintest"
)

// TestVenusMetricsAndStatus: venus --metrics serves Prometheus text format
// over TLS with the self-signed certificate it keeps in its cache
// directory; the counters move as files are opened, and the log's gauge
// follows updates made while disconnected; cfs status says the same at a
// glance, exiting 1 while something needs a look.
func TestVenusMetricsAndStatus(t *testing.T) {
	c := replicatedCell(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	maddr := l.Addr().String()
	l.Close()
	a := c.Venus("a", "--metrics", maddr)
	pemBytes, err := os.ReadFile(filepath.Join(c.VenusCache("a"), "metrics.pem"))
	if err != nil {
		t.Fatal(err)
	}
	value := func(series string) float64 {
		t.Helper()
		return bintest.MetricValue(bintest.Scrape(t, maddr, pemBytes), series)
	}
	sh(t, "echo hello > "+a.Root+"/m && cat "+a.Root+"/m > /dev/null")
	hits, stores := value("coda_venus_cache_hits_total"), value(`coda_venus_rpc_requests_total{op="store"}`)
	if stores < 1 {
		t.Fatalf("no store counted after a write: %v", stores)
	}
	if n := value(`coda_venus_rpc_call_duration_seconds_count{op="store"}`); n < 1 {
		t.Fatalf("no store latency recorded: %v", n)
	}
	sh(t, "cat "+a.Root+"/m > /dev/null")
	if got := value("coda_venus_cache_hits_total"); got != hits+1 {
		t.Fatalf("cache hits %v → %v after a cached read", hits, got)
	}
	if got := value(`coda_venus_server_down{server="` + c.Servers[0].Addr + `"}`); got != 0 {
		t.Fatalf("server 1 down: %v", got)
	}
	mustRun(t, "cfs", "disconnect", "--mount", a.Mount)
	sh(t, "echo offline > "+a.Root+"/n")
	if got := value(`coda_venus_cml_records{volume="coda.root"}`); got < 1 {
		t.Fatalf("log records while disconnected: %v", got)
	}
	if got := value(`coda_venus_volume_state{volume="coda.root",state="disconnected"}`); got != 1 {
		t.Fatal("the volume is not reported disconnected")
	}
	r := bintest.Run(t, "", "cfs", "status", "--mount", a.Mount)
	if r.Code != 1 || !regexp.MustCompile(`(?m)^coda\.root +disconnected +[1-9]`).MatchString(r.Stdout) ||
		!strings.Contains(r.Stdout, "DOWN") || !strings.Contains(r.Stdout, "Token: admin's, expires") {
		t.Fatalf("cfs status while disconnected: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	mustRun(t, "cfs", "reconnect", "--mount", a.Mount)
	waitFor(t, "the log to drain in the metrics", func() bool {
		return value(`coda_venus_cml_records{volume="coda.root"}`) == 0 && value("coda_venus_updates_reintegrated_total") >= 1
	})
	if r := bintest.Run(t, "", "cfs", "status", "--mount", a.Mount); r.Code != 0 || !regexp.MustCompile(`(?m)^coda\.root +connected +0 `).MatchString(r.Stdout) {
		t.Fatalf("cfs status after reintegration: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	if st, err := os.Stat(filepath.Join(c.VenusCache("a"), "metrics.key")); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("the metrics key: %v %v (want mode 0600)", st.Mode(), err)
	}
}
