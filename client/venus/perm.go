package venus

import (
	"context"
	"syscall"

	"github.com/coda-fs/coda/auth/acl"
	"github.com/coda-fs/coda/server/proto"
)

// Permission bits as in a mode's owner/group/other triplets.
const (
	permR = 4
	permW = 2
	permX = 1
)

// An operation needs both an ACL right on the directory that governs the
// object (a directory's own ACL, a file's directory's) and the POSIX mode
// bits, judged against the caller's Coda identity: the owner bits for the
// owner, the group bits for a member of the file's group, the other bits
// for everyone else and for anonymous callers. Members of
// System:Administrators pass the mode bits as root does (execute still
// needs some x bit on a non-directory). The servers check all of it again;
// venus checks first so that a denial of cached data needs no round trip
// and so that cached data never reaches a caller the server would refuse.
//
// Rights live on directories: Attr.Rights of a reply is the caller's
// rights on the governing ACL, recorded on that directory (the object
// itself, or the directory a file was last seen in) per Coda user, and
// trusted only while the directory holds its callback; an ACL change breaks
// it. Group membership changes in the protection database reach venus when
// the directory's callback next breaks or the user logs in again.

// modeOK reports whether id may access an object with status a for want
// (a combination of permR, permW, permX) by its mode bits.
func modeOK(id identity, a *proto.Attr, want uint32) bool {
	if id.admin {
		return want&permX == 0 || a.Type == proto.TypeDir || a.Mode&0o111 != 0
	}
	var bits uint32
	switch {
	case id.anonymous():
		bits = a.Mode
	case uint32(id.uid) == a.UID:
		bits = a.Mode >> 6
	case id.member(proto.GIDGroup(a.GID)):
		bits = a.Mode >> 3
	default:
		bits = a.Mode
	}
	return bits&7&want == want
}

// owns reports whether id owns an object with status a.
func (id identity) owns(a *proto.Attr) bool { return !id.anonymous() && uint32(id.uid) == a.UID }

// governing returns the directory whose ACL governs o: o itself for a
// directory, else the directory it was last seen in (nil if unknown).
// Callers hold v.mu.
func (v *Venus) governing(o *object) *object {
	if o.isDir() {
		return o
	}
	if o.parent.IsZero() {
		return nil
	}
	return v.objs[o.parent]
}

// noteRights records the rights a reply sent under st carried for o.
// Callers hold v.mu.
func (v *Venus) noteRights(o *object, a *proto.Attr, st stamp) {
	g := v.governing(o)
	if g == nil || !v.hasCB(g) || !v.promiseOK(st, g.fid) {
		return
	}
	if g.rights == nil {
		g.rights = map[int32]acl.Rights{}
	}
	g.rights[st.who] = acl.Rights(a.Rights)
	g.anyRights, g.hasAnyRights = acl.Rights(a.AnyRights), true
}

// dropRights forgets the rights cached on directory d (its promise changed).
// Callers hold v.mu.
func dropRights(d *object) {
	d.rights = nil
	d.hasAnyRights = false
}

// forgetRights forgets the cached rights of the Coda users who (a token
// came or went for them: their groups may have changed). Other users'
// rights stay: while disconnected they are all venus has to go by.
func (v *Venus) forgetRights(who ...int32) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, o := range v.objs {
		for _, id := range who {
			delete(o.rights, id)
		}
	}
}

// cachedRights returns who's rights on the ACL governing o, when known
// under a live promise, or known at all when stale is set (disconnected:
// the last rights the servers gave are the ones that hold). Callers hold
// v.mu.
func (v *Venus) cachedRights(o *object, who int32, stale bool) (acl.Rights, bool) {
	g := v.governing(o)
	if g == nil || !stale && !v.hasCB(g) {
		return 0, false
	}
	r, ok := g.rights[who]
	return r, ok
}

// public reports whether everyone, tokens or not, may look o up: only
// then may the kernel cache o's entry and attributes across users.
// Callers hold v.mu.
func (v *Venus) public(o *object) bool {
	g := v.governing(o)
	return g != nil && v.trusted(g) && g.hasAnyRights && g.anyRights.Has(acl.Lookup)
}

