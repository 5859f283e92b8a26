package venus

import (
	"archive/tar"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/coda-fs/coda/server/proto"
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
	m, err := openMeta(nil, dbDir, log)
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
		fmt.Fprintf(&b, "volume %#x %s\n", vols[i], r.line())
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

// CheckpointML writes the log of the volume holding ino to outdir as
// NAME.cml.tar (the listing cml.txt and each logged store's data, named by
// FID) and NAME.cml.txt beside it (cfs checkpointml): a safety copy of
// disconnected work. It returns the archive's path.
func (v *Venus) CheckpointML(ino uint64, outdir string) (string, error) {
	o, err := v.object(ino)
	if err != nil {
		return "", err
	}
	v.mu.Lock()
	vol := v.volumeFor(o.fid.Volume)
	v.mu.Unlock()
	return v.checkpointVolume(vol, outdir)
}

// spoolCheckpoint writes vol's log to a new directory of the cache's spool
// (a failed reintegration, a discard: nothing logged goes without a copy)
// and returns the archive.
func (v *Venus) spoolCheckpoint(vol *volume) (string, error) {
	dir := filepath.Join(v.opts.CacheDir, "spool", "cml-"+time.Now().UTC().Format("20060102T150405.000000000Z"))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	return v.checkpointVolume(vol, dir)
}

// checkpointVolume writes vol's log to outdir: VOLUME.cml.tar (the listing
// and each logged store's data, named by FID) and VOLUME.cml.txt.
func (v *Venus) checkpointVolume(vol *volume, outdir string) (string, error) {
	v.mu.Lock()
	recs := slices.Clone(vol.cml)
	label := vol.label()
	conts := make([]string, len(recs))
	for i, r := range recs {
		if r.op == proto.OpStore {
			conts[i] = v.storeContainer(r)
		}
	}
	v.mu.Unlock()
	var listing strings.Builder
	for _, r := range recs {
		listing.WriteString(r.line() + "\n")
	}
	base := filepath.Join(outdir, strings.NewReplacer("/", "_", " ", "_").Replace(label)+".cml")
	if err := os.WriteFile(base+".txt", []byte(listing.String()), 0o600); err != nil {
		return "", err
	}
	tmp := base + ".tar.tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return "", err
	}
	tw := tar.NewWriter(f)
	add := func(name string, data []byte) error {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: int64(len(data)), ModTime: time.Now().Truncate(time.Second)}); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	err = add("cml.txt", []byte(listing.String()))
	for i, r := range recs {
		if err != nil || conts[i] == "" {
			continue
		}
		var data []byte
		if data, err = os.ReadFile(v.conts.path(conts[i])); err == nil {
			err = add(r.subject.String(), data)
		}
	}
	if err == nil {
		err = tw.Close()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, base+".tar")
	}
	if err != nil {
		os.Remove(tmp)
		return "", err
	}
	return base + ".tar", nil
}
