package bintest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// Binary returns the path of the coda binary, building it if needed.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		if p := os.Getenv("CODA_BIN"); p != "" {
			binPath = p
			return
		}
		root, err := repoRoot()
		if err != nil {
			buildErr = err
			return
		}
		dir, err := os.MkdirTemp("", "coda-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "coda")
		cmd := exec.Command("go", "build", "-trimpath", "-o", binPath, ".")
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatalf("coda binary: %v", buildErr)
	}
	return binPath
}

// repoRoot finds the directory holding go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the test directory")
		}
		dir = parent
	}
}

// Result is a finished command.
type Result struct {
	Code   int
	Stdout string
	Stderr string
}

// Run runs the binary with args and returns its exit code and output.
func Run(t testing.TB, stdin string, args ...string) Result {
	t.Helper()
	return RunIn(t, "", stdin, args...)
}

// RunIn is Run in network namespace netns ("": here).
func RunIn(t testing.TB, netns, stdin string, args ...string) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	name, argv := InNetns(t, netns, args...)
	cmd := exec.CommandContext(ctx, name, argv...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	res := Result{Stdout: out.String(), Stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		res.Code = ee.ExitCode()
	case err != nil:
		t.Fatalf("run coda %v: %v", args, err)
	}
	return res
}

// Proc is a background process of the binary.
type Proc struct {
	Cmd     *exec.Cmd
	LogFile string
	done    chan struct{}
	err     error
}

// Start runs the binary in the background with output to logFile, and
// waits until readyFile exists (the process writes it when ready), the
// process exits, or the deadline passes.
func Start(t testing.TB, logFile, readyFile string, args ...string) *Proc {
	t.Helper()
	return StartIn(t, "", logFile, readyFile, args...)
}

// StartIn is Start in network namespace netns ("": here).
func StartIn(t testing.TB, netns, logFile, readyFile string, args ...string) *Proc {
	t.Helper()
	os.Remove(readyFile)
	lf, err := os.Create(logFile)
	if err != nil {
		t.Fatal(err)
	}
	defer lf.Close()
	name, argv := InNetns(t, netns, args...)
	cmd := exec.Command(name, argv...)
	cmd.Stdout, cmd.Stderr = lf, lf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &Proc{Cmd: cmd, LogFile: logFile, done: make(chan struct{})}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() { p.Kill() })
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(readyFile); err == nil {
			return p
		}
		select {
		case <-p.done:
			log, _ := os.ReadFile(logFile)
			t.Fatalf("coda %v exited before ready: %v\n%s", args, p.err, log)
		case <-time.After(10 * time.Millisecond): // poll the ready file
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(logFile)
			t.Fatalf("coda %v not ready after 30s\n%s", args, log)
		}
	}
}

// Signal sends sig to the process.
func (p *Proc) Signal(sig syscall.Signal) { p.Cmd.Process.Signal(sig) }

// Wait waits for the process to exit, up to d; it reports whether it did.
func (p *Proc) Wait(d time.Duration) bool {
	select {
	case <-p.done:
		return true
	case <-time.After(d):
		return false
	}
}

// Kill ends the process with SIGKILL and waits for it.
func (p *Proc) Kill() {
	select {
	case <-p.done:
		return
	default:
	}
	p.Cmd.Process.Kill()
	<-p.done
}

// Stop sends SIGTERM and waits up to 20 s, then kills.
func (p *Proc) Stop() {
	p.Signal(syscall.SIGTERM)
	if !p.Wait(20 * time.Second) {
		p.Kill()
	}
}

// AdminPassword is the admin password tests give `coda server init` on
// stdin: bintest.Run(t, bintest.AdminPassword+"\n", "server", "init", …).
const AdminPassword = "test-admin-password"

// InNetns returns args that run the binary with args in network namespace
// netns (a name under /run/netns) through nsenter, sharing every other
// namespace (so a FUSE mount made there is seen here); "" runs it here.
func InNetns(t testing.TB, netns string, args ...string) (string, []string) {
	if netns == "" {
		return Binary(t), args
	}
	return "nsenter", append([]string{"--net=/run/netns/" + netns, Binary(t)}, args...)
}
