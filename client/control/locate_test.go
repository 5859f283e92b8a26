package control

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestSocketPath(t *testing.T) {
	run := t.TempDir()
	t.Setenv("CODA_RUN_DIR", run)
	sum := sha256.Sum256([]byte("/coda"))
	want := run + "/venus-" + hex.EncodeToString(sum[:])[:16] + ".sock"
	for _, mp := range []string{"/coda", "/coda/", "/coda/../coda", "//coda"} {
		if got := SocketPath(mp); got != want {
			t.Errorf("SocketPath(%q) = %q, want %q", mp, got, want)
		}
	}
	if SocketPath("/coda2") == want {
		t.Error("two mount points share a socket")
	}
	t.Chdir(t.TempDir())
	abs, err := filepath.Abs("m")
	if err != nil {
		t.Fatal(err)
	}
	if SocketPath("m") != SocketPath(abs) {
		t.Error("a relative mount point is not made absolute")
	}
	t.Setenv("CODA_RUN_DIR", "")
	if got := SocketPath("/coda"); got != "/run/coda/venus-"+hex.EncodeToString(sum[:8])+".sock" || len(got) > maxSocketPath {
		t.Errorf("default SocketPath = %q", got)
	}
}

func TestLocateOutsideCodaSaysSo(t *testing.T) {
	t.Setenv("CODA_CONTROL", "")
	dir := t.TempDir()
	_, _, err := Locate(dir)
	if err == nil || err.Error() != "no coda mount at or above "+dir {
		t.Fatalf("Locate(%s): %v", dir, err)
	}
	t.Setenv("CODA_MOUNT", dir)
	if _, _, err := Locate(""); err == nil || err.Error() != "no coda mount at or above "+dir {
		t.Fatalf("Locate with CODA_MOUNT=%s: %v", dir, err)
	}
	// Symlinks are followed, as far as the path exists.
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(dir, link); err != nil {
		t.Fatal(err)
	}
	_, err = FindMount(filepath.Join(link, "missing", "f"))
	want := fmt.Sprintf("no coda mount at or above %s/missing/f (it resolves to %s/missing/f)", link, dir)
	if err == nil || err.Error() != want {
		t.Fatalf("FindMount through a symlink: %v, want %q", err, want)
	}
}

func TestLocateHonoursCodaControl(t *testing.T) {
	t.Setenv("CODA_CONTROL", "/elsewhere/v.sock")
	sock, mp, err := Locate(t.TempDir())
	if err != nil || sock != "/elsewhere/v.sock" || mp != "" {
		t.Fatalf("Locate = %q, %q, %v", sock, mp, err)
	}
}

// TestFindMountOnARealCodaMount mounts a fuse.coda file system the way
// go-fuse does (mount(2) with a /dev/fuse descriptor), aborts the
// connection at once so that nothing can block on it, and finds it by a
// path below it, through a mount point name with a space.
func TestFindMountOnARealCodaMount(t *testing.T) {
	needRoot(t, "mounting")
	if _, err := os.Stat("/dev/fuse"); err != nil {
		if os.Getenv("CODA_TEST_DISALLOW_SKIP") != "" {
			t.Fatal("mounting needs /dev/fuse")
		}
		t.Skip("mounting needs /dev/fuse")
	}
	mp := filepath.Join(t.TempDir(), "my coda")
	if err := os.Mkdir(mp, 0o755); err != nil {
		t.Fatal(err)
	}
	fd, err := syscall.Open("/dev/fuse", syscall.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	opts := fmt.Sprintf("fd=%d,rootmode=40000,user_id=0,group_id=0", fd)
	err = syscall.Mount("coda", mp, "fuse.coda", syscall.MS_NOSUID|syscall.MS_NODEV, opts)
	_ = syscall.Close(fd) // aborts the connection: accesses fail with ENOTCONN
	if err != nil {
		t.Fatalf("mount: %v", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(mp, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", mp, err)
		}
	})
	got, err := FindMount(filepath.Join(mp, "realm", "f"))
	if err != nil || got != mp {
		t.Fatalf("FindMount = %q, %v; want %q", got, err, mp)
	}
	t.Setenv("CODA_CONTROL", "")
	t.Setenv("CODA_MOUNT", mp)
	t.Setenv("CODA_RUN_DIR", t.TempDir())
	sock, got, err := Locate("")
	if err != nil || got != mp || sock != SocketPath(mp) {
		t.Fatalf("Locate = %q, %q, %v", sock, got, err)
	}
	if !strings.HasPrefix(sock, RunDir()+"/venus-") {
		t.Fatalf("socket %s is not in %s", sock, RunDir())
	}
	if _, err := Dial(sock); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("Dial with no venus: %v", err)
	}
}
