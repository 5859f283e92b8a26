package fusefs_test

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/coda-fs/coda/client/venustest"
)

// TestExecBinaryFromMount copies ls into the mount and runs it from there
// (exec maps the file: passthrough mmap of the container).
func TestExecBinaryFromMount(t *testing.T) {
	srv := venustest.NewServer(t)
	v := venustest.Start(t, srv, venustest.Options{})
	ls, err := exec.LookPath("ls")
	if err != nil {
		t.Skip("no ls")
	}
	venustest.Sh(t, "mkdir "+v.Path("bin")+" && cp "+ls+" "+v.Path("bin/ls"))
	out := venustest.Sh(t, v.Path("bin/ls")+" "+v.Path("bin"))
	if out != "ls\n" {
		t.Fatalf("ls run from the mount printed %q", out)
	}
	// A second client runs it from its own fetched copy.
	w := venustest.Start(t, srv, venustest.Options{})
	if out := venustest.Sh(t, w.Path("bin/ls")+" -d "+w.Path("bin")); out != w.Path("bin")+"\n" {
		t.Fatalf("ls run from the second mount printed %q", out)
	}
}

// TestSharedLibraryFromMount runs a binary whose dynamic loader and
// libraries all come from the mount: ld.so --library-path loads (mmaps)
// each shared library from venus's containers.
func TestSharedLibraryFromMount(t *testing.T) {
	srv := venustest.NewServer(t)
	v := venustest.Start(t, srv, venustest.Options{})
	ls, err := exec.LookPath("ls")
	if err != nil {
		t.Skip("no ls")
	}
	loader, libs := dynamicDeps(t, ls)
	lib := v.Path("lib")
	venustest.Sh(t, "mkdir "+lib+" && cp "+ls+" "+loader+" "+strings.Join(libs, " ")+" "+lib)
	ld := filepath.Join(lib, filepath.Base(loader))
	out := venustest.Sh(t, "LD_DEBUG=libs "+ld+" --library-path "+lib+" "+filepath.Join(lib, "ls")+" -d / 2>&1")
	if !strings.Contains(out, "/\n") {
		t.Fatalf("ls run through the mounted loader printed %q", out)
	}
	for _, l := range libs {
		if want := "calling init: " + filepath.Join(lib, filepath.Base(l)); !strings.Contains(out, want) {
			t.Fatalf("%s was not loaded from the mount:\n%s", filepath.Base(l), out)
		}
	}
}

// dynamicDeps lists bin's dynamic loader and shared libraries (ldd).
func dynamicDeps(t *testing.T, bin string) (loader string, libs []string) {
	out, err := venustest.ShErr("ldd " + bin)
	if err != nil {
		t.Skipf("ldd %s: %v", bin, err)
	}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 3 && f[1] == "=>" && strings.HasPrefix(f[2], "/"):
			libs = append(libs, f[2])
		case len(f) >= 1 && strings.HasPrefix(f[0], "/") && strings.Contains(f[0], "ld-"):
			loader = f[0]
		}
	}
	if loader == "" || len(libs) == 0 {
		t.Skipf("%s is not dynamically linked: %s", bin, out)
	}
	return loader, libs
}
