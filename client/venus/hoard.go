package venus

import (
	"context"
	"encoding/binary"
	"fmt"
	"path"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/coda-fs/coda/server/proto"
	"github.com/coda-fs/coda/server/store"
)

// Hoarding. The hoard database (HDB) names what venus keeps cached so that
// work can go on disconnected: paths below the mount point, each with a
// priority (1–1000) and, for a directory, whether its children (c) or all
// its descendants (d) are hoarded with it. An entry with c or d and no '+'
// is expanded when it is added, one entry per object then below it, as
// Coda's hoard program does; with '+' it is kept as it is and re-expanded
// by every walk, so objects made later are hoarded too.
//
// Venus walks the database every hoardWalkEvery and on coda hoard walk:
// highest priority first, it looks up each path as the user who added it,
// fetches what is missing and refreshes what changed (a status or
// directory whose callback was broken is fetched again, as on any use),
// leaving files out when their data would overflow the cache. The walk
// marks what it reached with its priority: eviction takes unhoarded
// containers first and hoarded ones only when nothing else is left.
//
// Entries live in the cache database: H uid path → priority, flags.

const prefHoard = 'H'

// hoardWalkEvery is how often venus walks the hoard database by itself.
const hoardWalkEvery = 10 * time.Minute

// Hoard priorities.
const (
	HoardMinPriority     = 1
	HoardMaxPriority     = 1000
	HoardDefaultPriority = 10
)

// HoardEntry is one entry of the hoard database.
type HoardEntry struct {
	UID         uint32 `json:"uid"`
	Path        string `json:"path"` // below the mount point, "/"-separated, no leading "/"
	Priority    int    `json:"priority"`
	Children    bool   `json:"children,omitempty"`    // c: its children too
	Descendants bool   `json:"descendants,omitempty"` // d: everything below it
	Future      bool   `json:"future,omitempty"`      // +: also those made later
}

const (
	hoardChildren = 1 << iota
	hoardDescendants
	hoardFuture
)

type hoardKey struct {
	uid  uint32
	path string
}

func hoardDBKey(k hoardKey) []byte {
	b := binary.BigEndian.AppendUint32([]byte{prefHoard}, k.uid)
	return append(b, k.path...)
}

func (e HoardEntry) encode() []byte {
	var flags byte
	if e.Children {
		flags |= hoardChildren
	}
	if e.Descendants {
		flags |= hoardDescendants
	}
	if e.Future {
		flags |= hoardFuture
	}
	return []byte{byte(e.Priority >> 8), byte(e.Priority), flags}
}

// loadHoard reads the hoard database at start-up.
func (v *Venus) loadHoard() error {
	v.hoard = map[hoardKey]HoardEntry{}
	return v.meta.scan(prefHoard, func(k, val []byte) error {
		if len(k) < 5 || len(val) != 3 {
			return fmt.Errorf("bad hoard entry %x", k)
		}
		e := HoardEntry{UID: binary.BigEndian.Uint32(k[1:5]), Path: string(k[5:]), Priority: int(val[0])<<8 | int(val[1]),
			Children: val[2]&hoardChildren != 0, Descendants: val[2]&hoardDescendants != 0, Future: val[2]&hoardFuture != 0}
		v.hoard[hoardKey{e.UID, e.Path}] = e
		return nil
	})
}

// cleanHoardPath checks a path below the mount point.
func cleanHoardPath(p string) (string, error) {
	p = strings.Trim(path.Clean("/"+p), "/")
	if p == "" {
		return "", proto.Errorf(proto.CodeInvalid, "hoard: the mount point itself cannot be hoarded; name a directory below it")
	}
	return p, nil
}

