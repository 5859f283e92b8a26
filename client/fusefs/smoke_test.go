package fusefs_test

import (
	"strings"
	"testing"

	"github.com/coda-fs/coda/client/venustest"
)

func TestSmoke(t *testing.T) {
	srv := venustest.NewServer(t)
	v := venustest.Start(t, srv, venustest.Options{})
	out := venustest.Sh(t, "cd "+v.Root+" && echo hello > a && cat a && mkdir d && ls -la . && stat a")
	t.Log(out)
	if !strings.Contains(out, "hello") {
		t.Fatalf("no hello")
	}
}
