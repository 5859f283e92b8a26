package venus

import (
	"context"
	"fmt"
	"maps"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/coda-fs/coda/server/proto"
	"github.com/coda-fs/coda/server/rpc"
)

// cfs expand (Coda's beginrepair) shows a conflict as a read-only directory
// with one entry per replica, named by its server's id: each entry is that
// server's version of the object — a file to read, a symlink, or a
// directory to list and walk (everything below it is read from the same
// server). cfs collapse (endrepair) shows the conflict link again, and so
// does a repair. Nothing under an expansion can be changed (EROFS): cfs
// repair does that, and `cfs repair X --with X/2` takes one of the versions.

// expansion is an object cfs expand shows as a directory of its replicas
// (reps), a conflict object shown as the directory of versions it is
// (real), or a local/global conflict shown as its local version and the
// servers' (local: global on globalRep; none when global is zero).
type expansion struct {
	reps      []proto.Replica
	real      bool
	local     *localConflict
	global    proto.FID
	globalRep proto.Replica
	globalAt  int64 // the servers' version's mtime
}

// viewKey names one server's version of fid under the expansion of root.
type viewKey struct {
	root, fid proto.FID
	server    uint32
}

// view is one server's version of an object under an expansion. Its
// inode number lives as long as the expansion; nothing of it is persisted.
type view struct {
	ino     uint64
	key     viewKey
	rep     proto.Replica
	attr    proto.Attr
	entries map[string]proto.DirEntry // directories: the server's entries at entVV
	entVV   proto.VV
	of      *openFile // files: the copy the open handles share
}

// lookupEntry returns the object named name in directory parent, as the
// kernel would find it (through mount points).
func (v *Venus) lookupEntry(ctx context.Context, c Caller, parent uint64, name string) (*object, error) {
	e, err := v.Lookup(ctx, c, parent, name)
	if err != nil {
		return nil, err
	}
	return v.object(e.Ino)
}

// Expand shows the conflict at name in directory parent as a directory of
// its replicas, or of its local and global versions (cfs expand), and says
// what it holds.
func (v *Venus) Expand(ctx context.Context, c Caller, parent uint64, name string) (string, error) {
	o, err := v.lookupEntry(ctx, c, parent, name)
	if err != nil {
		return "", err
	}
	v.mu.Lock()
	lc := v.localConflictOf(o.fid)
	v.mu.Unlock()
	var x *expansion
	if lc != nil {
		if x, err = v.expandLocal(ctx, c, lc); err != nil {
			return "", err
		}
	} else if x, err = v.expandReplicas(ctx, c, o); err != nil {
		return "", err
	}
	v.mu.Lock()
	var notes kernelNotes
	if v.expanded[o.fid] == nil {
		v.expanded[o.fid] = x
		notes = v.reshow(o, parent)
	}
	var names []string
	if x.local != nil {
		names = slices.Sorted(maps.Keys(v.localVersions(o, x)))
	}
	v.mu.Unlock()
	v.notify(notes, kernelWait)
	switch {
	case x.real:
		return "expanded into its versions, each named by the id of a server that holds it", nil
	case x.local != nil:
		return fmt.Sprintf("a local/global conflict (%s), expanded into %s", lc.rec.conflict, strings.Join(names, " and ")), nil
	}
	names = make([]string, len(x.reps))
	for i, r := range x.reps {
		names[i] = fmt.Sprintf("%d (%s)", r.ServerID, r.Addr)
	}
	return "expanded into one entry per replica, named by server: " + strings.Join(names, ", "), nil
}

