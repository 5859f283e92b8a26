package store

import (
	"context"
	"fmt"
	"strings"
	"syscall"
)

// CleanOrphans removes leftover tmp files and every committed container
// for which referenced returns false: containers committed before a crash
// whose metadata never was, and removed containers that a crash brought
// back. Call it at start-up, after opening the metadata that references
// containers. Containers and tmp files created since this Open are left
// alone, so it is safe while the store is in use. referenced is called from
// the calling goroutine only. Names the store did not create are logged and
// left in place.
func (db *DB) CleanOrphans(referenced func(ContainerID) bool) (removed int, err error) {
	done, err := db.enter()
	if err != nil {
		return 0, err
	}
	defer done()
	n, err := db.cleanTmp()
	removed += n
	if err != nil {
		return removed, err
	}
	err = db.eachContainer(func(dir, name string, id ContainerID) error {
		if id.seq() >= db.sessionStart || referenced(id) {
			return nil
		}
		if err := db.fs.Remove(db.fs.PathJoin(dir, name)); err != nil && !isNotExist(err) {
			return fmt.Errorf("store: remove orphan container %s: %w", id, err)
		}
		removed++
		return nil
	})
	if removed > 0 {
		db.log.Info("removed orphan containers and tmp files", "count", removed)
	}
	return removed, err
}

// cleanTmp removes tmp files of earlier sessions.
func (db *DB) cleanTmp() (int, error) {
	dir := db.tmpDir()
	names, err := db.fs.List(dir)
	if err != nil {
		return 0, fmt.Errorf("store: list %s: %w", dir, err)
	}
	removed := 0
	for _, name := range names {
		if id, ok := parseContainerID(strings.TrimSuffix(name, ".tmp")); ok && id.seq() >= db.sessionStart {
			continue // a writer of this session
		}
		if err := db.fs.Remove(db.fs.PathJoin(dir, name)); err != nil && !isNotExist(err) {
			return removed, fmt.Errorf("store: remove %s/%s: %w", dir, name, err)
		}
		removed++
	}
	return removed, nil
}

// eachContainer calls fn for every committed container file, in no
// particular order; names that are not container ids are logged and
// skipped.
func (db *DB) eachContainer(fn func(dir, name string, id ContainerID) error) error {
	for i := 0; i < 256; i++ {
		dir := db.fs.PathJoin(db.containersDir(), fmt.Sprintf("%02x", i))
		names, err := db.fs.List(dir)
		if err != nil {
			return fmt.Errorf("store: list %s: %w", dir, err)
		}
		for _, name := range names {
			id, ok := parseContainerID(name)
			if !ok || int(id&0xff) != i {
				db.log.Warn("unexpected file among containers", "path", db.fs.PathJoin(dir, name))
				continue
			}
			if err := fn(dir, name, id); err != nil {
				return err
			}
		}
	}
	return nil
}

// scanHighestSeq returns the highest sequence number of a committed or
// tmp container (0 if none); used when the id mark is missing.
func (db *DB) scanHighestSeq() (uint64, error) {
	var high uint64
	err := db.eachContainer(func(_, _ string, id ContainerID) error {
		high = max(high, id.seq())
		return nil
	})
	if err != nil {
		return 0, err
	}
	names, err := db.fs.List(db.tmpDir())
	if err != nil {
		return 0, fmt.Errorf("store: list %s: %w", db.tmpDir(), err)
	}
	for _, name := range names {
		if id, ok := parseContainerID(strings.TrimSuffix(name, ".tmp")); ok {
			high = max(high, id.seq())
		}
	}
	return high, nil
}

// Usage describes the space a store takes.
type Usage struct {
	Containers     int64 // number of committed containers
	ContainerBytes int64 // their stored lengths, summed
	AllocatedBytes int64 // disk blocks they occupy (holes take none)
	MetaBytes      int64 // the Pebble database's files
}

// DiskUsage walks the containers (one stat each) and asks Pebble for its
// size. On file systems that do not report blocks, AllocatedBytes counts
// stored lengths.
func (db *DB) DiskUsage() (Usage, error) {
	done, err := db.enter()
	if err != nil {
		return Usage{}, err
	}
	defer done()
	var u Usage
	err = db.eachContainer(func(dir, name string, id ContainerID) error {
		fi, err := db.fs.Stat(db.fs.PathJoin(dir, name))
		if isNotExist(err) {
			return nil // removed meanwhile
		}
		if err != nil {
			return fmt.Errorf("store: stat container %s: %w", id, err)
		}
		u.Containers++
		u.ContainerBytes += fi.Size()
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			u.AllocatedBytes += st.Blocks * 512
		} else {
			u.AllocatedBytes += fi.Size()
		}
		return nil
	})
	if err != nil {
		return Usage{}, err
	}
	u.MetaBytes = int64(db.pdb.Metrics().DiskSpaceUsage())
	return u, nil
}

// Compact flushes the memtables and compacts every key, so that
// DiskUsage's MetaBytes counts the live metadata only (benchmarks; a
// store compacts by itself).
func (db *DB) Compact() error {
	done, err := db.enter()
	if err != nil {
		return err
	}
	defer done()
	if err := db.pdb.Flush(); err != nil {
		return err
	}
	return db.pdb.Compact(context.Background(), []byte{0}, []byte{0xff, 0xff, 0xff, 0xff, 0xff}, false)
}

// EstimateDiskUsage returns the bytes of the store's files that hold keys
// in [lo, hi).
func (db *DB) EstimateDiskUsage(lo, hi []byte) (uint64, error) {
	done, err := db.enter()
	if err != nil {
		return 0, err
	}
	defer done()
	return db.pdb.EstimateDiskUsage(lo, hi)
}
