package venus

import (
	"cmp"
	"context"
	"fmt"
	"regexp"

	"github.com/coda-fs/coda/server/proto"
)

// An object whose replicas diverged (each side of a partition changed it,
// and resolution could not merge it) is shown, as in Coda, as a dangling
// symbolic link whose target is "@VOLUME.VNODE.UNIQUE@REALM": `find -lname
// '@*'` finds every conflict, opening one gives ENOENT, and the rest of
// the volume keeps working. The cfs repair commands turn it back into a
// normal object. Names of that form are reserved.

// conflictName matches the reserved names (a conflict link's target).
var conflictName = regexp.MustCompile(`^@[0-9a-f]+\.[0-9a-f]+\.[0-9a-f]+@`)

// reservedName reports whether name has the form of a conflict link.
func reservedName(name string) bool { return conflictName.MatchString(name) }

// conflictTarget is the target of o's conflict link.
func (v *Venus) conflictTarget(fid proto.FID) string {
	return fmt.Sprintf("@%x.%x.%x@%s", fid.Volume, fid.Vnode, fid.Unique, v.opts.Realm)
}

// inConflict reports whether venus shows fid as a conflict link: its
// replicas diverged, or it is a conflict object a merge made in place of a
// name (proto.AttrConflict). A volume's root never is (it would hide the
// volume); cfs lv reports it and cfs repair repairs it. An expanded
// conflict is shown as a directory instead. Callers hold v.mu.
func (v *Venus) inConflict(fid proto.FID) bool {
	if fid.Vnode == volumeRootVnode || v.expanded[fid] != nil {
		return false
	}
	if o := v.objs[fid]; o != nil && isConflictObject(o) {
		return true
	}
	vol := v.vols[fid.Volume]
	return vol != nil && (vol.conflicts[fid] || vol.localConflicts[fid] != nil)
}

// isConflictObject reports whether o is a conflict object (a directory of
// the versions of one name). Callers hold v.mu.
func isConflictObject(o *object) bool { return o.hasAttr && o.attr.Flags&proto.AttrConflict != 0 }

// volumeRootVnode is the vnode number of every volume's root directory.
const volumeRootVnode = 1

// setConflict records whether fid is in conflict and has the kernel forget
// what it cached of it (it changes between a link and the object).
// Callers hold v.mu.
func (v *Venus) setConflict(fid proto.FID, on bool) {
	vol := v.volumeFor(fid.Volume)
	if vol.conflicts[fid] == on {
		return
	}
	if on {
		if vol.conflicts == nil {
			vol.conflicts = map[proto.FID]bool{}
		}
		vol.conflicts[fid] = true
	} else {
		delete(vol.conflicts, fid)
	}
	if o := v.objs[fid]; o != nil {
		go v.notify(v.reshow(o, 0), 0)
	}
}

// Repair modes for Repair.
const (
	RepairKeep    = proto.RepairKeep
	RepairRemove  = proto.RepairRemove
	RepairKeepAll = proto.RepairKeepAll
)

// Repair repairs the conflict at name in directory parent (cfs repair):
// keep server's version (an address or server id; empty: the replica venus
// reads from), remove the object, or keep every version side by side. It
// returns what the server did.
func (v *Venus) Repair(ctx context.Context, c Caller, parent uint64, name string, mode uint8, server string) (string, error) {
	o, err := v.lookupEntry(ctx, c, parent, name)
	if err != nil {
		return "", err
	}
	v.mu.Lock()
	lc := v.localConflictOf(o.fid)
	v.mu.Unlock()
	if lc != nil {
		keep := cmp.Or(server, keepLocal)
		switch mode {
		case RepairKeepAll:
			keep = keepBoth
		case RepairRemove:
			return "", proto.Errorf(proto.CodeInvalid, "a local/global conflict: keep local, global or both (or cfs discardlocal)")
		}
		path, _ := v.Path(ctx, c, o.fid)
		did, err := v.repairLocal(ctx, c, lc, keep)
		if err == nil {
			e := newEvent(&c, EventRepaired, o.fid, did)
			e.Path = path
			v.events.add(e)
		}
		return did, err
	}
	de := proto.DirEntry{Name: name, FID: o.fid}
	var dirFID proto.FID
	if o.fid.Vnode == volumeRootVnode {
		dirFID = o.fid // a volume's root: its own rights govern
	} else {
		d, err := v.dirObject(parent)
		if err != nil {
			return "", err
		}
		dirFID = d.fid
	}
	req := proto.Repair{FID: de.FID, Dir: dirFID, Name: name, Mode: mode}
	if mode == RepairKeep {
		reps, err := v.replicas(ctx, c, de.FID.Volume)
		if err != nil {
			return "", err
		}
		if server == "" {
			server = v.preferred(ctx, c, de.FID.Volume)
		}
		for _, r := range reps {
			if r.Addr == server || fmt.Sprint(r.ServerID) == server {
				req.Server = r.ServerID
			}
		}
		if req.Server == 0 {
			return "", proto.Errorf(proto.CodeInvalid, fmt.Sprintf("%s holds no replica of this volume", server))
		}
	}
	path, _ := v.Path(ctx, c, de.FID) // for the event: the repair may remove or rename it
	var r proto.Text
	if _, err := v.callVol(ctx, c, de.FID.Volume, proto.OpRepair, &req, &r, nil); err != nil {
		return "", err
	}
	v.mu.Lock()
	var notes kernelNotes
	if v.expanded[de.FID] != nil {
		v.collapse(de.FID)
		notes = v.reshow(o, parent)
	}
	v.setConflict(de.FID, false)
	delete(v.volumeFor(de.FID.Volume).outOfDate, de.FID)
	v.mu.Unlock()
	v.notify(notes, kernelWait)
	v.BreakCallbacks([]proto.FID{de.FID, dirFID})
	e := newEvent(&c, EventRepaired, de.FID, r.Text)
	e.Path = path
	v.events.add(e)
	return r.Text, nil
}

// SetPolicy sets directory ino's conflict policy (cfs setpolicy): an update
// sent to every replica.
func (v *Venus) SetPolicy(ctx context.Context, c Caller, ino uint64, policy uint8) error {
	d, err := v.dirObject(ino)
	if err != nil {
		return err
	}
	req := proto.SetPolicy{Dir: d.fid, Policy: policy, StoreID: v.nextStoreID()}
	st, r, err := updateAs[proto.AttrReply](ctx, v, c, d.fid.Volume, proto.OpSetPolicy, &req, req.StoreID, nil)
	if err != nil {
		return err
	}
	v.mu.Lock()
	if d.cbGen == st.gen && v.promiseOK(st, d.fid) {
		v.carryVersion(d, r.Attr.VV) // the entries did not change
	}
	v.applyAttr(d, r.Attr, st)
	v.mu.Unlock()
	return nil
}

// Policy returns directory ino's own conflict policy and the one in force
// there, with the path of the directory it comes from (cfs getpolicy).
func (v *Venus) Policy(ctx context.Context, c Caller, ino uint64) (own, effective uint8, from string, err error) {
	d, err := v.dirObject(ino)
	if err != nil {
		return 0, 0, "", err
	}
	var r proto.PolicyReply
	if _, err := v.callVol(ctx, c, d.fid.Volume, proto.OpGetPolicy, &proto.FIDReq{FID: d.fid}, &r, nil); err != nil {
		return 0, 0, "", err
	}
	if !r.From.IsZero() {
		from, _ = v.Path(ctx, c, r.From)
	}
	return r.Own, r.Effective, from, nil
}