// HoardAdd adds e (its UID is c's) to the hoard database. A directory
// entry with children or descendants and no '+' is expanded into one entry
// per object now below it. It returns how many entries it wrote and starts
// a walk in the background.
func (v *Venus) HoardAdd(ctx context.Context, c Caller, e HoardEntry) (int, error) {
	p, err := cleanHoardPath(e.Path)
	if err != nil {
		return 0, err
	}
	if e.Priority < HoardMinPriority || e.Priority > HoardMaxPriority {
		return 0, proto.Errorf(proto.CodeInvalid, fmt.Sprintf("hoard: priority %d is outside %d-%d", e.Priority, HoardMinPriority, HoardMaxPriority))
	}
	e.Path, e.UID = p, c.UID
	ino, err := v.resolvePath(ctx, c, p)
	if err != nil {
		return 0, fmt.Errorf("hoard: %s: %w", p, err)
	}
	entries := []HoardEntry{e}
	if (e.Children || e.Descendants) && !e.Future {
		entries[0].Children, entries[0].Descendants = false, false
		depth := 1
		if e.Descendants {
			depth = -1
		}
		err := v.below(ctx, c, ino, p, depth, func(sub string, _ uint64) {
			entries = append(entries, HoardEntry{UID: c.UID, Path: sub, Priority: e.Priority})
		})
		if err != nil {
			return 0, fmt.Errorf("hoard: %s: %w", p, err)
		}
	}
	v.mu.Lock()
	for _, he := range entries {
		k := hoardKey{he.UID, he.Path}
		v.hoard[k] = he
		v.meta.write(func(b *store.Batch) { b.Set(hoardDBKey(k), he.encode()) })
	}
	v.cmlCommit()
	v.mu.Unlock()
	v.startHoardWalk()
	return len(entries), nil
}

// below calls fn for each object below directory ino (children when depth
// is 1, everything when -1), named by its path.
func (v *Venus) below(ctx context.Context, c Caller, ino uint64, p string, depth int, fn func(sub string, ino uint64)) error {
	ents, err := v.ReadDir(ctx, c, ino)
	if err != nil {
		return err
	}
	for _, de := range ents {
		if de.Name == "." || de.Name == ".." {
			continue
		}
		sub := p + "/" + de.Name
		fn(sub, de.Ino)
		if depth != 1 && de.Mode&syscall.S_IFMT == syscall.S_IFDIR {
			if err := v.below(ctx, c, de.Ino, sub, depth-1, fn); err != nil {
				return err
			}
		}
	}
	return nil
}

// resolvePath looks p (below the mount point) up as c.
func (v *Venus) resolvePath(ctx context.Context, c Caller, p string) (uint64, error) {
	ino := uint64(RootIno)
	for _, name := range strings.Split(p, "/") {
		e, err := v.Lookup(ctx, c, ino, name)
		if err != nil {
			return 0, err
		}
		ino = e.Ino
	}
	return ino, nil
}

// HoardDelete removes the entry for p of c's (root: of every user's). It
// returns how many went.
func (v *Venus) HoardDelete(c Caller, p string) (int, error) {
	p, err := cleanHoardPath(p)
	if err != nil {
		return 0, err
	}
	return v.hoardDrop(func(e HoardEntry) bool { return e.Path == p && (c.UID == 0 || e.UID == c.UID) }), nil
}

// HoardClear removes c's entries (root: every user's, or those of uid
// when given).
func (v *Venus) HoardClear(c Caller, uid *uint32) int {
	return v.hoardDrop(func(e HoardEntry) bool {
		switch {
		case c.UID != 0:
			return e.UID == c.UID
		case uid != nil:
			return e.UID == *uid
		}
		return true
	})
}

func (v *Venus) hoardDrop(drop func(HoardEntry) bool) int {
	v.mu.Lock()
	defer v.mu.Unlock()
	n := 0
	for k, e := range v.hoard {
		if drop(e) {
			delete(v.hoard, k)
			v.meta.write(func(b *store.Batch) { b.Delete(hoardDBKey(k)) })
			n++
		}
	}
	v.cmlCommit()
	return n
}

// HoardList lists the hoard database, c's entries (root: everyone's),
// highest priority first.
func (v *Venus) HoardList(c Caller) []HoardEntry {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.hoardEntries(func(e HoardEntry) bool { return c.UID == 0 || e.UID == c.UID })
}

