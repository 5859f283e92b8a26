package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/coda-fs/coda/server/bintest"
)

// BenchmarkPartitionResolution measures the cost of healing a partition:
// two servers, two clients cut off from each other's server; each uploads
// PARTITION_FILES uniquely named files and delivers as many maildir
// messages (create in tmp/, rename into new/) while apart; then volutil
// resync merges everything. It reports the resync time as a share of the
// time the partitioned workload took (the bar: ≤ 10%), and checks the
// replicas end identical.
//
//	go test -run '^$' -bench PartitionResolution -benchtime 1x ./client/e2e/   (make bench)
func BenchmarkPartitionResolution(b *testing.B) {
	n := envInt("PARTITION_FILES", 1000)
	c := cell{bintest.NewCell(b, bintest.CellOptions{Realm: realm, Servers: 2})}
	va, vb := c.Venus("a"), c.Venus("b")
	for _, d := range []string{"up", "mail/tmp", "mail/new"} {
		if err := os.MkdirAll(filepath.Join(va.Root, d), 0o755); err != nil {
			b.Fatal(err)
		}
	}
	cut := func(v *bintest.Venus, op string, addrs ...string) {
		if r := bintest.Run(b, "", append([]string{"cfs", op, "--mount", v.Mount}, addrs...)...); r.Code != 0 {
			b.Fatalf("cfs %s: %s", op, r.Stderr)
		}
	}
	if _, err := os.ReadDir(filepath.Join(vb.Root, "mail/new")); err != nil {
		b.Fatal(err)
	}
	cut(va, "disconnect", c.Servers[1].Addr)
	cut(vb, "disconnect", c.Servers[0].Addr)
	b.ResetTimer()
	start := time.Now()
	errs := make(chan error, 2)
	for _, side := range []struct {
		root, who string
	}{{va.Root, "a"}, {vb.Root, "b"}} {
		go func() {
			errs <- func() error {
				for i := range n {
					if err := os.WriteFile(fmt.Sprintf("%s/up/%s-%05d.jpg", side.root, side.who, i), []byte(side.who), 0o644); err != nil {
						return err
					}
					tmp := fmt.Sprintf("%s/mail/tmp/%s.%d", side.root, side.who, i)
					if err := os.WriteFile(tmp, []byte("mail"), 0o644); err != nil {
						return err
					}
					if err := os.Rename(tmp, fmt.Sprintf("%s/mail/new/%s.%d", side.root, side.who, i)); err != nil {
						return err
					}
				}
				return nil
			}()
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			b.Fatal(err)
		}
	}
	work := time.Since(start)
	cut(va, "reconnect")
	cut(vb, "reconnect")
	start = time.Now()
	r := bintest.Run(b, "", "volutil", "-h", c.Addr, "--key", c.KeyFile(), "--ca", filepath.Join(c.Data, "db", "ca.pem"), "resync", "coda.root")
	heal := time.Since(start)
	b.StopTimer()
	if r.Code != 0 {
		b.Fatalf("resync: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	if l1, l2 := c.vnodeLines(b, 1), c.vnodeLines(b, 2); l1 != l2 {
		b.Fatal("the replicas differ after resync")
	}
	if es, err := os.ReadDir(filepath.Join(va.Root, "mail/new")); err != nil || len(es) != 2*n {
		b.Fatalf("new/ holds %d messages, %v; want %d", len(es), err, 2*n)
	}
	b.ReportMetric(100*heal.Seconds()/work.Seconds(), "%-of-work")
	b.Logf("partitioned workload (2 sides × %d uploads + %d maildir deliveries): %v; resync after healing: %v = %.1f%% of it (bar 10%%)",
		n, n, work.Round(time.Millisecond), heal.Round(time.Millisecond), 100*heal.Seconds()/work.Seconds())
}
