package pki

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// WriteSecretFile creates path with mode 0600 and writes data to it. The
// file must not exist yet. The file and its directory are fsynced before
// WriteSecretFile returns, so the secret survives a crash once written. On
// failure the partly written file is removed.
func WriteSecretFile(path string, data []byte) (err error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("create secret file: %w", err)
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(path)
		}
	}()
	// The umask can only remove bits; set the mode exactly anyway.
	if err := f.Chmod(0o600); err != nil {
		return fmt.Errorf("secret file %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("write secret file %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync secret file %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close secret file %s: %w", path, err)
	}
	return syncDir(filepath.Dir(path))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}

// maxSecretFile bounds what ReadSecretFile reads: keys are a few hundred
// bytes.
const maxSecretFile = 64 << 10

// ReadSecretFile reads a secret file. It refuses a file that is not a
// regular file or that group or others may read, write or execute, and says
// how to fix it.
func ReadSecretFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("secret file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("secret file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("secret file %s is not a regular file", path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("secret file %s is accessible by group or others (mode %04o); run: chmod 600 %s", path, perm, path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
	if err != nil {
		return nil, fmt.Errorf("read secret file %s: %w", path, err)
	}
	if len(data) > maxSecretFile {
		return nil, fmt.Errorf("secret file %s is larger than %d bytes", path, maxSecretFile)
	}
	return data, nil
}