// hoardEntries lists the entries keep reports, highest priority first.
// Callers hold v.mu.
func (v *Venus) hoardEntries(keep func(HoardEntry) bool) []HoardEntry {
	out := []HoardEntry{}
	for _, e := range v.hoard {
		if keep(e) {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b HoardEntry) int {
		if a.Priority != b.Priority {
			return b.Priority - a.Priority
		}
		return strings.Compare(a.Path, b.Path)
	})
	return out
}

// HoardReport is what a walk did.
type HoardReport struct {
	Objects int      `json:"objects"` // hoarded objects reached
	Fetched int      `json:"fetched"` // files whose data was fetched
	Bytes   int64    `json:"bytes"`   // bytes fetched
	Skipped int      `json:"skipped"` // files left out: the cache is full
	Missing []string `json:"missing,omitempty"`
	Took    float64  `json:"took"` // seconds
}

// startHoardWalk walks the hoard database in the background.
func (v *Venus) startHoardWalk() {
	v.background(func() {
		ctx, cancel := context.WithTimeout(context.Background(), hoardWalkEvery)
		defer cancel()
		v.HoardWalk(ctx)
	})
}

// periodicHoardWalk is the walk of the every loop: none while no replica
// is reachable (nothing could be fetched) or the database is empty.
func (v *Venus) periodicHoardWalk() {
	v.mu.Lock()
	empty := len(v.hoard) == 0
	v.mu.Unlock()
	if !empty && v.Connected() {
		v.startHoardWalk()
	}
}

// HoardWalk fetches and refreshes what the hoard database names, highest
// priority first, and marks it for eviction order. One walk runs at a
// time; a walk asked for while one runs waits for it and runs again.
func (v *Venus) HoardWalk(ctx context.Context) (HoardReport, error) {
	select {
	case v.hoardWalking <- struct{}{}:
	case <-ctx.Done():
		return HoardReport{}, ctx.Err()
	}
	defer func() { <-v.hoardWalking }()
	v.walkBase.Store(v.stats.fetchedBytes.Load())
	v.walking.Store(true)
	defer v.walking.Store(false)
	start := time.Now()
	v.mu.Lock()
	entries := v.hoardEntries(func(HoardEntry) bool { return true })
	v.mu.Unlock()
	w := &hoardWalk{v: v, marks: map[*object]int{}, done: hoardDone{walked: map[hoardKey]bool{}}}
	for _, e := range entries {
		c := Caller{UID: e.UID}
		w.uid = e.UID
		w.done.walked[hoardKey{e.UID, e.Path}] = true
		ino, err := v.resolvePath(ctx, c, e.Path)
		if err != nil {
			w.miss(e.Path, err)
			continue
		}
		depth := 0
		switch {
		case e.Descendants && e.Future:
			depth = -1
		case e.Children && e.Future:
			depth = 1
		}
		w.visit(ctx, c, ino, e.Path, e.Priority, depth)
	}
	v.mu.Lock()
	for _, o := range v.objs {
		if o.hoard > 0 && w.marks[o] == 0 {
			v.setHoard(o, 0)
		}
	}
	for o, pri := range w.marks {
		v.setHoard(o, pri)
	}
	v.hoardLast = w.done
	v.mu.Unlock()
	w.rep.Took = time.Since(start).Seconds()
	v.event(nil, EventHoardWalk, proto.FID{}, fmt.Sprintf("hoard walk: %d objects, %d files fetched (%d bytes), %d left out (cache full), %d missing, in %v",
		w.rep.Objects, w.rep.Fetched, w.rep.Bytes, w.rep.Skipped, len(w.rep.Missing), time.Since(start).Round(time.Millisecond)))
	return w.rep, nil
}

// hoardWalk is one walk's state.
type hoardWalk struct {
	v     *Venus
	rep   HoardReport
	marks map[*object]int
	uid   uint32 // of the entry being walked
	done  hoardDone
}

