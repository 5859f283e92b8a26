package control

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
)

// Defaults of the environment variables that locate venus.
const (
	// DefaultRunDir holds the control sockets unless $CODA_RUN_DIR says
	// otherwise.
	DefaultRunDir = "/run/coda"
	// DefaultMount is where tools look for venus when given no path and
	// $CODA_MOUNT is unset.
	DefaultMount = "/coda"
)

// mountinfoPath is the kernel's list of this process's mounts.
const mountinfoPath = "/proc/self/mountinfo"

// RunDir is the directory of the control sockets: $CODA_RUN_DIR, else
// DefaultRunDir.
func RunDir() string {
	if d := os.Getenv("CODA_RUN_DIR"); d != "" {
		return d
	}
	return DefaultRunDir
}

// SocketPath is the control socket of the venus mounted at mountpoint:
// RunDir()/venus-H.sock, H the first 16 hex digits of the SHA-256 of the
// absolute, clean mount point. Venus and the tools must spell the mount
// point the same way: venus passes the path the kernel shows in mountinfo
// (symlinks evaluated), which is what FindMount returns.
func SocketPath(mountpoint string) string {
	p, err := filepath.Abs(mountpoint)
	if err != nil {
		p = filepath.Clean(mountpoint)
	}
	sum := sha256.Sum256([]byte(p))
	return filepath.Join(RunDir(), "venus-"+hex.EncodeToString(sum[:8])+".sock")
}

// FindMount returns the mount point of the innermost venus mount (file
// system type fuse.coda) that contains path. path is made absolute and its
// symlinks are evaluated as far as it exists.
func FindMount(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("finding the coda mount of %s: %w", path, err)
	}
	b, err := os.ReadFile(mountinfoPath)
	if err != nil {
		return "", fmt.Errorf("finding the coda mount of %s: %w", path, err)
	}
	mounts, err := parseMountinfo(string(b))
	if err != nil {
		return "", fmt.Errorf("%s: %w", mountinfoPath, err)
	}
	resolved := evalExisting(abs)
	if mp, ok := innermostCoda(mounts, resolved); ok {
		return mp, nil
	}
	if resolved != abs {
		return "", fmt.Errorf("no coda mount at or above %s (it resolves to %s)", abs, resolved)
	}
	return "", fmt.Errorf("no coda mount at or above %s", abs)
}

// evalExisting evaluates the symlinks of the longest existing prefix of
// abs (an absolute, clean path) and appends the rest unchanged.
func evalExisting(abs string) string {
	for dir := abs; ; dir = filepath.Dir(dir) {
		if r, err := filepath.EvalSymlinks(dir); err == nil {
			return filepath.Join(r, abs[len(dir):])
		}
		if dir == filepath.Dir(dir) {
			return abs
		}
	}
}

// Locate finds the control socket for path and the venus mount point that
// holds path. An empty path means $CODA_MOUNT, else DefaultMount. When
// $CODA_CONTROL is set, it is the socket, and mountpoint is the mount of
// path if there is one, else "".
func Locate(path string) (socket, mountpoint string, err error) {
	if path == "" {
		if path = os.Getenv("CODA_MOUNT"); path == "" {
			path = DefaultMount
		}
	}
	if s := os.Getenv("CODA_CONTROL"); s != "" {
		mp, err := FindMount(path)
		if err != nil {
			mp = ""
		}
		return s, mp, nil
	}
	mp, err := FindMount(path)
	if err != nil {
		return "", "", err
	}
	return SocketPath(mp), mp, nil
}
