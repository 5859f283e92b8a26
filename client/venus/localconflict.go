package venus

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"syscall"

	"github.com/coda-fs/coda/server/proto"
	"github.com/coda-fs/coda/server/store"
)

// A logged update the servers refused, because the object changed there
// since this client last saw it (a local/global conflict), is shown like
// a server conflict: its object becomes a conflict link, and a name this
// client removed comes back as one. cfs expand shows it as a read-only
// directory of two versions, "local" (this client's, from the cache) and
// "global" (what the servers hold now; absent when they hold nothing
// there); cfs repair --keep local or --keep global ends it, as cfs
// preservelocal and discardlocal do for the head of the log.

// Names of the two versions of an expanded local/global conflict.
const (
	localVersion  = "local"
	globalVersion = "global"
)

// localServer is the server id of views read from this client's cache.
const localServer = 0

// localConflict is an object whose logged update the servers refused.
type localConflict struct {
	rec *cmlRecord
	// dir and name: where the update put or removed the object.
	dir  proto.FID
	name string
	// ghost: the update removed the name here; it is shown again, as the
	// conflict link. byName: the servers' version is whatever they hold
	// at dir/name (the update made the name).
	ghost, byName bool
}

// markLocalConflict shows rec's object as a local/global conflict.
// Callers hold v.mu.
func (v *Venus) markLocalConflict(vol *volume, rec *cmlRecord) {
	lc := &localConflict{rec: rec}
	if req, err := rec.request(); err == nil {
		switch r := req.(type) {
		case *proto.Create:
			lc.dir, lc.name, lc.byName = r.Dir, r.Name, true
		case *proto.Remove:
			lc.dir, lc.name, lc.ghost = r.Dir, r.Name, true
		case *proto.Rename:
			lc.dir, lc.name = r.ToDir, r.ToName
		}
	}
	if vol.localConflicts == nil {
		vol.localConflicts = map[proto.FID]*localConflict{}
	}
	vol.localConflicts[rec.subject] = lc
	v.reshowLocal(lc)
}

// endLocalConflict shows rec's object as it is again, if rec made it a
// local/global conflict. Callers hold v.mu.
func (v *Venus) endLocalConflict(vol *volume, rec *cmlRecord) {
	lc := vol.localConflicts[rec.subject]
	if lc == nil || lc.rec != rec {
		return
	}
	delete(vol.localConflicts, rec.subject)
	if v.expanded[rec.subject] != nil {
		v.collapse(rec.subject)
	}
	v.reshowLocal(lc)
}

// reshowLocal has the kernel forget how lc's object and its directory
// looked. Callers hold v.mu.
func (v *Venus) reshowLocal(lc *localConflict) {
	var notes kernelNotes
	if o := v.objs[lc.rec.subject]; o != nil {
		notes = v.reshow(o, 0)
	}
	if d := v.objs[lc.dir]; d != nil {
		if d.dir != nil {
			d.dir.list = nil // a ghost comes or goes
		}
		notes.children = append(notes.children, d.ino)
	}
	go v.notify(notes, 0)
}

// localConflictOf returns the local/global conflict fid is, or nil.
// Callers hold v.mu.
func (v *Venus) localConflictOf(fid proto.FID) *localConflict {
	if vol := v.vols[fid.Volume]; vol != nil {
		return vol.localConflicts[fid]
	}
	return nil
}

// ghosts returns the names this client removed in directory dir that are
// shown again as local/global conflicts, with their objects. Callers hold
// v.mu.
func (v *Venus) ghosts(dir proto.FID) map[string]proto.FID {
	vol := v.vols[dir.Volume]
	if vol == nil {
		return nil
	}
	var out map[string]proto.FID
	for fid, lc := range vol.localConflicts {
		if lc.ghost && lc.dir == dir {
			if out == nil {
				out = map[string]proto.FID{}
			}
			out[lc.name] = fid
		}
	}
	return out
}

