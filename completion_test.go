package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/coda-fs/coda/server/bintest"
)

// TestBashCompletion: the bash script of coda completion completes modes,
// subcommands and flags, for coda and for a busybox name, by asking the
// real binary.
func TestBashCompletion(t *testing.T) {
	bin := bintest.Binary(t)
	dir := t.TempDir()
	if err := os.Symlink(bin, filepath.Join(dir, "cfs")); err != nil {
		t.Fatal(err)
	}
	script, err := exec.Command(bin, "completion", "bash").Output()
	if err != nil {
		t.Fatal(err)
	}
	complete := func(words ...string) string {
		t.Helper()
		cmd := exec.Command("bash", "-c", string(script)+`
COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _coda_complete; echo "${COMPREPLY[*]}"`, "bash")
		cmd.Args = append(cmd.Args, words...)
		cmd.Env = append(os.Environ(), "PATH="+dir+":"+os.Getenv("PATH"))
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("completing %v: %v", words, err)
		}
		return strings.TrimSpace(string(out))
	}
	for _, tc := range []struct {
		words []string
		want  string
	}{
		{[]string{bin, "vol"}, "volutil"},
		{[]string{"cfs", "st"}, "status strong"},
		{[]string{bin, "cfs", "status", "--mo"}, "--mount"},
		{[]string{bin, "volutil", "dum"}, "dump dumpestimate"},
	} {
		if got := complete(tc.words...); got != tc.want {
			t.Errorf("completing %q: %q, want %q", tc.words, got, tc.want)
		}
	}
	if out, err := exec.Command(bin, "completion", "zsh").Output(); err != nil || !strings.HasPrefix(string(out), "#compdef coda venus cfs") {
		t.Errorf("the zsh script: %v\n%s", err, out)
	}
	if err := exec.Command(bin, "completion", "fish").Run(); err == nil {
		t.Error("an unknown shell was accepted")
	}
}
