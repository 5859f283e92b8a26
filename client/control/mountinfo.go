package control

import (
	"fmt"
	"slices"
	"strings"
)

// mountFSType is the file system type venus's FUSE mounts show in
// /proc/self/mountinfo: "fuse." + go-fuse's MountOptions.Name ("coda").
const mountFSType = "fuse.coda"

// mount is one line of /proc/self/mountinfo, the fields we use.
type mount struct {
	Point  string // mount point, unescaped
	FSType string // e.g. "fuse.coda", "ext4"
	Source string // e.g. "coda", "/dev/sda1"
}

// parseMountinfo parses the text of /proc/PID/mountinfo (proc(5)):
//
//	36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
//
// Fields are separated by single spaces; the optional fields end at "-".
// Spaces, tabs, newlines and backslashes inside a field are escaped as
// octal (\040, \011, \012, \134).
func parseMountinfo(text string) ([]mount, error) {
	var out []mount
	for i, line := range strings.Split(text, "\n") {
		if line == "" {
			continue
		}
		f := strings.Split(line, " ")
		sep := -1
		if len(f) > 6 {
			if j := slices.Index(f[6:], "-"); j >= 0 {
				sep = 6 + j
			}
		}
		if sep < 0 || len(f) < sep+3 {
			return nil, fmt.Errorf("mountinfo line %d is malformed", i+1)
		}
		out = append(out, mount{Point: unescapeOctal(f[4]), FSType: unescapeOctal(f[sep+1]),
			Source: unescapeOctal(f[sep+2])})
	}
	return out, nil
}

// unescapeOctal decodes the kernel's \ooo escapes; anything else is kept.
func unescapeOctal(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && isOctal(s[i+1]) && isOctal(s[i+2]) && isOctal(s[i+3]) && s[i+1] <= '3' {
			b.WriteByte((s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0'))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }

// innermostCoda returns the deepest venus mount point that contains path
// (absolute and clean), or false.
func innermostCoda(mounts []mount, path string) (string, bool) {
	best, found := "", false
	for _, m := range mounts {
		if m.FSType != mountFSType || !contains(m.Point, path) {
			continue
		}
		if !found || len(m.Point) > len(best) {
			best, found = m.Point, true
		}
	}
	return best, found
}

// contains reports whether path is dir or below it, comparing whole path
// components ("/coda" contains "/coda/x", not "/codax").
func contains(dir, path string) bool {
	switch {
	case !strings.HasPrefix(dir, "/"):
		return false
	case dir == "/" || dir == path:
		return true
	}
	return strings.HasPrefix(path, dir) && path[len(dir)] == '/'
}
