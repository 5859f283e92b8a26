package venus

import (
	"archive/tar"
	"encoding/binary"
	"fmt"
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
// are first checkpointed in a new directory of dir/spool (per volume, as
// cfs checkpointml writes them: VOLUME.cml.tar and VOLUME.cml.txt), and it
// returns that directory.
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

// checkpointCML writes recs (of volumes vols) to a new directory of
// dir/spool, one archive per volume, and returns the directory.
func checkpointCML(dir string, recs []*cmlRecord, vols []uint32) (string, error) {
	cp := filepath.Join(dir, "spool", "cml-"+time.Now().UTC().Format("20060102T150405.000000000Z"))
	if err := os.MkdirAll(cp, 0o700); err != nil {
		return "", err
	}
	byVol := map[uint32][]*cmlRecord{}
	for i, r := range recs {
		byVol[vols[i]] = append(byVol[vols[i]], r)
	}
	for id, rs := range byVol {
		if _, err := writeCheckpoint(cp, fmt.Sprintf("%#x", id), rs, func(i int) string {
			if rs[i].op != proto.OpStore || rs[i].cont == "" {
				return ""
			}
			return filepath.Join(dir, "containers", rs[i].cont)
		}); err != nil {
			return "", err
		}
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
	return writeCheckpoint(outdir, label, recs, func(i int) string {
		if conts[i] == "" {
			return ""
		}
		return v.conts.path(conts[i])
	})
}

// writeCheckpoint writes a log's records to outdir: LABEL.cml.tar (the
// listing cml.txt and the data of each logged store, named by FID) and
// LABEL.cml.txt; data(i) is the file holding record i's data ("" for
// none). A container that is gone is noted in the listing.
func writeCheckpoint(outdir, label string, recs []*cmlRecord, data func(i int) string) (string, error) {
	var listing strings.Builder
	contents := make([][]byte, len(recs))
	for i, r := range recs {
		listing.WriteString(r.line() + "\n")
		p := data(i)
		if p == "" {
			continue
		}
		b, err := os.ReadFile(p)
		if os.IsNotExist(err) {
			fmt.Fprintf(&listing, "  (data lost: %v)\n", err)
			continue
		}
		if err != nil {
			return "", err
		}
		contents[i] = b
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
		if err == nil && contents[i] != nil {
			err = add(r.subject.String(), contents[i])
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