// expandReplicas makes the expansion of o, a server conflict: its
// replicas, or the versions a conflict object holds.
func (v *Venus) expandReplicas(ctx context.Context, c Caller, o *object) (*expansion, error) {
	reps, err := v.replicas(ctx, c, o.fid.Volume)
	if err != nil {
		return nil, err
	}
	if len(reps) < 2 {
		return nil, proto.Errorf(proto.CodeInvalid, "its volume has a single replica: there is nothing to expand")
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if isConflictObject(o) {
		return &expansion{real: true}, nil
	}
	vol := v.volumeFor(o.fid.Volume)
	if _, differ := vol.outOfDate[o.fid]; !vol.conflicts[o.fid] && !differ {
		return nil, proto.Errorf(proto.CodeInvalid, "not in conflict: its replicas agree")
	}
	return &expansion{reps: reps}, nil
}

// Collapse undoes Expand (cfs collapse).
func (v *Venus) Collapse(ctx context.Context, c Caller, parent uint64, name string) error {
	o, err := v.lookupEntry(ctx, c, parent, name)
	if err != nil {
		return err
	}
	v.mu.Lock()
	if v.expanded[o.fid] == nil {
		v.mu.Unlock()
		return proto.Errorf(proto.CodeInvalid, "not expanded")
	}
	v.collapse(o.fid)
	notes := v.reshow(o, parent)
	v.mu.Unlock()
	v.notify(notes, kernelWait)
	return nil
}

// kernelWait bounds how long a command that changes how an object is
// shown (expand, collapse, repair) waits for the kernel to forget the old
// form, so that the next command sees the new one.
const kernelWait = 2 * time.Second

// collapse forgets the expansion of fid and its views. Handles still open
// keep their copies. Callers hold v.mu.
func (v *Venus) collapse(fid proto.FID) {
	delete(v.expanded, fid)
	for ino, vw := range v.views {
		if vw.key.root == fid {
			delete(v.views, ino)
			delete(v.viewInos, vw.key)
		}
	}
}

// reshow returns what the kernel must forget of o when o changes between
// an object, a conflict link and an expansion: its inode, its name in
// directory parent (0: o's last known directory) and its entries. Callers
// hold v.mu, and pass the notes to v.notify once they released it.
func (v *Venus) reshow(o *object, parent uint64) kernelNotes {
	notes := kernelNotes{inodes: []uint64{o.ino}, children: []uint64{o.ino}}
	if parent == 0 {
		if p := v.objs[o.parent]; p != nil {
			parent = p.ino
		}
	}
	if parent != 0 {
		notes.children = append(notes.children, parent)
	}
	return notes
}

// expandedAttr is the status of an expanded object: a read-only directory.
// Callers hold v.mu.
func expandedAttr(o *object, x *expansion) Attr {
	a := &o.attr
	return Attr{Ino: o.ino, Mode: syscall.S_IFDIR | 0o555, Nlink: uint32(2 + len(x.reps)),
		UID: a.UID, GID: a.GID, Mtime: a.Mtime, Ctime: a.Ctime, Atime: a.Mtime}
}

// viewAttr is a view's status: the server's, without write permission.
func viewAttr(vw *view) Attr {
	a := &vw.attr
	return Attr{Ino: vw.ino, Mode: typeBits(a.Type) | a.Mode&0o7555, Nlink: a.Nlink,
		UID: a.UID, GID: a.GID, Size: a.Size, Blocks: (a.Blocks + 511) / 512,
		Mtime: a.Mtime, Ctime: a.Ctime, Atime: a.Mtime}
}

// under reports what ino is under an expansion of replicas: a view, or an
// expanded object (x set, with its FID). A conflict object expanded is a
// directory like any other.
func (v *Venus) under(ino uint64) (vw *view, x *expansion, root *object) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if vw = v.views[ino]; vw != nil {
		return vw, nil, nil
	}
	if o := v.byIno[ino]; o != nil {
		if x = v.expanded[o.fid]; x != nil && !x.real {
			return nil, x, o
		}
	}
	return nil, nil, nil
}

// viewFor returns the view of key, making it (and its inode number) if
// needed. Callers hold v.mu.
func (v *Venus) viewFor(key viewKey, rep proto.Replica) *view {
	if vw := v.viewInos[key]; vw != nil {
		return vw
	}
	vw := &view{ino: v.nextIno, key: key, rep: rep}
	v.nextIno++ // not persisted: views end with venus
	v.viewInos[key] = vw
	v.views[vw.ino] = vw
	return vw
}

// callServer sends one request to the server at addr (no failover).
func (v *Venus) callServer(ctx context.Context, c Caller, addr string, op proto.Op, req, resp proto.Message, opts *rpc.CallOpts) (stamp, error) {
	conn, err := v.link.to(ctx, addr, true)
	if err != nil {
		return stamp{}, err
	}
	return v.callOn(ctx, c, conn, op, req, resp, opts)
}

