package volume

import (
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/coda-fs/coda/auth/acl"
	"github.com/coda-fs/coda/server/proto"
)

// maxPathDepth bounds the walk of Path (a loop in the back-references
// would be a damaged volume; it must not hang the server).
const maxPathDepth = 4096

// Path returns fid's path inside the volume ("/" for the root, "/a/b"
// otherwise), following the first name of each object up to the root
// (cfs getpath). It needs 'l' in every directory on the way.
func (v *Volume) Path(c Cred, fid proto.FID) (string, error) {
	if _, err := v.object(fid); err != nil {
		return "", err
	}
	var names []string
	vn := fid.Vnode
	for depth := 0; vn != RootVnode; depth++ {
		if depth == maxPathDepth {
			return "", fmt.Errorf("volume %s: vnode %d is deeper than %d directories (a loop?)", v.hdr.Name, fid.Vnode, maxPathDepth)
		}
		dir, name, err := v.firstName(vn)
		if err != nil {
			return "", err
		}
		d, err := v.readVnode(dir)
		if err != nil {
			return "", err
		}
		a, err := dirACL(d)
		if err != nil {
			return "", err
		}
		if err := need(rightsOn(c, a), acl.Lookup); err != nil {
			return "", err
		}
		names = append(names, name)
		vn = dir
	}
	for i, j := 0, len(names)-1; i < j; i, j = i+1, j-1 {
		names[i], names[j] = names[j], names[i]
	}
	return "/" + strings.Join(names, "/"), nil
}

// firstName returns the directory and name of vnode vn's first name.
func (v *Volume) firstName(vn uint32) (dir uint32, name string, err error) {
	p := parentPrefix(v.hdr.ID, vn)
	it, err := v.set.db.NewIter(p, prefixEnd(p))
	if err != nil {
		return 0, "", err
	}
	defer it.Close()
	if !it.First() {
		return 0, "", proto.Errorf(proto.CodeNotFound, fmt.Sprintf("vnode %d has no name (removed)", vn))
	}
	k := it.Key()[len(p):]
	if len(k) < 4 {
		return 0, "", fmt.Errorf("volume %s: bad back-reference of vnode %d", v.hdr.Name, vn)
	}
	return binary.BigEndian.Uint32(k), string(k[4:]), nil
}
