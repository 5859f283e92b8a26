package venus

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/coda-fs/coda/server/proto"
)

// Permission bits as in a mode's owner/group/other triplets.
const (
	permR = 4
	permW = 2
	permX = 1
)

// permitted reports whether c may access an object with status a for want
// (a combination of permR, permW, permX). Root may do anything except
// execute a file with no execute bit.
func permitted(c Caller, a *proto.Attr, want uint32) bool {
	if c.UID == 0 {
		return want&permX == 0 || a.Type == proto.TypeDir || a.Mode&0o111 != 0
	}
	var bits uint32
	switch {
	case c.UID == a.UID:
		bits = a.Mode >> 6
	case (a.Mode>>3)&7 != a.Mode&7 && inGroup(c, a.GID):
		bits = a.Mode >> 3
	default:
		bits = a.Mode
	}
	return bits&7&want == want
}

// inGroup reports whether c's process belongs to group gid: its primary
// group, or one of its supplementary groups read from /proc.
func inGroup(c Caller, gid uint32) bool {
	if c.GID == gid {
		return true
	}
	if c.PID == 0 {
		return false
	}
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", c.PID))
	if err != nil {
		return false
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		line, ok := strings.CutPrefix(s.Text(), "Groups:")
		if !ok {
			continue
		}
		for _, g := range strings.Fields(line) {
			if n, err := strconv.ParseUint(g, 10, 32); err == nil && uint32(n) == gid {
				return true
			}
		}
		return false
	}
	return false
}

// checkPerm checks c's access to o, whose status must be current.
func (v *Venus) checkPerm(c Caller, o *object, want uint32) error {
	v.mu.Lock()
	a := o.attr
	v.mu.Unlock()
	if !permitted(c, &a, want) {
		return proto.ErrAccess
	}
	return nil
}

// checkSticky refuses the removal of child from a sticky directory d by
// someone who owns neither.
func checkSticky(c Caller, d, child *proto.Attr) error {
	if d.Mode&syscall.S_ISVTX == 0 || c.UID == 0 || c.UID == d.UID || c.UID == child.UID {
		return nil
	}
	return proto.ErrPerm
}

// Access answers access(2): mask is a combination of R_OK (4), W_OK (2) and
// X_OK (1); 0 (F_OK) checks existence.
func (v *Venus) Access(ctx context.Context, c Caller, ino uint64, mask uint32) error {
	if isSynthetic(ino) {
		if mask&permW != 0 && c.UID != 0 {
			return proto.ErrAccess
		}
		return nil
	}
	o, err := v.object(ino)
	if err != nil {
		return err
	}
	if err := v.ensureValid(ctx, c, o); err != nil {
		return err
	}
	return v.checkPerm(c, o, mask&7)
}
