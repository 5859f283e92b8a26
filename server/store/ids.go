package store

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// idBlock is how many container ids one synced high-water mark reserves.
const idBlock = 1 << 14

const idMarkPrefix = "coda-store idmark v1 "

// idAllocator hands out container ids that are never reused. It counts a
// sequence; before it hands out a sequence number at or above the persisted
// high-water mark, it raises the mark by idBlock and makes the new mark
// durable; after a restart counting resumes at the mark. Numbers reserved
// but not used before a crash are skipped.
//
// The id is the sequence number with its two low bytes swapped (seqID). The
// low byte of an id picks its fan-out directory, so 256 consecutive ids
// share a directory: containers committed at about the same time land in
// the same directory and one directory sync covers them all, while over
// time every directory gets its share.
type idAllocator struct {
	fs     vfs.FS
	dir    string // the containers directory
	noSync bool

	mu    sync.Mutex
	next  uint64 // next sequence number
	limit uint64 // the durable mark: sequence numbers below it may be used
}

// seqID maps a sequence number to its container id and back (it swaps the
// two low bytes, so it is its own inverse). seqID(0) == 0.
func seqID(x uint64) uint64 {
	return x&^0xffff | (x&0xff)<<8 | (x>>8)&0xff
}

// seq returns the id's sequence number (allocation order).
func (id ContainerID) seq() uint64 { return seqID(uint64(id)) }

func (db *DB) loadIDs(containers string) (*idAllocator, error) {
	a := &idAllocator{fs: db.fs, dir: containers, noSync: db.noSync}
	mark, err := readIDMark(db.fs, a.markPath())
	if err == nil {
		a.next, a.limit = mark, mark
		return a, nil
	}
	if !isNotExist(err) {
		db.log.Warn("container id mark unreadable; scanning containers", "err", err)
	}
	high, err := db.scanHighestSeq()
	if err != nil {
		return nil, err
	}
	a.next, a.limit = high+1, high+1
	return a, nil
}

func (a *idAllocator) markPath() string { return a.fs.PathJoin(a.dir, "idmark") }

// alloc returns a fresh id.
func (a *idAllocator) alloc() (ContainerID, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.next >= a.limit {
		mark := a.next + idBlock
		if err := a.writeMark(mark); err != nil {
			return 0, fmt.Errorf("reserve container ids: %w", err)
		}
		a.limit = mark
	}
	id := ContainerID(seqID(a.next))
	a.next++
	return id, nil
}

// peek returns the sequence number alloc would use next.
func (a *idAllocator) peek() uint64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.next
}

// writeMark durably replaces the mark file (write, sync, rename, sync dir).
func (a *idAllocator) writeMark(mark uint64) error {
	tmp := a.markPath() + ".tmp"
	f, err := a.fs.Create(tmp, vfs.WriteCategoryUnspecified)
	if err != nil {
		return err
	}
	_, err = io.WriteString(f, idMarkPrefix+strconv.FormatUint(mark, 10)+"\n")
	if err == nil && !a.noSync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = a.fs.Rename(tmp, a.markPath())
	}
	if err == nil && !a.noSync {
		err = syncDir(a.fs, a.dir)
	}
	return err
}

func readIDMark(fsys vfs.FS, path string) (uint64, error) {
	f, err := fsys.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	buf, err := io.ReadAll(io.LimitReader(f, 128))
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", path, err)
	}
	s, ok := strings.CutPrefix(string(buf), idMarkPrefix)
	s, ok2 := strings.CutSuffix(s, "\n")
	mark, perr := strconv.ParseUint(s, 10, 64)
	if !ok || !ok2 || perr != nil || mark == 0 {
		return 0, fmt.Errorf("%s: malformed id mark %q", path, buf)
	}
	return mark, nil
}