// expandLocal makes the expansion of the local/global conflict lc: the
// servers' version is looked up on a replica now.
func (v *Venus) expandLocal(ctx context.Context, c Caller, lc *localConflict) (*expansion, error) {
	id := lc.rec.subject.Volume
	addr := v.preferred(ctx, c, id)
	if addr == "" {
		return nil, proto.Errorf(proto.CodeTimeout, "no replica of the volume is reachable to show the global version")
	}
	reps, err := v.replicas(ctx, c, id)
	if err != nil {
		return nil, err
	}
	x := &expansion{local: lc}
	for _, r := range reps {
		if r.Addr == addr {
			x.globalRep = r
		}
	}
	var r proto.AttrReply
	if lc.byName {
		_, err = v.callServer(ctx, c, addr, proto.OpLookup, &proto.Lookup{Dir: lc.dir, Name: lc.name}, &r, nil)
	} else {
		_, err = v.callServer(ctx, c, addr, proto.OpGetAttr, &proto.FIDReq{FID: lc.rec.subject}, &r, nil)
	}
	switch {
	case err == nil:
		x.global, x.globalAt = r.Attr.FID, r.Attr.Mtime
	case proto.CodeOf(err) != proto.CodeNotFound:
		return nil, err
	}
	return x, nil
}

// localVersions lists the versions of the expanded local/global conflict
// x of root: this client's unless it removed the object, the servers'
// unless they hold none. Callers hold v.mu.
func (v *Venus) localVersions(root *object, x *expansion) map[string]*view {
	out := map[string]*view{}
	if !x.local.ghost {
		out[localVersion] = v.viewFor(viewKey{root: root.fid, fid: root.fid, server: localServer}, proto.Replica{})
	}
	if !x.global.IsZero() {
		out[globalVersion] = v.viewFor(viewKey{root: root.fid, fid: x.global, server: x.globalRep.ServerID}, x.globalRep)
	}
	return out
}

// cachedView reads the status, and for a directory the entries, of a view
// of this client's version from the cache.
func (v *Venus) cachedView(vw *view) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	o := v.objs[vw.key.fid]
	if o == nil || !o.hasAttr || o.removed {
		return proto.ErrNotFound
	}
	vw.attr = o.attr
	if o.isDir() {
		if !dirValid(o) {
			return proto.Errorf(proto.CodeTimeout, "the directory's entries are not cached")
		}
		vw.entries, vw.entVV = maps.Clone(o.dir.entries), o.attr.VV
	}
	return nil
}

// Ways to end a local/global conflict (repairLocal).
const (
	keepLocal  = localVersion
	keepGlobal = globalVersion
	keepBoth   = "both"
)

// repairLocal ends the local/global conflict lc:
//
//   - keepLocal: the refused update is sent again over the servers' state
//     (cfs preservelocal); for a name both sides made, the servers' object
//     moves aside first, to NAME.conflict-global.
//   - keepGlobal: the update goes, with every logged update depending on
//     it (cfs discardlocal), after a checkpoint of the log.
//   - keepBoth: a file's local version is saved as NAME.conflict-local
//     and the servers' keeps the name; a name both sides made goes to the
//     servers as NAME.conflict-local; a removal keeps the servers' version.
//
// It says what it did.
func (v *Venus) repairLocal(ctx context.Context, c Caller, lc *localConflict, keep string) (string, error) {
	rec := lc.rec
	if c.UID != 0 && c.UID != rec.uid {
		return "", proto.Errorf(proto.CodePerm, fmt.Sprintf("update %d was made by local uid %d: only that user or root may repair it", rec.seq, rec.uid))
	}
	v.mu.Lock()
	vol := v.volumeFor(rec.subject.Volume)
	v.mu.Unlock()
	switch {
	case keep == keepLocal && lc.byName:
		aside, err := v.moveGlobalAside(ctx, c, lc)
		if err != nil {
			return "", err
		}
		v.mu.Lock()
		v.preserve(vol, rec)
		v.cmlCommit()
		v.mu.Unlock()
		v.startReintegration()
		return fmt.Sprintf("kept the local version; the servers' one is now %s", aside), nil
	case keep == keepLocal:
		v.mu.Lock()
		v.preserve(vol, rec)
		v.cmlCommit()
		v.mu.Unlock()
		v.startReintegration()
		return fmt.Sprintf("kept the local version: update %d (%s) goes over the servers' state", rec.seq, rec.describe()), nil
	case keep == keepBoth && lc.byName:
		name, err := v.renameLogged(ctx, c, lc)
		if err != nil {
			return "", err
		}
		v.startReintegration()
		return fmt.Sprintf("kept both: the local version goes to the servers as %s", name), nil
	case keep == keepBoth && !lc.ghost:
		name, err := v.saveLocalCopy(ctx, c, lc)
		if err != nil {
			return "", err
		}
		n, err := v.dropConflicted(vol, rec)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("kept both: the local version is saved as %s, the servers' keeps the name (%d logged updates replaced)", name, n), nil
	case keep == keepGlobal, keep == keepBoth:
		n, err := v.dropConflicted(vol, rec)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("kept the global version: %d logged updates discarded", n), nil
	}
	return "", proto.Errorf(proto.CodeInvalid, fmt.Sprintf("a local/global conflict: keep %q or %q (or every version), not %q", keepLocal, keepGlobal, keep))
}

