package main

import (
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

const module = "github.com/coda-fs/coda"

// goPackage is the part of `go list -json` the import rules need.
type goPackage struct {
	ImportPath string
	Imports    []string // direct, not counting tests
	Deps       []string // transitive, not counting tests
}

func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

// listPackages runs `go list -e -json ./...` (which reports every
// package's direct imports and its transitive dependencies).
func listPackages(t *testing.T) []goPackage {
	t.Helper()
	cmd := exec.Command(goTool(), "list", "-e", "-json", "./...")
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("go list: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("go list: %v", err)
	}
	var pkgs []goPackage
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p goPackage
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) == 0 {
		t.Fatal("go list found no packages")
	}
	return pkgs
}

// under reports whether the import path p is dir or inside it (dir is
// relative to the module, "" for the root).
func under(p, dir string) bool {
	full := module + "/" + dir
	return p == full || strings.HasPrefix(p, full+"/")
}

func isNet(p string) bool { return p == "net" || strings.HasPrefix(p, "net/") }

const (
	pebble = "github.com/cockroachdb/pebble"
	gofuse = "github.com/hanwen/go-fuse"
)

func hasPrefixPath(p, prefix string) bool { return p == prefix || strings.HasPrefix(p, prefix+"/") }

// TestImportRules enforces DESIGN.md §2's dependency rules (see doc.go):
// server/proto imports nothing of ours; resolve/ imports no pebble,
// go-fuse or net (not even transitively); only client/fusefs imports
// go-fuse; server/... never depends on client/...; on the server side only
// server/store imports pebble.
func TestImportRules(t *testing.T) {
	for _, p := range listPackages(t) {
		path := p.ImportPath
		for _, d := range p.Deps {
			ours := strings.HasPrefix(d, module+"/") || d == module
			switch {
			case under(path, "server/proto") && ours:
				t.Errorf("%s depends on %s: server/proto imports nothing of ours", path, d)
			case under(path, "resolve") && (hasPrefixPath(d, pebble) || hasPrefixPath(d, gofuse) || isNet(d)):
				t.Errorf("%s depends on %s: resolve/ is a pure engine (no pebble, go-fuse or net)", path, d)
			case under(path, "server") && under(d, "client"):
				t.Errorf("%s depends on %s: server/... never imports client/...", path, d)
			}
		}
		for _, imp := range p.Imports {
			if hasPrefixPath(imp, gofuse) && !under(path, "client/fusefs") {
				t.Errorf("%s imports %s: only client/fusefs imports go-fuse", path, imp)
			}
			if hasPrefixPath(imp, pebble) && under(path, "server") && !under(path, "server/store") {
				t.Errorf("%s imports %s: on the server side only server/store imports pebble", path, imp)
			}
		}
	}
}

// TestImportRulesCatchViolations checks the predicates the rules use, so
// that a rule cannot silently match nothing.
func TestImportRulesCatchViolations(t *testing.T) {
	checks := []struct {
		got  bool
		what string
	}{
		{under(module+"/server/proto", "server/proto"), "server/proto is under server/proto"},
		{under(module+"/server/store/x", "server"), "server/store/x is under server"},
		{!under(module+"/serverx", "server"), "serverx is not under server"},
		{under(module+"/client/fusefs", "client/fusefs"), "client/fusefs is itself"},
		{hasPrefixPath("github.com/hanwen/go-fuse/v2/fs", gofuse), "go-fuse/v2/fs is go-fuse"},
		{hasPrefixPath("github.com/cockroachdb/pebble/v2", pebble), "pebble/v2 is pebble"},
		{isNet("net") && isNet("net/netip") && !isNet("netx"), "net and net/... are net"},
	}
	for _, c := range checks {
		if !c.got {
			t.Errorf("predicate wrong: %s", c.what)
		}
	}
}