// rightsFor returns c's rights on the ACL governing o, asking the server
// (a GetAttr as c) when venus does not know them.
func (v *Venus) rightsFor(ctx context.Context, c Caller, o *object) (identity, acl.Rights, error) {
	id, _ := v.identityOf(c)
	stale := v.disconnected(o.fid.Volume)
	v.mu.Lock()
	r, ok := v.cachedRights(o, id.uid, stale)
	v.mu.Unlock()
	if ok {
		return id, r, nil
	}
	if stale {
		return id, 0, proto.Errorf(proto.CodeTimeout, "disconnected, and this user's rights here are not cached")
	}
	a, err := v.getAttrAs(ctx, c, o)
	if err != nil && v.disconnected(o.fid.Volume) {
		v.mu.Lock()
		r, ok = v.cachedRights(o, id.uid, true) // disconnected under the call
		v.mu.Unlock()
		if ok {
			return id, r, nil
		}
	}
	if err != nil {
		return id, 0, err
	}
	return id, acl.Rights(a.Rights), nil
}

// accessState returns what an access check of c on o needs: c's identity,
// its rights on the ACL governing o, and o's status.
func (v *Venus) accessState(ctx context.Context, c Caller, o *object) (identity, acl.Rights, proto.Attr, error) {
	id, r, err := v.rightsFor(ctx, c, o)
	if err != nil {
		return id, 0, proto.Attr{}, err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	return id, r, o.attr, nil
}

// checkAccess checks that c holds right on the ACL governing o and the
// mode bits want on o's status, which must be current.
func (v *Venus) checkAccess(ctx context.Context, c Caller, o *object, right acl.Rights, want uint32) error {
	id, r, a, err := v.accessState(ctx, c, o)
	if err != nil {
		return err
	}
	if !r.Has(right) || !modeOK(id, &a, want) {
		return proto.ErrAccess
	}
	return nil
}

// checkMutation checks a change to directory d that needs right: the mode
// bits always, the right when venus knows c's rights on d (else the server
// decides).
func (v *Venus) checkMutation(c Caller, d *object, right acl.Rights) error {
	id, _ := v.identityOf(c)
	stale := v.disconnected(d.fid.Volume)
	v.mu.Lock()
	a := d.attr
	r, known := v.cachedRights(d, id.uid, stale)
	v.mu.Unlock()
	if (known && !r.Has(right)) || !modeOK(id, &a, permW|permX) {
		return proto.ErrAccess
	}
	return nil
}

// fileAccess decides an open of a file with status a: reading needs 'r'
// and the read bit, writing 'w' and the write bit; the owner of a file may
// also write it with 'i' (drop boxes) and read it with 'i' or 'w'.
func fileAccess(id identity, r acl.Rights, a *proto.Attr, want uint32) bool {
	owner := id.owns(a)
	if want&permR != 0 {
		if !(r.Has(acl.Read) && modeOK(id, a, permR)) && !(owner && r&(acl.Insert|acl.Write) != 0) {
			return false
		}
	}
	if want&permW != 0 {
		if !(r.Has(acl.Write) && modeOK(id, a, permW)) && !(owner && r.Has(acl.Insert)) {
			return false
		}
	}
	if want&permX != 0 && !modeOK(id, a, permX) {
		return false
	}
	return true
}

// checkSticky refuses the removal of child from a sticky directory d by
// someone who owns neither.
func checkSticky(id identity, d, child *proto.Attr) error {
	if d.Mode&syscall.S_ISVTX == 0 || id.admin || id.owns(d) || id.owns(child) {
		return nil
	}
	return proto.ErrPerm
}

// Access answers access(2): mask is a combination of R_OK (4), W_OK (2) and
// X_OK (1); 0 (F_OK) checks existence.
func (v *Venus) Access(ctx context.Context, c Caller, ino uint64, mask uint32) error {
	if isSynthetic(ino) {
		if mask&permW != 0 {
			return proto.ErrAccess
		}
		return nil
	}
	if vw, x, _ := v.under(ino); vw != nil || x != nil {
		if mask&permW != 0 {
			return proto.ErrReadOnly
		}
		return nil // the servers check each read
	}
	o, err := v.object(ino)
	if err != nil {
		return err
	}
	if err := v.ensureValid(ctx, c, o); err != nil {
		return err
	}
	id, r, a, err := v.accessState(ctx, c, o)
	if err != nil {
		return err
	}
	ok := modeOK(id, &a, mask&7)
	if o.isDir() {
		ok = ok && (mask&(permR|permX) == 0 || r.Has(acl.Lookup)) &&
			(mask&permW == 0 || r&(acl.Insert|acl.Delete) != 0)
	} else {
		ok = fileAccess(id, r, &a, mask&7)
	}
	if !ok {
		return proto.ErrAccess
	}
	return nil
}