// dropConflicted drops the refused record rec and every logged update
// that depends on it, after a checkpoint of the log; it returns how many.
func (v *Venus) dropConflicted(vol *volume, rec *cmlRecord) (int, error) {
	if _, err := v.spoolCheckpoint(vol); err != nil {
		return 0, fmt.Errorf("checkpoint before the discard: %w", err)
	}
	v.mu.Lock()
	if rec.shipping {
		v.mu.Unlock()
		return 0, proto.Errorf(proto.CodeBusy, "the update is being sent to the servers now")
	}
	blocked := map[proto.FID]bool{rec.subject: true}
	drop := []*cmlRecord{rec}
	for _, r := range vol.cml {
		if r.seq > rec.seq && r.dependsOn(blocked) {
			blocked[r.subject] = true
			drop = append(drop, r)
		}
	}
	notes := v.discard(vol, drop)
	v.cmlCommit()
	v.mu.Unlock()
	v.notify(notes, kernelWait)
	v.startReintegration()
	return len(drop), nil
}

// freeName returns the first of NAME.SUFFIX, NAME.SUFFIX.2, ... that
// taken does not hold.
func freeName(name, suffix string, taken func(string) bool) string {
	try := name + "." + suffix
	for n := 2; taken(try); n++ {
		try = fmt.Sprintf("%s.%s.%d", name, suffix, n)
	}
	return try
}