// hoardDone is what the last walk reached and missed (HoardVerify).
type hoardDone struct {
	walked  map[hoardKey]bool
	reached []hoardReached
	missing []hoardReached
}

type hoardReached struct {
	uid  uint32
	path string
	o    *object
}

// miss records what the walk could not reach.
func (w *hoardWalk) miss(p string, err error) {
	line := fmt.Sprintf("%s: %v", p, err)
	w.rep.Missing = append(w.rep.Missing, line)
	w.done.missing = append(w.done.missing, hoardReached{uid: w.uid, path: line})
}

// visit makes ino (at path p) cached and current, and below it depth
// levels (-1: all).
func (w *hoardWalk) visit(ctx context.Context, c Caller, ino uint64, p string, pri, depth int) {
	v := w.v
	a, err := v.GetAttr(ctx, c, ino)
	if err != nil {
		w.miss(p, err)
		return
	}
	o, err := v.object(ino)
	if err != nil {
		return
	}
	if w.marks[o] == 0 {
		w.rep.Objects++
		w.done.reached = append(w.done.reached, hoardReached{uid: w.uid, path: p, o: o})
	}
	w.marks[o] = max(w.marks[o], pri)
	switch a.Mode & syscall.S_IFMT {
	case syscall.S_IFREG:
		v.mu.Lock()
		have := o.cont != "" && o.contVV == o.attr.VV
		full := !have && v.cachedBytes+a.Size > v.opts.CacheSize
		v.mu.Unlock()
		switch {
		case have:
		case full:
			w.rep.Skipped++
		default:
			h, err := v.Open(ctx, c, ino, syscall.O_RDONLY)
			if err != nil {
				w.miss(p, err)
				return
			}
			v.Release(ctx, c, h)
			w.rep.Fetched++
			w.rep.Bytes += a.Size
		}
	case syscall.S_IFLNK:
		if _, err := v.Readlink(ctx, c, ino); err != nil {
			w.miss(p, err)
		}
	case syscall.S_IFDIR:
		ents, err := v.ReadDir(ctx, c, ino)
		if err != nil {
			w.miss(p, err)
			return
		}
		if depth == 0 {
			return
		}
		for _, de := range ents {
			if de.Name != "." && de.Name != ".." {
				w.visit(ctx, c, de.Ino, p+"/"+de.Name, pri, depth-1)
			}
		}
	}
}

// HoardVerify lists the hoarded objects (of c's entries; root: all) that
// are not in the cache now: of those the last walk reached, those it could
// not reach, and entries added since. It looks at the cache alone: what a
// disconnection now would leave out.
func (v *Venus) HoardVerify(c Caller) []string {
	v.mu.Lock()
	entries := v.hoardEntries(func(e HoardEntry) bool { return c.UID == 0 || e.UID == c.UID })
	last := v.hoardLast
	v.mu.Unlock()
	var out []string
	for _, e := range entries {
		if !last.walked[hoardKey{e.UID, e.Path}] {
			out = append(out, e.Path+": not walked yet (coda hoard walk)")
		}
	}
	for _, r := range last.reached {
		if (c.UID == 0 || r.uid == c.UID) && !v.cachedData(r.o) {
			out = append(out, r.path+": not cached")
		}
	}
	for _, m := range last.missing {
		if c.UID == 0 || m.uid == c.UID {
			out = append(out, m.path)
		}
	}
	return out
}

// cachedData reports whether o's content is cached: a file's data, a
// directory's entries, a symlink's target.
func (v *Venus) cachedData(o *object) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	switch {
	case !o.hasAttr:
		return false
	case o.attr.Type == proto.TypeFile:
		return o.cont != "" && o.contVV == o.attr.VV || v.pinned(o)
	case o.attr.Type == proto.TypeDir:
		return dirValid(o) || o.diskDir && o.diskDirVV == o.attr.VV
	}
	return true
}
