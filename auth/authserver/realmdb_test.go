package authserver

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/coda-fs/coda/server/proto"
	"github.com/coda-fs/coda/server/store"
)

func TestStoreKeysAndValues(t *testing.T) {
	e := newEnv(t)
	for _, d := range e.svc.Databases() {
		raw, err := e.db.Get([]byte("R" + d.Name()))
		if err != nil {
			t.Fatalf("key R%s: %v", d.Name(), err)
		}
		snap := d.Snapshot()
		if snap.Version != 1 || len(raw) != 8+len(snap.Data) || string(raw[8:]) != string(snap.Data) {
			t.Fatalf("R%s holds %d bytes; snapshot version %d with %d bytes", d.Name(), len(raw), snap.Version, len(snap.Data))
		}
	}
	if s := e.svc.pw.Snapshot(); !strings.HasPrefix(string(s.Data), "coda-passwd 1\n1 admin $argon2id$") {
		t.Fatalf("passwd payload %q", s.Data)
	}
}

func TestInstallVersionsOnlyGrow(t *testing.T) {
	e := newEnv(t)
	e.pdb("nu", "alice") // pdb version 2
	db := openStore(t, t.TempDir())
	ro := e.start(db, false)
	snap := e.svc.pdb.Snapshot()
	if err := ro.pdb.Install(snap.Version, snap.Data); err != nil {
		t.Fatal(err)
	}
	if err := ro.pdb.Install(snap.Version, snap.Data); err != nil {
		t.Fatalf("re-installing the same version: %v", err)
	}
	if err := ro.pdb.Install(snap.Version, []byte("coda-pdb 1\n")); err == nil || !strings.Contains(err.Error(), "other content") {
		t.Fatalf("same version, other content: %v", err)
	}
	if err := ro.pdb.Install(snap.Version-1, snap.Data); err == nil || !strings.Contains(err.Error(), "older") {
		t.Fatalf("older version: %v", err)
	}
	if err := ro.pdb.Install(snap.Version+1, []byte("garbage")); err == nil {
		t.Fatal("undecodable content installed")
	}
	if err := ro.pw.Install(5, []byte("coda-passwd 1\n1 admin not-a-hash\n")); err == nil {
		t.Fatal("passwd entry with a malformed hash installed")
	}
	if ro.pdb.Version() != snap.Version {
		t.Fatalf("refused installs moved the version to %d", ro.pdb.Version())
	}
	if _, ok := ro.Lookup("alice"); !ok {
		t.Fatal("installed pdb does not have alice")
	}
	// The install is durable.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	ro2 := e.start(openStore(t, db.Dir()), false)
	if ro2.pdb.Version() != snap.Version {
		t.Fatalf("installed version %d after reopen, want %d", ro2.pdb.Version(), snap.Version)
	}
}

func TestFailedWriteChangesNothing(t *testing.T) {
	e := newEnv(t)
	pv, wv := e.svc.pdb.Version(), e.svc.pw.Version()
	if err := e.db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.PDB([]string{"nu", "dave"}); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("nu on a closed store: %v", err)
	}
	if err := e.svc.SetPassword("admin", []byte("other")); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("SetPassword on a closed store: %v", err)
	}
	if _, ok := e.svc.Lookup("dave"); ok {
		t.Fatal("a user whose write failed is visible")
	}
	if e.svc.pdb.Version() != pv || e.svc.pw.Version() != wv {
		t.Fatal("a failed write moved a version")
	}
	if _, err := e.login("admin", adminPW); err != nil {
		t.Fatalf("the old password stopped working after a failed change: %v", err)
	}
}

// TestConcurrentUse runs logins, token checks and CPS lookups while the
// pdb changes; run with -race.
func TestConcurrentUse(t *testing.T) {
	e := newEnv(t)
	info, err := e.login("admin", adminPW)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	errs := make(chan error, 8)
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := e.svc.OpenToken(info.Token); err != nil {
					errs <- err
					return
				}
				if _, admin := e.svc.CPS(1); !admin {
					errs <- fmt.Errorf("admin lost System:Administrators")
					return
				}
				if _, err := e.svc.Login(context.Background(), "admin", []byte(adminPW), "127.0.0.1:1"); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	for i := range 20 {
		e.pdb("nu", fmt.Sprintf("user%d", i))
		e.pdb("ag", "System:Administrators", fmt.Sprintf("user%d", i))
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	ids, admin := e.svc.CPS(int32(proto.AdminUserID + 20))
	if !admin || len(ids) != 3 {
		t.Fatalf("CPS(user19) = %v, %v", ids, admin)
	}
}
