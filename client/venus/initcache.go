package venus

import (
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// InitCache empties the cache in dir (venus --init): its database and
// containers go; the pinned realm CA stays. Changes logged for
// reintegration and not sent yet make it refuse, unless force: then they
// are first checkpointed in dir/spool (a listing, and the data of logged
// stores, named by FID), and it returns the checkpoint's path.
func InitCache(dir string, force bool, log *slog.Logger) (checkpoint string, err error) {
	dbDir := filepath.Join(dir, "db")
	if _, err := os.Stat(dbDir); os.IsNotExist(err) {
		return "", nil // nothing cached yet
	}
	m, err := openMeta(dbDir, log)
	if err != nil {
		return "", err
	}
	var recs []*cmlRecord
	var vols []uint32
	err = m.scan(prefCML, func(k, val []byte) error {
		if len(k) != 13 {
			return fmt.Errorf("bad log key %x", k)
		}
		r, err := decodeCMLRecord(binary.BigEndian.Uint64(k[5:]), val)
		if err != nil {
			return err
		}
		recs = append(recs, r)
		vols = append(vols, binary.BigEndian.Uint32(k[1:]))
		return nil
	})
	m.close()
	if err != nil {
		return "", err
	}
	if len(recs) > 0 && !force {
		return "", fmt.Errorf("%d changes logged for reintegration are not on the servers yet; venus --init --force drops them (after a checkpoint in %s)",
			len(recs), filepath.Join(dir, "spool"))
	}
	if len(recs) > 0 {
		if checkpoint, err = checkpointCML(dir, recs, vols); err != nil {
			return "", fmt.Errorf("checkpoint of the pending changes: %w (nothing was emptied)", err)
		}
	}
	for _, sub := range []string{"db", "containers"} {
		if err := os.RemoveAll(filepath.Join(dir, sub)); err != nil {
			return checkpoint, fmt.Errorf("emptying the cache: %w", err)
		}
	}
	return checkpoint, nil
}

// checkpointCML writes recs to a new directory of dir/spool: a listing
// (cml.txt) and the data of each logged store, named after its FID.
func checkpointCML(dir string, recs []*cmlRecord, vols []uint32) (string, error) {
	cp := filepath.Join(dir, "spool", "cml-"+time.Now().UTC().Format("20060102T150405Z"))
	if err := os.MkdirAll(cp, 0o700); err != nil {
		return "", err
	}
	var b strings.Builder
	for i, r := range recs {
		fmt.Fprintf(&b, "volume %#x %6d uid %d %-8s %v %s\n", vols[i], r.seq, r.uid, r.op, r.subject, r.describe())
		if r.cont == "" {
			continue
		}
		src, err := os.Open(filepath.Join(dir, "containers", r.cont))
		if err != nil {
			fmt.Fprintf(&b, "  (data lost: %v)\n", err)
			continue
		}
		dst, err := os.OpenFile(filepath.Join(cp, r.subject.String()), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
		if err == nil {
			_, err = io.Copy(dst, src)
			if cerr := dst.Close(); err == nil {
				err = cerr
			}
		}
		src.Close()
		if err != nil {
			return "", err
		}
	}
	if err := os.WriteFile(filepath.Join(cp, "cml.txt"), []byte(b.String()), 0o600); err != nil {
		return "", err
	}
	return cp, nil
}
