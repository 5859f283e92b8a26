package volume

import "github.com/coda-fs/coda/server/proto"

// Access bits, as in access(2).
const (
	permR = 4
	permW = 2
	permX = 1
)

// may reports whether c holds every bit of want on n. Root holds all of
// them (execute only when some x bit is set, as POSIX says). The owner is
// judged by the owner bits; anyone else by the group and other bits
// together, because until the auth issue the server does not know the
// caller's groups (venus checks group membership precisely before asking).
func may(c Cred, n *vnode, want uint32) bool {
	if c.root() {
		if want&permX != 0 && n.Type != proto.TypeDir && n.Mode&0111 == 0 {
			return false
		}
		return true
	}
	var bits uint32
	if uint32(c.UID) == n.UID {
		bits = (n.Mode >> 6) & 7
	} else {
		bits = ((n.Mode >> 3) | n.Mode) & 7
	}
	return bits&want == want
}

// check returns proto.ErrAccess unless may(c, n, want).
func check(c Cred, n *vnode, want uint32) error {
	if !may(c, n, want) {
		return proto.ErrAccess
	}
	return nil
}

// checkSticky enforces the sticky bit of dir: only the owner of the entry,
// the owner of the directory or root may remove or rename it.
func checkSticky(c Cred, dir, victim *vnode) error {
	if dir.Mode&01000 == 0 || c.root() || uint32(c.UID) == dir.UID || uint32(c.UID) == victim.UID {
		return nil
	}
	return proto.ErrPerm
}
