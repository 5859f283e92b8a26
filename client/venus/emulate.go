package venus

import (
	"os"
	"time"

	"github.com/coda-fs/coda/server/proto"
	"github.com/coda-fs/coda/server/rpc"
)

// Disconnected operation. A volume none of whose replicas venus can reach
// (they are down, or cut off by cfs disconnect) is disconnected: cached
// objects are served as they are, a cache miss fails with ETIMEDOUT, and
// each update is emulated: applied to the cache alone, as the servers
// would have applied it, and logged in the volume's CML (cml.go) to be
// replayed when a replica is back. An emulated object's version vector
// carries the update's store id, so it differs from every version a server
// ever gave.

// disconnected reports whether no replica of volume id is reachable now.
// A volume whose replicas venus never learned is not (nothing of it is
// cached to serve).
func (v *Venus) disconnected(id uint32) bool {
	v.mu.Lock()
	vol := v.vols[id]
	var reps []proto.Replica
	if vol != nil && vol.repsKnown {
		reps = vol.reps
	}
	v.mu.Unlock()
	if len(reps) == 0 {
		return false
	}
	for _, r := range reps {
		if !v.link.isDown(r.Addr) {
			return false
		}
	}
	return true
}

// emulate applies update op (with store id sid) to the cache of volume id
// and logs it, returning the reply the servers would have sent.
func (v *Venus) emulate(c Caller, id uint32, op proto.Op, req proto.Message, sid proto.StoreID, opts *rpc.CallOpts) (stamp, proto.Message, error) {
	if opts != nil && opts.Upload != nil {
		// A logged store ships the container later: its data must be on
		// disk before the record is (a crash must not leave a record
		// whose data is gone).
		if f, ok := opts.Upload.R.(*os.File); ok {
			if err := f.Sync(); err != nil {
				return stamp{}, nil, err
			}
		}
	}
	idn, _ := v.identityOf(c)
	v.mu.Lock()
	defer v.mu.Unlock()
	st := stamp{gen: v.gen, seq: v.breaks.seq, who: idn.uid, local: true}
	now := time.Now().UnixNano()
	touch := func(a *proto.Attr) {
		a.VV.Store = sid
		a.Mtime, a.Ctime = now, now
	}
	cached := func(fid proto.FID) (*object, error) {
		o := v.objs[fid]
		if o == nil || !o.hasAttr {
			return nil, proto.Errorf(proto.CodeTimeout, "disconnected, and not cached")
		}
		return o, nil
	}
	entry := func(d *object, name string) (proto.DirEntry, bool, error) {
		if !dirValid(d) {
			return proto.DirEntry{}, false, proto.Errorf(proto.CodeTimeout, "disconnected, and the directory is not cached")
		}
		de, ok := d.dir.entries[name]
		return de, ok, nil
	}
	rec := &cmlRecord{uid: c.UID, who: idn.uid, op: op, sid: sid, req: proto.Marshal(req), made: now}
	var reply proto.Message
	switch r := req.(type) {
	case *proto.Create:
		d, err := cached(r.Dir)
		if err != nil {
			return st, nil, err
		}
		if _, exists, err := entry(d, r.Name); err != nil || exists {
			return st, nil, cmpErr(err, proto.ErrExists)
		}
		if r.FID.IsZero() {
			return st, nil, proto.Errorf(proto.CodeNoSpace, "disconnected, and no new object numbers are left (reserved while connected)")
		}
		dir := d.attr
		touch(&dir)
		a := proto.Attr{FID: r.FID, Mode: r.Mode, UID: proto.AnonymousUID, GID: r.GID, Nlink: 1,
			Mtime: r.Mtime, Ctime: now, VV: proto.VV{Store: sid}, Rights: dir.Rights, AnyRights: dir.AnyRights}
		if !idn.anonymous() {
			a.UID = uint32(idn.uid)
		}
		if a.GID == 0 {
			a.GID = dir.GID
		}
		switch op {
		case proto.OpMkdir:
			a.Type, a.Nlink, a.Size = proto.TypeDir, 2, 4096
			dir.Nlink++
		case proto.OpSymlink:
			a.Type, a.Size = proto.TypeSymlink, int64(len(r.Target))
		default:
			a.Type = proto.TypeFile
		}
		rec.subject, rec.fids, rec.created = r.FID, []proto.FID{r.Dir, r.FID}, true
		reply = &proto.DirOpReply{Dir: dir, Attr: a}
	case *proto.Remove:
		d, err := cached(r.Dir)
		if err != nil {
			return st, nil, err
		}
		de, exists, err := entry(d, r.Name)
		if err != nil || !exists {
			return st, nil, cmpErr(err, proto.ErrNotFound)
		}
		o, err := cached(de.FID)
		if err != nil {
			return st, nil, err
		}
		if op == proto.OpRmdir && o.dir != nil && len(o.dir.entries) > 0 {
			return st, nil, proto.ErrNotEmpty
		}
		dir, a := d.attr, o.attr
		touch(&dir)
		a.Ctime = now
		a.Nlink--
		if a.Type == proto.TypeDir {
			dir.Nlink--
			a.Nlink = 0
		}
		rec.subject, rec.fids = de.FID, []proto.FID{r.Dir, de.FID}
		reply = &proto.DirOpReply{Dir: dir, Attr: a}
	case *proto.Rename:
		from, err := cached(r.FromDir)
		if err != nil {
			return st, nil, err
		}
		to, err := cached(r.ToDir)
		if err != nil {
			return st, nil, err
		}
		de, exists, err := entry(from, r.FromName)
		if err != nil || !exists {
			return st, nil, cmpErr(err, proto.ErrNotFound)
		}
		o, err := cached(de.FID)
		if err != nil {
			return st, nil, err
		}
		old, replaces, err := entry(to, r.ToName)
		if err != nil {
			return st, nil, err
		}
		rr := &proto.RenameReply{FromDir: from.attr, ToDir: to.attr, Attr: o.attr}
		touch(&rr.FromDir)
		rr.ToDir = rr.FromDir
		if r.ToDir != r.FromDir {
			rr.ToDir = to.attr
			touch(&rr.ToDir)
		}
		rr.Attr.Ctime = now
		rec.subject, rec.fids = de.FID, []proto.FID{r.FromDir, r.ToDir, de.FID}
		if replaces && old.FID != de.FID {
			ro, err := cached(old.FID)
			if err != nil {
				return st, nil, err
			}
			rr.Replaced = ro.attr
			rr.Replaced.Nlink--
			rr.Replaced.Ctime = now
			rec.replaces = true
			rec.fids = append(rec.fids, old.FID)
		}
		reply = rr
	case *proto.Link:
		d, err := cached(r.Dir)
		if err != nil {
			return st, nil, err
		}
		if _, exists, err := entry(d, r.Name); err != nil || exists {
			return st, nil, cmpErr(err, proto.ErrExists)
		}
		o, err := cached(r.Target)
		if err != nil {
			return st, nil, err
		}
		dir, a := d.attr, o.attr
		touch(&dir)
		a.Nlink++
		a.Ctime = now
		rec.subject, rec.fids, rec.replaces = r.Target, []proto.FID{r.Dir, r.Target}, true
		reply = &proto.DirOpReply{Dir: dir, Attr: a}
	case *proto.Store:
		o, err := cached(r.FID)
		if err != nil {
			return st, nil, err
		}
		a := o.attr
		touch(&a)
		a.Size, a.Mtime = r.Size, r.Mtime
		rec.subject, rec.fids, rec.size, rec.cont = r.FID, []proto.FID{r.FID}, r.Size, o.cont
		reply = &proto.AttrReply{Attr: a}
	case *proto.SetAttr:
		o, err := cached(r.FID)
		if err != nil {
			return st, nil, err
		}
		if r.Mask&proto.SetSize != 0 && o.of == nil {
			return st, nil, proto.Errorf(proto.CodeTimeout, "disconnected: truncate a file by opening it")
		}
		a := o.attr
		touch(&a)
		a.Mtime = o.attr.Mtime
		if r.Mask&proto.SetMode != 0 {
			a.Mode = r.Mode
		}
		if r.Mask&proto.SetUID != 0 {
			a.UID = r.UID
		}
		if r.Mask&proto.SetGID != 0 {
			a.GID = r.GID
		}
		if r.Mask&proto.SetSize != 0 {
			a.Size = r.Size
		}
		if r.Mask&proto.SetMtime != 0 {
			a.Mtime = r.Mtime
		}
		rec.subject, rec.fids = r.FID, []proto.FID{r.FID}
		reply = &proto.AttrReply{Attr: a}
	default:
		return st, nil, proto.Errorf(proto.CodeTimeout, "disconnected: this change needs the servers")
	}
	vol := v.volumeFor(id)
	if so := v.objs[rec.subject]; so != nil && !rec.created {
		rec.base, rec.hasBase = v.logBase(vol, so, op)
	}
	if b, ok := req.(proto.Based); ok && rec.hasBase {
		b.SetBase(rec.base, true) // the servers check it
		rec.req = proto.Marshal(req)
	}
	v.cmlAppend(vol, rec)
	v.stats.emulated.Add(1)
	return st, reply, nil
}

// cmpErr is err, or want when err is nil.
func cmpErr(err, want error) error {
	if err != nil {
		return err
	}
	return want
}
