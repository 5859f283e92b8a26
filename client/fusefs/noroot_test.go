package fusefs_test

import (
	"testing"

	"github.com/coda-fs/coda/client/venustest"
	"github.com/coda-fs/coda/server/servertest"
)

// TestRealmWithoutRootVolume: before the root volume exists the realm is an
// empty directory; once it is created the realm shows it.
func TestRealmWithoutRootVolume(t *testing.T) {
	srv := servertest.Start(t, servertest.Options{Logger: venustest.Logger(t, "server")})
	v := venustest.Start(t, srv, venustest.Options{})
	if got := venustest.Sh(t, "ls -a "+v.Mount); got != ".\n..\n"+srv.Realm+"\n" {
		t.Fatalf("mount root lists %q", got)
	}
	if got := venustest.Sh(t, "ls "+v.Root); got != "" {
		t.Fatalf("the realm without a root volume lists %q", got)
	}
	if _, err := venustest.ShErr("touch " + v.Path("f")); err == nil {
		t.Fatalf("created a file in a realm without a root volume")
	}
	srv.CreateVolume(venustest.RootVolume)
	venustest.Sh(t, "echo hello > "+v.Path("f"))
	if got := venustest.Sh(t, "cat "+v.Path("f")); got != "hello\n" {
		t.Fatalf("read %q", got)
	}
}
