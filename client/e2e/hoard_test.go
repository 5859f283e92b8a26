package e2e

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/coda-fs/coda/server/bintest"
)

// TestHoardWalk: a tree hoarded with :d+ is cached whole after coda hoard
// walk, a file another client added after the entry included (verify
// finds nothing missing); cut off from the servers, every hoarded file
// opens with its content while a file outside the hoard fails with
// ETIMEDOUT. Entries list, survive a venus restart, and delete.
func TestHoardWalk(t *testing.T) {
	c := cell{bintest.NewCell(t, bintest.CellOptions{Realm: realm, Servers: 2})}
	w, h := c.Venus("w"), c.Venus("h")
	want := map[string]string{}
	for _, d := range []string{"www", "www/css", "www/img/icons", "other"} {
		if err := os.MkdirAll(filepath.Join(w.Root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for i, p := range []string{"www/index.html", "www/css/site.css", "www/img/icons/a.png", "www/img/logo.png", "other/unhoarded"} {
		body := fmt.Sprintf("content %d of %s\n%s", i, p, strings.Repeat("x", i*50000))
		if err := os.WriteFile(filepath.Join(w.Root, p), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(p, "other/") {
			want[p] = body
		}
	}
	sh(t, "ls "+h.Root+" > /dev/null") // the hoarder has seen the top directory only

	if out := mustRun(t, "hoard", "add", h.Root+"/www", "100:d+").Stdout; out != "1 entries added\n" {
		t.Fatalf("hoard add: %q", out)
	}
	later := "www/img/icons/later.png"
	want[later] = "made after the entry\n"
	if err := os.WriteFile(filepath.Join(w.Root, later), []byte(want[later]), 0o644); err != nil {
		t.Fatal(err)
	}
	if out := mustRun(t, "hoard", "walk", "--mount", h.Mount).Stdout; !strings.Contains(out, "objects hoarded") || strings.Contains(out, "missing") {
		t.Fatalf("hoard walk: %q", out)
	}
	if r := bintest.Run(t, "", "hoard", "verify", "--mount", h.Mount); r.Code != 0 || r.Stdout != "" {
		t.Fatalf("hoard verify after the walk: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	if out := mustRun(t, "hoard", "list", "--mount", h.Mount).Stdout; !strings.Contains(out, "/www 100:d+ uid 0") {
		t.Fatalf("hoard list: %q", out)
	}

	mustRun(t, "cfs", "disconnect", "--mount", h.Mount)
	for p, body := range want {
		got, err := os.ReadFile(filepath.Join(h.Root, p))
		if err != nil || string(got) != body {
			t.Errorf("hoarded %s while disconnected: %v (%d bytes of %d)", p, err, len(got), len(body))
		}
	}
	if _, err := os.ReadFile(filepath.Join(h.Root, "other/unhoarded")); !errors.Is(err, syscall.ETIMEDOUT) {
		t.Errorf("a file outside the hoard while disconnected: %v, want ETIMEDOUT", err)
	}
	mustRun(t, "cfs", "reconnect", "--mount", h.Mount)

	h.Proc.Stop()
	h = c.Venus("h") // the same mount point and cache
	if out := mustRun(t, "hoard", "list", "--mount", h.Mount).Stdout; !strings.Contains(out, "/www 100:d+") {
		t.Fatalf("hoard list after a venus restart: %q", out)
	}
	mustRun(t, "hoard", "delete", h.Root+"/www")
	if out := mustRun(t, "hoard", "list", "--mount", h.Mount).Stdout; out != "" {
		t.Fatalf("hoard list after delete: %q", out)
	}
	if r := bintest.Run(t, "", "hoard", "add", h.Root+"/www", "5000"); r.Code == 0 || !strings.Contains(r.Stderr, "priority") {
		t.Fatalf("hoard add with priority 5000: exit %d, %s", r.Code, r.Stderr)
	}
}
