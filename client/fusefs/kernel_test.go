package fusefs

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// These tests check the kernel behaviour the adapter's design rests on,
// with a one-file go-fuse file system: passthrough is offered, and the
// kernel refuses an inode opened both with and without passthrough.

type ptRoot struct {
	fs.Inode
	file *ptFile
}

type ptFile struct {
	fs.Inode
	path      string
	opens     atomic.Int32
	reads     atomic.Int32
	plainOpen int32 // this open (1-based) goes without passthrough
}

type ptHandle struct {
	f *os.File
	n *ptFile
}

type ptPassHandle struct{ ptHandle }

func (h *ptHandle) Read(ctx context.Context, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	h.n.reads.Add(1)
	n, _ := h.f.ReadAt(dest, off)
	return fuse.ReadResultData(dest[:n]), 0
}

func (h *ptHandle) Release(ctx context.Context) syscall.Errno { h.f.Close(); return 0 }

func (h *ptPassHandle) PassthroughFd() (int, bool) { return int(h.f.Fd()), true }

func (n *ptFile) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	f, err := os.Open(n.path)
	if err != nil {
		return nil, 0, fs.ToErrno(err)
	}
	if n.opens.Add(1) == n.plainOpen {
		return &ptHandle{f, n}, 0, 0
	}
	return &ptPassHandle{ptHandle{f, n}}, 0, 0
}

func (n *ptFile) Getattr(ctx context.Context, fh fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	st, err := os.Stat(n.path)
	if err != nil {
		return fs.ToErrno(err)
	}
	out.Size, out.Mode = uint64(st.Size()), syscall.S_IFREG|0o644
	return 0
}

func (r *ptRoot) OnAdd(ctx context.Context) {
	r.AddChild("f", r.NewPersistentInode(ctx, r.file, fs.StableAttr{Mode: syscall.S_IFREG}), false)
}

func mountPT(t *testing.T, plainOpen int32) (string, *ptFile, *fuse.Server) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if err := os.WriteFile(data, []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	mnt := filepath.Join(dir, "mnt")
	os.Mkdir(mnt, 0o755)
	file := &ptFile{path: data, plainOpen: plainOpen}
	srv, err := fs.Mount(mnt, &ptRoot{file: file}, &fs.Options{MountOptions: fuse.MountOptions{DirectMount: true}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Unmount() })
	if srv.KernelSettings().Flags64()&fuse.CAP_PASSTHROUGH == 0 {
		t.Skip("the kernel does not offer FUSE passthrough")
	}
	return filepath.Join(mnt, "f"), file, srv
}

func TestKernelPassthroughBypassesTheServer(t *testing.T) {
	path, file, _ := mountPT(t, 0)
	out, err := exec.Command("cat", path).CombinedOutput()
	if err != nil || string(out) != "hello\n" {
		t.Fatalf("cat: %q %v", out, err)
	}
	if n := file.reads.Load(); n != 0 {
		t.Fatalf("%d reads reached the FUSE server with passthrough", n)
	}
}

// TestKernelRefusesMixedModes: while an inode is open without passthrough,
// a passthrough open of it fails (EIO). Hence venus gives every open of a
// file passthrough.
func TestKernelRefusesMixedModes(t *testing.T) {
	path, _, _ := mountPT(t, 1)
	out, _ := exec.Command("sh", "-c", "exec 3<"+path+"; cat "+path+"; cat <&3").CombinedOutput()
	if !strings.Contains(string(out), "Input/output error") {
		t.Fatalf("a passthrough open beside a cached open was not refused: %q", out)
	}
}
