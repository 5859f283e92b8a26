package store

import (
	"errors"
	"fmt"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
)

func TestApplyIsVisibleAtOnceAndDurableAfterWait(t *testing.T) {
	fs := vfs.NewCrashableMem()
	db := mustOpen(t, Options{FS: fs, Dir: "/s"})
	b := db.NewBatch()
	b.Set([]byte("k"), []byte("v"))
	wait, err := db.Apply(b)
	if err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, db, "k"); got != "v" {
		t.Fatalf("applied batch not visible before wait: %q", got)
	}
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	if err := wait(); err != nil {
		t.Fatalf("second wait: %v", err)
	}
	crashed := mustOpen(t, Options{FS: fs.CrashClone(vfs.CrashCloneCfg{}), Dir: "/s"})
	if got := mustGet(t, crashed, "k"); got != "v" {
		t.Fatalf("after a crash following wait: %q", got)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("Close after wait: %v", err)
	}
}

// With the WAL failing, no Apply reports success through its wait.
func TestApplyReportsWALFaults(t *testing.T) {
	f := newFaultFS(".log", errorfs.OpFileSync, errorfs.OpFileSyncData, errorfs.OpFileSyncTo)
	db := openFault(t, f)
	f.armed.Store(true)
	var waits []func() error
	for i := range 8 {
		b := db.NewBatch()
		b.Set(fmt.Appendf(nil, "k%d", i), []byte("v"))
		wait, err := db.Apply(b)
		if err != nil {
			continue
		}
		waits = append(waits, wait)
	}
	for i, wait := range waits {
		if err := wait(); err == nil {
			t.Fatalf("wait %d reported success while WAL syncs fail", i)
		}
	}
	b := db.NewBatch()
	b.Set([]byte("after"), nil)
	if _, err := db.Apply(b); !errors.Is(err, ErrFailed) {
		t.Fatalf("Apply on a failed store: %v, want ErrFailed", err)
	}
}