// freeBeside returns a free NAME.SUFFIX for lc's name: taken neither on
// the servers nor in this client's cache.
func (v *Venus) freeBeside(ctx context.Context, c Caller, lc *localConflict, suffix string) (string, error) {
	addr := v.preferred(ctx, c, lc.dir.Volume)
	if addr == "" {
		return "", proto.Errorf(proto.CodeTimeout, "no replica of the volume is reachable")
	}
	_, _, entries, _, err := v.readAllPages(ctx, c, lc.dir, addr)
	if err != nil {
		return "", err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	local := v.objs[lc.dir]
	return freeName(lc.name, suffix, func(n string) bool {
		if _, there := entries[n]; there {
			return true
		}
		if local == nil || local.dir == nil {
			return false
		}
		_, here := local.dir.entries[n]
		return here
	}), nil
}

// moveGlobalAside renames the servers' object at lc's name to a free
// NAME.conflict-global, so that the local one can take the name.
func (v *Venus) moveGlobalAside(ctx context.Context, c Caller, lc *localConflict) (string, error) {
	aside, err := v.freeBeside(ctx, c, lc, "conflict-global")
	if err != nil {
		return "", err
	}
	req := &proto.Rename{FromDir: lc.dir, FromName: lc.name, ToDir: lc.dir, ToName: aside, StoreID: v.nextStoreID()}
	if _, _, err := v.send(ctx, c, lc.dir.Volume, proto.OpRename, req, req.StoreID, func() proto.Message { return &proto.RenameReply{} }, nil); err != nil {
		return "", fmt.Errorf("moving the servers' version aside: %w", err)
	}
	return aside, nil
}

// renameLogged gives the object a refused create made (lc) a free name
// NAME.conflict-local, in the cache and in the log, and lets it go.
func (v *Venus) renameLogged(ctx context.Context, c Caller, lc *localConflict) (string, error) {
	name, err := v.freeBeside(ctx, c, lc, "conflict-local")
	if err != nil {
		return "", err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	vol := v.volumeFor(lc.dir.Volume)
	rec, old := lc.rec, lc.name
	d := v.objs[lc.dir]
	if d == nil || d.dir == nil {
		return "", proto.Errorf(proto.CodeTimeout, "the directory's entries are not cached")
	}
	rewrite := func(r *cmlRecord, edit func(proto.Message) bool) {
		if req, err := r.request(); err == nil && edit(req) {
			r.req = proto.Marshal(req)
			v.meta.write(func(b *store.Batch) { b.Set(cmlKey(vol.id, r.seq), r.encode()) })
		}
	}
	rewrite(rec, func(m proto.Message) bool {
		cr, ok := m.(*proto.Create)
		if ok {
			cr.Name = name
		}
		return ok
	})
	for _, r := range vol.cml { // later records naming the object by its old name
		if r.seq <= rec.seq {
			continue
		}
		rewrite(r, func(m proto.Message) bool {
			switch q := m.(type) {
			case *proto.Rename:
				if q.FromDir == lc.dir && q.FromName == old {
					q.FromName = name
					return true
				}
			case *proto.Remove:
				if q.Dir == lc.dir && q.Name == old {
					q.Name = name
					return true
				}
			}
			return false
		})
	}
	if de, ok := d.dir.entries[old]; ok && de.FID == rec.subject {
		d.dir.del(old)
		v.meta.delEntry(d, old)
		de.Name = name
		d.dir.add(de)
		v.meta.setEntry(d, de)
	}
	v.endLocalConflict(vol, rec)
	rec.conflict = ""
	v.cmlCommit()
	return name, nil
}

// saveLocalCopy copies this client's version of the file lc names to a
// free NAME.conflict-local beside it, and returns that name.
func (v *Venus) saveLocalCopy(ctx context.Context, c Caller, lc *localConflict) (string, error) {
	src, err := v.cachedCopy(lc.rec.subject)
	if err != nil {
		return "", err
	}
	defer src.Close()
	return v.saveBeside(ctx, c, lc, src, "conflict-local")
}

// saveGlobalCopy copies the servers' version of the file lc names to a
// free NAME.conflict-global beside it, and returns that name.
func (v *Venus) saveGlobalCopy(ctx context.Context, c Caller, lc *localConflict, x *expansion) (string, error) {
	src, err := v.fetchCopy(ctx, c, &view{key: viewKey{fid: x.global, server: x.globalRep.ServerID}, rep: x.globalRep})
	if err != nil {
		return "", err
	}
	defer src.Close()
	return v.saveBeside(ctx, c, lc, src, "conflict-global")
}

// saveBeside copies src to a new file beside the file lc names, under a
// free NAME.SUFFIX (a create and a store, logged or not like any update
// now), and returns that name.
func (v *Venus) saveBeside(ctx context.Context, c Caller, lc *localConflict, src *os.File, suffix string) (string, error) {
	v.mu.Lock()
	o := v.objs[lc.rec.subject]
	var name string
	var dirIno uint64
	var mode uint32
	if o != nil && o.attr.Type == proto.TypeFile {
		if d := v.objs[o.parent]; d != nil && d.dir != nil {
			for n, de := range d.dir.entries {
				if de.FID == o.fid {
					name = n
				}
			}
			dirIno, mode = d.ino, o.attr.Mode&0o777
			if name != "" {
				name = freeName(name, suffix, func(n string) bool { _, here := d.dir.entries[n]; return here })
			}
		}
	}
	v.mu.Unlock()
	if name == "" {
		return "", proto.Errorf(proto.CodeInvalid, "only a file's versions can be kept side by side: keep local or global")
	}
	_, h, err := v.Create(ctx, c, dirIno, name, mode, syscall.O_WRONLY|syscall.O_CREAT|syscall.O_EXCL)
	if err != nil {
		return "", fmt.Errorf("saving the local version as %s: %w", name, err)
	}
	buf := make([]byte, 1<<20)
	var off int64
	for {
		n, rerr := src.ReadAt(buf, off)
		if n > 0 {
			if _, err := v.Write(h, buf[:n], off); err != nil {
				v.Release(ctx, c, h)
				return "", fmt.Errorf("saving the local version as %s: %w", name, err)
			}
			off += int64(n)
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			v.Release(ctx, c, h)
			return "", rerr
		}
	}
	if err := v.Release(ctx, c, h); err != nil {
		return "", fmt.Errorf("saving the local version as %s: %w", name, err)
	}
	return name, nil
}

// applyPolicy ends the local/global conflict of rec by itself when the
// conflict policy in force in its directory says how (cfs setpolicy):
// keep-all keeps both versions (keepBoth); newest lets the newer version
// keep the name and saves the other beside it. A removal never wins by
// itself: the servers' version stays. Under manual (the default) the
// conflict waits for cfs repair, preservelocal or discardlocal.
func (v *Venus) applyPolicy(vol *volume, rec *cmlRecord) {
	v.mu.Lock()
	lc := vol.localConflicts[rec.subject]
	var dir proto.FID
	var localAt int64
	if o := v.objs[rec.subject]; lc != nil && o != nil {
		dir, localAt = cmp.Or(lc.dir, o.parent), o.attr.Mtime
	}
	v.mu.Unlock()
	if lc == nil || lc.rec != rec || dir.IsZero() {
		return
	}
	c := Caller{UID: rec.uid}
	ctx, cancel := context.WithTimeout(context.Background(), v.opts.DataTimeout)
	defer cancel()
	var pol proto.PolicyReply
	if _, err := v.callVol(ctx, c, dir.Volume, proto.OpGetPolicy, &proto.FIDReq{FID: dir}, &pol, nil); err != nil {
		v.log.Warn("conflict policy not known; the conflict waits", "fid", rec.subject, "err", err)
		return
	}
	var keep, saved string
	switch pol.Effective {
	case proto.PolicyKeepAll:
		keep = keepBoth
	case proto.PolicyNewest:
		x, err := v.expandLocal(ctx, c, lc)
		if err != nil {
			v.log.Warn("the servers' version is not known; the conflict waits", "fid", rec.subject, "err", err)
			return
		}
		keep = keepBoth // the servers' version is newer, or gone: it keeps the name
		if !lc.ghost && !x.global.IsZero() && localAt > x.globalAt {
			keep = keepLocal
			if !lc.byName { // one object, two contents: the servers' is saved first
				if saved, err = v.saveGlobalCopy(ctx, c, lc, x); err != nil {
					v.log.Warn("the servers' version could not be saved; the conflict waits", "fid", rec.subject, "err", err)
					return
				}
			}
		}
	default:
		return
	}
	did, err := v.repairLocal(ctx, c, lc, keep)
	if err != nil {
		v.log.Warn("conflict policy not applied; the conflict waits", "policy", proto.PolicyNames[pol.Effective], "fid", rec.subject, "err", err)
		return
	}
	if saved != "" {
		did += "; the servers' version is saved as " + saved
	}
	v.event(nil, EventRepaired, rec.subject, fmt.Sprintf("by the %s policy: %s", proto.PolicyNames[pol.Effective], did))
}