// refreshView reads vw's status from its server (from the cache: this
// client's version of a local/global conflict).
func (v *Venus) refreshView(ctx context.Context, c Caller, vw *view) (Attr, error) {
	if vw.key.server == localServer {
		if err := v.cachedView(vw); err != nil {
			return Attr{}, err
		}
		v.mu.Lock()
		defer v.mu.Unlock()
		return viewAttr(vw), nil
	}
	var r proto.AttrReply
	if _, err := v.callServer(ctx, c, vw.rep.Addr, proto.OpGetAttr, &proto.FIDReq{FID: vw.key.fid}, &r, nil); err != nil {
		return Attr{}, err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	vw.attr = r.Attr
	return viewAttr(vw), nil
}

// viewEntries returns the entries of the view directory vw, read from its
// server once per version.
func (v *Venus) viewEntries(ctx context.Context, c Caller, vw *view) (map[string]proto.DirEntry, error) {
	v.mu.Lock()
	if vw.attr.Type != proto.TypeDir {
		v.mu.Unlock()
		return nil, proto.ErrNotDir
	}
	if vw.entries != nil && vw.entVV == vw.attr.VV {
		defer v.mu.Unlock()
		return vw.entries, nil
	}
	v.mu.Unlock()
	if vw.key.server == localServer {
		if err := v.cachedView(vw); err != nil {
			return nil, err
		}
		return vw.entries, nil
	}
	_, dir, entries, _, err := v.readAllPages(ctx, c, vw.key.fid, vw.rep.Addr)
	if err != nil {
		return nil, err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	vw.attr, vw.entries, vw.entVV = dir, entries, dir.VV
	return entries, nil
}

// viewLookup answers a lookup in an expanded object or a view directory;
// ok is false when parent is neither.
func (v *Venus) viewLookup(ctx context.Context, c Caller, parent uint64, name string) (e Entry, ok bool, err error) {
	pv, x, root := v.under(parent)
	var vw *view
	switch {
	case x != nil && x.local != nil:
		v.mu.Lock()
		vw = v.localVersions(root, x)[name]
		v.mu.Unlock()
		if vw == nil {
			return Entry{}, true, proto.ErrNotFound
		}
	case x != nil:
		for _, r := range x.reps {
			if strconv.FormatUint(uint64(r.ServerID), 10) == name {
				v.mu.Lock()
				vw = v.viewFor(viewKey{root: root.fid, fid: root.fid, server: r.ServerID}, r)
				v.mu.Unlock()
			}
		}
		if vw == nil {
			return Entry{}, true, proto.ErrNotFound
		}
	case pv != nil:
		entries, err := v.viewEntries(ctx, c, pv)
		if err != nil {
			return Entry{}, true, err
		}
		de, found := entries[name]
		if !found {
			return Entry{}, true, proto.ErrNotFound
		}
		v.mu.Lock()
		vw = v.viewFor(viewKey{root: pv.key.root, fid: de.FID, server: pv.rep.ServerID}, pv.rep)
		v.mu.Unlock()
	default:
		return Entry{}, false, nil
	}
	a, err := v.refreshView(ctx, c, vw)
	return Entry{Attr: a}, true, err
}

// viewReadDir lists an expanded object or a view directory; ok is false
// when ino is neither.
func (v *Venus) viewReadDir(ctx context.Context, c Caller, ino uint64) (list []DirEntry, ok bool, err error) {
	vw, x, root := v.under(ino)
	switch {
	case x != nil && x.local != nil:
		v.mu.Lock()
		defer v.mu.Unlock()
		for name, ch := range v.localVersions(root, x) {
			list = append(list, DirEntry{Name: name, Ino: ch.ino, Mode: typeBits(root.attr.Type)})
		}
	case x != nil:
		v.mu.Lock()
		defer v.mu.Unlock()
		for _, r := range x.reps {
			ch := v.viewFor(viewKey{root: root.fid, fid: root.fid, server: r.ServerID}, r)
			list = append(list, DirEntry{Name: strconv.FormatUint(uint64(r.ServerID), 10), Ino: ch.ino, Mode: typeBits(root.attr.Type)})
		}
	case vw != nil:
		entries, err := v.viewEntries(ctx, c, vw)
		if err != nil {
			return nil, true, err
		}
		v.mu.Lock()
		defer v.mu.Unlock()
		for name, de := range entries {
			ch := v.viewFor(viewKey{root: vw.key.root, fid: de.FID, server: vw.rep.ServerID}, vw.rep)
			list = append(list, DirEntry{Name: name, Ino: ch.ino, Mode: typeBits(de.Type)})
		}
	default:
		return nil, false, nil
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Name < list[j].Name })
	return list, true, nil
}

// viewReadlink reads a view symlink's target from its server.
func (v *Venus) viewReadlink(ctx context.Context, c Caller, vw *view) (string, error) {
	v.mu.Lock()
	typ := vw.attr.Type
	v.mu.Unlock()
	if typ != proto.TypeSymlink {
		return "", syscall.EINVAL
	}
	if vw.key.server == localServer {
		v.mu.Lock()
		defer v.mu.Unlock()
		if o := v.objs[vw.key.fid]; o != nil && o.hasTarget {
			return o.target, nil
		}
		return "", proto.Errorf(proto.CodeTimeout, "the link's target is not cached")
	}
	var r proto.ReadlinkReply
	if _, err := v.callServer(ctx, c, vw.rep.Addr, proto.OpReadlink, &proto.FIDReq{FID: vw.key.fid}, &r, nil); err != nil {
		return "", err
	}
	return r.Target, nil
}

// viewOpen opens a view file: its server's version, fetched into a
// container of its own (unlinked at once: it ends with its last handle).
func (v *Venus) viewOpen(ctx context.Context, c Caller, vw *view, flags uint32) (*Handle, error) {
	if _, writable := accessOf(flags); writable || flags&syscall.O_TRUNC != 0 {
		return nil, proto.ErrReadOnly
	}
	v.mu.Lock()
	typ := vw.attr.Type
	if of := vw.of; of != nil {
		of.refs++
		v.mu.Unlock()
		return &Handle{o: &object{ino: vw.ino}, of: of, view: vw}, nil
	}
	v.mu.Unlock()
	if typ == proto.TypeDir {
		return nil, proto.ErrIsDir
	}
	var f *os.File
	var err error
	if vw.key.server == localServer {
		f, err = v.cachedCopy(vw.key.fid)
	} else {
		f, err = v.fetchCopy(ctx, c, vw)
	}
	if err != nil {
		return nil, err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if vw.of != nil { // another open fetched it meanwhile
		f.Close()
		vw.of.refs++
	} else {
		vw.of = &openFile{f: f, refs: 1, released: make(chan struct{})}
	}
	return &Handle{o: &object{ino: vw.ino}, of: vw.of, view: vw}, nil
}

// fetchCopy fetches the server's version of the view file vw into a
// container of its own, unlinked at once.
func (v *Venus) fetchCopy(ctx context.Context, c Caller, vw *view) (*os.File, error) {
	f, name, err := v.conts.create()
	if err != nil {
		return nil, err
	}
	os.Remove(v.conts.path(name))
	var r proto.AttrReply
	if _, err := v.callServer(ctx, c, vw.rep.Addr, proto.OpFetch, &proto.FIDReq{FID: vw.key.fid}, &r, &rpc.CallOpts{Download: &fileSink{f: f}}); err != nil {
		f.Close()
		return nil, err
	}
	v.mu.Lock()
	vw.attr = r.Attr
	v.mu.Unlock()
	return f, nil
}

// cachedCopy opens this client's version of file fid: its container, or
// an empty file when it has none (nothing was written to it).
func (v *Venus) cachedCopy(fid proto.FID) (*os.File, error) {
	v.mu.Lock()
	o := v.objs[fid]
	if o == nil || !o.hasAttr {
		v.mu.Unlock()
		return nil, proto.ErrNotFound
	}
	cont, size := o.cont, o.attr.Size
	v.mu.Unlock()
	if cont != "" {
		return v.conts.open(cont)
	}
	if size != 0 {
		return nil, proto.Errorf(proto.CodeTimeout, "the file's data is not cached")
	}
	f, name, err := v.conts.create()
	if err == nil {
		os.Remove(v.conts.path(name))
	}
	return f, err
}

// releaseView ends a handle of a view file.
func (v *Venus) releaseView(h *Handle) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if h.released {
		return fmt.Errorf("handle released twice")
	}
	h.released = true
	if h.of.refs--; h.of.refs == 0 {
		h.of.f.Close()
		close(h.of.released)
		if h.view.of == h.of {
			h.view.of = nil
		}
	}
	return nil
}
