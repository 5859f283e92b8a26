package venustest

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

const (
	helperEnv = "VENUSTEST_HELPER"
	argsEnv   = "VENUSTEST_ARGS"
)

// Helpers maps names to functions run in a child process.
type Helpers map[string]func(args []string) error

// MaybeRunHelper runs the helper named in the environment and exits, when
// this process was started by Command; otherwise it returns. Call it first
// in TestMain.
func MaybeRunHelper(h Helpers) {
	name := os.Getenv(helperEnv)
	if name == "" {
		return
	}
	fn := h[name]
	if fn == nil {
		fmt.Fprintf(os.Stderr, "venustest: no helper %q\n", name)
		os.Exit(2)
	}
	var args []string
	if err := json.Unmarshal([]byte(os.Getenv(argsEnv)), &args); err != nil {
		fmt.Fprintf(os.Stderr, "venustest: helper arguments: %v\n", err)
		os.Exit(2)
	}
	if err := fn(args); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// Command returns a command that runs helper name with args in a child
// copy of the test binary.
func Command(name string, args ...string) *exec.Cmd {
	b, _ := json.Marshal(args)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+name, argsEnv+"="+string(b))
	return cmd
}

// RunHelper runs helper name and fails the test when it fails; it returns
// its standard output.
func RunHelper(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := Output(Command(name, args...))
	if err != nil {
		t.Fatalf("helper %s %v: %v", name, args, err)
	}
	return out
}

// Sh runs a shell script as a separate process and fails the test when it
// fails; it returns its standard output.
func Sh(t testing.TB, script string) string {
	t.Helper()
	out, err := ShErr(script)
	if err != nil {
		t.Fatalf("sh -c %q: %v", script, err)
	}
	return out
}

// ShErr runs a shell script and returns its standard output, and an error
// carrying its standard error when it fails.
func ShErr(script string) (string, error) {
	return Output(exec.Command("sh", "-c", script))
}

// Output runs cmd and returns its standard output; a failure's error
// includes the standard error.
func Output(cmd *exec.Cmd) (string, error) {
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("%w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}
