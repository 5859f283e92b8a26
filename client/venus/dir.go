package venus

import (
	"context"
	"sort"

	"github.com/coda-fs/coda/server/proto"
)

// readDirPage is the number of entries asked for per ReadDir request; at
// most 272 bytes each, a page stays under the 4 MiB frame limit.
const readDirPage = 8192

// dirCache is a directory's whole listing at one version.
type dirCache struct {
	vv      proto.VV
	entries map[string]proto.DirEntry
	list    []DirEntry // sorted listing for readdir; nil until built
}

func newDirCache(vv proto.VV, entries map[string]proto.DirEntry) *dirCache {
	if entries == nil {
		entries = map[string]proto.DirEntry{}
	}
	return &dirCache{vv: vv, entries: entries}
}

// dirValid reports whether o's cached entries belong to its current
// version. Callers hold v.mu.
func dirValid(o *object) bool { return o.dir != nil && o.dir.vv == o.attr.VV }

// ensureDir makes o's status current and its entries cached: from memory,
// from the cache database (first use after a restart), or fetched.
func (v *Venus) ensureDir(ctx context.Context, c Caller, o *object) error {
	for attempt := 0; ; attempt++ {
		if err := v.ensureValid(ctx, c, o); err != nil {
			return err
		}
		v.mu.Lock()
		if !o.isDir() {
			v.mu.Unlock()
			return proto.ErrNotDir
		}
		if dirValid(o) {
			v.mu.Unlock()
			return nil
		}
		disk := o.diskDir && o.diskDirVV == o.attr.VV
		v.mu.Unlock()
		if disk && v.loadDir(o) {
			continue
		}
		if err := v.fetchDir(ctx, c, o); err != nil || attempt >= 2 {
			return err
		}
	}
}

// loadDir restores o's entries from the cache database.
func (v *Venus) loadDir(o *object) bool {
	entries, err := v.meta.loadEntries(o.fid)
	v.mu.Lock()
	defer v.mu.Unlock()
	o.diskDir = false
	if err != nil {
		v.log.Warn("cached directory unreadable; refetching", "fid", o.fid, "err", err)
		return false
	}
	if o.dir == nil && o.diskDirVV == o.attr.VV {
		o.dir = newDirCache(o.diskDirVV, entries)
	}
	return true
}

// fetchDir reads every page of o and caches the listing. Pages must all
// carry the same directory version, else the read starts over.
func (v *Venus) fetchDir(ctx context.Context, c Caller, o *object) error {
	o.io.Lock()
	defer o.io.Unlock()
	v.mu.Lock()
	done := dirValid(o) && v.hasCB(o)
	v.mu.Unlock()
	if done {
		return nil
	}
	var (
		first   stamp
		dirAttr proto.Attr
		entries map[string]proto.DirEntry
	)
	for tries := 0; tries < 3; tries++ {
		var restart bool
		var err error
		first, dirAttr, entries, restart, err = v.readAllPages(ctx, c, o.fid, "")
		if err != nil {
			return v.forgetIfGone(o, err)
		}
		if !restart {
			break
		}
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.setAttr(o, dirAttr, v.promiseOK(first, o.fid))
	o.dir = newDirCache(dirAttr.VV, entries)
	for _, de := range entries {
		if ch := v.objs[de.FID]; ch != nil {
			ch.parent = o.fid
		}
	}
	v.meta.putDir(o)
	return nil
}

// readAllPages reads the pages of directory fid from its volume's replicas
// (from the server at addr when one is named); restart is set when the
// directory changed between pages.
func (v *Venus) readAllPages(ctx context.Context, c Caller, fid proto.FID, addr string) (first stamp, dir proto.Attr, entries map[string]proto.DirEntry, restart bool, err error) {
	entries = map[string]proto.DirEntry{}
	after := ""
	for page := 0; ; page++ {
		var r proto.ReadDirReply
		req := &proto.ReadDir{Dir: fid, After: after, Max: readDirPage}
		var st stamp
		if addr != "" {
			st, err = v.callServer(ctx, c, addr, proto.OpReadDir, req, &r, nil)
		} else {
			st, err = v.callVol(ctx, c, fid.Volume, proto.OpReadDir, req, &r, nil)
		}
		if err != nil {
			return first, dir, nil, false, err
		}
		if page == 0 {
			first, dir = st, r.Dir
		} else if r.Dir.VV != dir.VV {
			return first, dir, nil, true, nil
		}
		for _, de := range r.Entries {
			entries[de.Name] = de
		}
		if !r.More || len(r.Entries) == 0 {
			return first, dir, entries, false, nil
		}
		after = r.Entries[len(r.Entries)-1].Name
	}
}

// listing returns o's sorted entries with inode numbers, building it once
// per version. The returned slice is shared: callers must not change it.
// Callers hold v.mu.
func (v *Venus) listing(o *object) []DirEntry {
	d := o.dir
	if d.list != nil {
		return d.list
	}
	list := make([]DirEntry, 0, len(d.entries))
	for name, de := range d.entries {
		typ := de.Type
		if ch := v.objs[de.FID]; ch != nil && ch.hasAttr && maybeMountPoint(&ch.attr) {
			typ = proto.TypeDir // shown as the root of the volume mounted there
		}
		if v.inConflict(de.FID) {
			typ = proto.TypeSymlink // a conflict link
		}
		if v.expanded[de.FID] != nil {
			typ = proto.TypeDir // a conflict shown as its replicas
		}
		list = append(list, DirEntry{Name: name, Ino: v.inoFor(de.FID), Mode: typeBits(typ)})
	}
	for name, fid := range v.ghosts(o.fid) {
		if _, taken := d.entries[name]; !taken {
			list = append(list, DirEntry{Name: name, Ino: v.inoFor(fid), Mode: typeBits(proto.TypeSymlink)})
		}
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Name < list[j].Name })
	d.list = list
	return list
}

// addEntry and delEntry patch a cached directory after a local change.
// Callers hold v.mu.
func (d *dirCache) add(de proto.DirEntry) {
	d.entries[de.Name] = de
	d.list = nil
}

func (d *dirCache) del(name string) {
	delete(d.entries, name)
	d.list = nil
}
