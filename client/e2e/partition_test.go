package e2e

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/coda-fs/coda/server/bintest"
)

// TestPartitionMergesUniqueNames: two servers, two clients, a client-side
// partition (A reaches only server 1, B only server 2), both working at the
// same time: each uploads uniquely named images and deletes old ones, and
// each delivers mail into a maildir (create in tmp/, rename into new/).
// When the partition heals, reading new/ first and then the rest merges
// everything with no conflict: both clients see the union minus the
// deletions, every message once, and the replicas end identical.
func TestPartitionMergesUniqueNames(t *testing.T) {
	c := cell{bintest.NewCell(t, bintest.CellOptions{Realm: realm, Servers: 2})}
	a, b := c.Venus("a"), c.Venus("b")
	sh(t, "mkdir -p "+a.Root+"/up "+a.Root+"/mail/tmp "+a.Root+"/mail/new && for i in $(seq 1 20); do echo old $i > "+a.Root+"/up/old-$i; done")
	if out := sh(t, "ls "+b.Root+"/up | wc -l"); strings.TrimSpace(out) != "20" {
		t.Fatalf("b sees %s files before the partition", out)
	}
	s1, s2 := c.Servers[0].Addr, c.Servers[1].Addr
	cfs := func(args ...string) {
		t.Helper()
		if r := bintest.Run(t, "", append([]string{"cfs"}, args...)...); r.Code != 0 {
			t.Fatalf("cfs %v: %s", args, r.Stderr)
		}
	}
	cfs("disconnect", "--mount", a.Mount, s2)
	cfs("disconnect", "--mount", b.Mount, s1)
	work := func(root, side string, del0 int) chan error {
		done := make(chan error, 1)
		go func() {
			done <- func() error {
				for i := 1; i <= 100; i++ {
					if err := os.WriteFile(fmt.Sprintf("%s/up/img-%s-%03d.jpg", root, side, i), []byte(side), 0o644); err != nil {
						return err
					}
					tmp := fmt.Sprintf("%s/mail/tmp/%s.%d", root, side, i)
					if err := os.WriteFile(tmp, []byte("mail "+side), 0o644); err != nil {
						return err
					}
					if err := os.Rename(tmp, fmt.Sprintf("%s/mail/new/%s.%d", root, side, i)); err != nil {
						return err
					}
				}
				for i := del0; i < del0+5; i++ {
					if err := os.Remove(fmt.Sprintf("%s/up/old-%d", root, i)); err != nil {
						return err
					}
				}
				return nil
			}()
		}()
		return done
	}
	da, db := work(a.Root, "a", 1), work(b.Root, "b", 6)
	for _, d := range []chan error{da, db} {
		if err := <-d; err != nil {
			t.Fatalf("partitioned work: %v", err)
		}
	}
	cfs("reconnect", "--mount", a.Mount)
	cfs("reconnect", "--mount", b.Mount)

	var want []string
	for i := 11; i <= 20; i++ {
		want = append(want, fmt.Sprintf("old-%d", i))
	}
	for _, side := range []string{"a", "b"} {
		for i := 1; i <= 100; i++ {
			want = append(want, fmt.Sprintf("img-%s-%03d.jpg", side, i))
		}
	}
	sort.Strings(want)
	var wantMail []string
	for _, side := range []string{"a", "b"} {
		for i := 1; i <= 100; i++ {
			wantMail = append(wantMail, fmt.Sprintf("%s.%d", side, i))
		}
	}
	sort.Strings(wantMail)
	deadline := time.Now().Add(30 * time.Second)
	for {
		var problems []string
		for _, v := range []*bintest.Venus{a, b} {
			if got := list(t, v.Root+"/mail/new"); strings.Join(got, " ") != strings.Join(wantMail, " ") {
				problems = append(problems, fmt.Sprintf("%s new/: %d messages", v.Mount, len(got)))
			}
			if got := list(t, v.Root+"/mail/tmp"); len(got) != 0 {
				problems = append(problems, fmt.Sprintf("%s tmp/: %v", v.Mount, got))
			}
			if got := list(t, v.Root+"/up"); strings.Join(got, " ") != strings.Join(want, " ") {
				problems = append(problems, fmt.Sprintf("%s up/: %d names", v.Mount, len(got)))
			}
		}
		if len(problems) == 0 {
			break
		}
		if time.Now().After(deadline) {
			la, _ := os.ReadFile(a.Log)
			l1, _ := os.ReadFile(c.Servers[0].Log)
			t.Fatalf("after healing: %v\nvenus a:\n%s\nserver 1:\n%s", problems, tail(la), tail(l1))
		}
		time.Sleep(200 * time.Millisecond) // poll: venus reconnects by itself
	}
	for _, v := range []*bintest.Venus{a, b} {
		if out := sh(t, "cat "+v.Root+"/mail/new/b.7 "+v.Root+"/up/img-a-099.jpg"); out != "mail ba" {
			t.Fatalf("%s reads %q", v.Mount, out)
		}
		r := bintest.Run(t, "", "cfs", "lv", v.Root+"/up")
		if !strings.Contains(r.Stdout, "No object known out of date") {
			t.Fatalf("cfs lv after the merge:\n%s%s", r.Stdout, r.Stderr)
		}
	}
	c.waitLevel(t, a.Root)
}

// list returns the sorted names in dir.
func list(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		return []string{"error: " + err.Error()}
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	sort.Strings(out)
	return out
}

// tail is the end of a log, for failure messages.
func tail(b []byte) string {
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	return string(b)
}
