package volume

import (
	"fmt"
	"slices"

	"github.com/coda-fs/coda/auth/acl"
	"github.com/coda-fs/coda/server/proto"
)

// Access bits, as in access(2).
const (
	permR = 4
	permW = 2
	permX = 1
)

func (c Cred) anonymous() bool { return c.UID <= 0 }

// owns reports whether c is n's owner. An anonymous caller owns nothing,
// not even what it created (owned by proto.AnonymousUID).
func (c Cred) owns(n *vnode) bool { return !c.anonymous() && uint32(c.UID) == n.UID }

// inGroup reports whether the Coda group shown as gid is in c's CPS. An
// anonymous caller is in no group (it is always "other").
func (c Cred) inGroup(gid uint32) bool {
	return !c.anonymous() && gid != 0 && slices.Contains(c.CPS, proto.GIDGroup(gid))
}

// ids returns the principal ids whose ACL entries apply to c: its CPS, and
// its own id should the CPS lack it.
func (c Cred) ids() []int32 {
	if c.anonymous() || slices.Contains(c.CPS, c.UID) {
		return c.CPS
	}
	return append(slices.Clip(c.CPS), c.UID)
}

// may reports whether c holds every mode bit of want on n: the owner bits
// when c owns n, the group bits when n's group is in c's CPS, the other
// bits otherwise. An admin holds all of them (execute only when some x bit
// is set, as POSIX says for root).
func may(c Cred, n *vnode, want uint32) bool {
	if c.root() {
		return want&permX == 0 || n.Type == proto.TypeDir || n.Mode&0111 != 0
	}
	var bits uint32
	switch {
	case c.owns(n):
		bits = n.Mode >> 6
	case c.inGroup(n.GID):
		bits = n.Mode >> 3
	default:
		bits = n.Mode
	}
	return bits&7&want == want
}

// check returns proto.ErrAccess unless may(c, n, want).
func check(c Cred, n *vnode, want uint32) error {
	if !may(c, n, want) {
		return proto.ErrAccess
	}
	return nil
}

// need returns proto.ErrAccess unless r holds every right in want.
func need(r, want acl.Rights) error {
	if !r.Has(want) {
		return proto.ErrAccess
	}
	return nil
}

// checkSticky enforces the sticky bit of dir: only the owner of the entry,
// the owner of the directory or an admin may remove or rename it.
func checkSticky(c Cred, dir, victim *vnode) error {
	if dir.Mode&01000 == 0 || c.root() || c.owns(dir) || c.owns(victim) {
		return nil
	}
	return proto.ErrPerm
}

// mayWriteData is the rule of Store and truncation: the 'w' right and the
// mode's w bit, or the owner with 'i' (a drop box: a user may fill the
// files it created in a directory where it may only insert).
func mayWriteData(c Cred, n *vnode, r acl.Rights) bool {
	return r.Has(acl.Write) && may(c, n, permW) || c.owns(n) && r.Has(acl.Insert)
}

// mayReadData is the rule of Fetch: the 'r' right and the mode's r bit, or
// the owner with 'w' or 'i' (reading back what it may write).
func mayReadData(c Cred, n *vnode, r acl.Rights) bool {
	return r.Has(acl.Read) && may(c, n, permR) || c.owns(n) && r&(acl.Write|acl.Insert) != 0
}

// getter reads a vnode: a transaction's view, the store or a snapshot.
type getter func(vn uint32) (*vnode, error)

// dirACL decodes directory d's ACL.
func dirACL(d *vnode) (acl.ACL, error) {
	if d.Type != proto.TypeDir {
		return acl.ACL{}, fmt.Errorf("ACL of a %s", d.Type)
	}
	a, err := acl.Decode(d.ACL)
	if err != nil {
		return acl.ACL{}, fmt.Errorf("directory record: %w", err)
	}
	return a, nil
}

// governing returns the ACL that governs n: a directory's own, the parent
// directory's for a file or symlink.
func governing(get getter, n *vnode) (acl.ACL, error) {
	if n.Type == proto.TypeDir {
		return dirACL(n)
	}
	d, err := get(n.Parent)
	if err != nil {
		return acl.ACL{}, fmt.Errorf("parent directory %d: %w", n.Parent, err)
	}
	return dirACL(d)
}

// rightsOn returns c's effective rights under a.
func rightsOn(c Cred, a acl.ACL) acl.Rights { return acl.Effective(a, c.ids()) }

// anyUser is the CPS of System:AnyUser alone.
var anyUser = []int32{proto.AnyUserID}

// stamp sets the caller's and System:AnyUser's rights under gov, the ACL
// governing the object, in a.
func stamp(a proto.Attr, c Cred, gov acl.ACL) proto.Attr {
	a.Rights = uint8(rightsOn(c, gov))
	a.AnyRights = uint8(acl.Effective(gov, anyUser))
	return a
}

// attrFor returns n's status for c, with its rights.
func attrFor(get getter, c Cred, fid proto.FID, n *vnode) (proto.Attr, error) {
	gov, err := governing(get, n)
	if err != nil {
		return proto.Attr{}, err
	}
	return stamp(n.attr(fid), c, gov), nil
}
