package venus

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/coda-fs/coda/server/pki"
	"github.com/coda-fs/coda/server/rpc"
)

// PinnedCAFile is the name, inside the cache directory, of the realm CA
// trusted on first use.
const PinnedCAFile = "realm-ca.pem"

// loadCA returns the realm CA to pin and the file it is pinned in: the
// configured CA file, the one pinned earlier in the cache, or (trust on first
// use) the CA the first reachable server presents, which is then stored.
func (v *Venus) loadCA(ctx context.Context) (pem []byte, path string, err error) {
	if v.opts.CAFile != "" {
		pem, err = os.ReadFile(v.opts.CAFile)
		if err != nil {
			return nil, "", fmt.Errorf("realm CA: %w", err)
		}
		return pem, v.opts.CAFile, nil
	}
	path = filepath.Join(v.opts.CacheDir, PinnedCAFile)
	pem, err = os.ReadFile(path)
	if err == nil {
		return pem, path, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, "", fmt.Errorf("realm CA: %w", err)
	}
	pem, err = v.fetchCA(ctx)
	if err != nil {
		return nil, "", err
	}
	if err := writeFileAtomic(path, pem, 0o644); err != nil {
		return nil, "", fmt.Errorf("pin realm CA: %w", err)
	}
	fp, _ := pki.Fingerprint(pem)
	v.log.Warn("trusting the realm CA on first use", "realm", v.opts.Realm, "fingerprint", fp, "pinned_in", path)
	return pem, path, nil
}

func (v *Venus) fetchCA(ctx context.Context) ([]byte, error) {
	var errs []error
	for _, addr := range v.opts.Servers {
		fctx, cancel := context.WithTimeout(ctx, v.opts.DialTimeout)
		pem, err := pki.FetchCA(fctx, addr, v.opts.Realm)
		cancel()
		if err == nil {
			return pem, nil
		}
		errs = append(errs, err)
	}
	return nil, &errUnreachable{fmt.Errorf("cannot fetch the CA of realm %s from any server: %w",
		v.opts.Realm, oneLine(errs))}
}

// explainDial turns a refused certificate into an error naming the pinned CA
// file.
func (v *Venus) explainDial(addr string, err error) error {
	var mm *pki.CAMismatchError
	if errors.As(err, &mm) {
		return &CAError{Addr: addr, File: v.caPath, Err: mm}
	}
	var ce *rpc.ConnError
	if errors.As(err, &ce) && ce.Err != nil {
		return fmt.Errorf("server %s: %s: %w", addr, ce.Reason, ce.Err)
	}
	return err
}

// CAError is a server refused because its certificate is not signed by the
// pinned realm CA.
type CAError struct {
	Addr string
	File string
	Err  error
}

func (e *CAError) Error() string {
	return fmt.Sprintf("server %s refused: its certificate does not match the realm CA pinned in %s (%v)",
		e.Addr, e.File, e.Err)
}

func (e *CAError) Unwrap() error { return e.Err }

// writeFileAtomic writes data to path through a temporary file, fsynced and
// renamed into place.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
