package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/coda-fs/coda/auth/acl"
	"github.com/coda-fs/coda/server/bintest"
)

// mountOp is one thing the daemon user tries through the mount in a row's
// directory m; it must work exactly when the row grants one of the rights
// in allow, and fail with "Permission denied" otherwise.
type mountOp struct {
	name   string
	allow  acl.Rights
	script func(m, free, row string) string
}

var mountOps = []mountOp{
	{"stat", acl.Lookup, func(m, _, _ string) string { return "stat " + m + "/theirs" }},
	{"ls", acl.Lookup, func(m, _, _ string) string { return "ls " + m }},
	{"readlink", acl.Lookup, func(m, _, _ string) string { return "readlink -v " + m + "/link" }},
	{"read theirs", acl.Read, func(m, _, _ string) string { return "cat " + m + "/theirs" }},
	{"read mine", acl.Read | acl.Write | acl.Insert, func(m, _, _ string) string { return "cat " + m + "/mine" }},
	{"write theirs", acl.Write, func(m, _, _ string) string { return "sh -c 'echo new > " + m + "/theirs'" }},
	{"write mine", acl.Write | acl.Insert, func(m, _, _ string) string { return "sh -c 'echo new > " + m + "/mine'" }},
	{"create", acl.Insert, func(m, _, _ string) string { return "touch " + m + "/new" }},
	{"mkdir", acl.Insert, func(m, _, _ string) string { return "mkdir " + m + "/newdir" }},
	{"symlink", acl.Insert, func(m, _, _ string) string { return "ln -s t " + m + "/newlink" }},
	{"link", acl.Insert, func(m, _, _ string) string { return "ln " + m + "/mine " + m + "/mine2" }},
	{"remove", acl.Delete, func(m, _, _ string) string { return "rm -f " + m + "/rm" }},
	{"rmdir", acl.Delete, func(m, _, _ string) string { return "rmdir " + m + "/rmd" }},
	{"rename out", acl.Delete, func(m, free, row string) string { return "mv " + m + "/mvout " + free + "/out-" + row }},
	{"rename in", acl.Insert, func(m, free, row string) string { return "mv " + free + "/in-" + row + " " + m + "/in" }},
	{"chmod mine", acl.Write, func(m, _, _ string) string { return "chmod 660 " + m + "/mine" }},
}

// TestACLMatrixThroughTheMount: the daemon user www-data holds rights on
// each row's directory only through group admin:outer, which holds
// admin:staff, which holds www-data. Each row grants l plus one right
// (lookup is how a path reaches anything through a mount); the raw-client
// version of this matrix, in server/fileserver, grants single rights
// with no venus in the way.
func TestACLMatrixThroughTheMount(t *testing.T) {
	c := bintest.NewCell(t, bintest.CellOptions{})
	v := c.Venus("client")
	openPath(v.Mount)
	id := newUser(t, c, wwwData, "www-secret")
	c.Admin("pdbtool", "ng", "admin:staff", "admin")
	c.Admin("pdbtool", "ng", "admin:outer", "admin")
	c.Admin("pdbtool", "ag", "admin:staff", wwwData)
	c.Admin("pdbtool", "ag", "admin:outer", "admin:staff")
	info := c.Admin("pdbtool", "i", wwwData)
	if !strings.Contains(info, "admin:outer") {
		t.Errorf("pdbtool i %s does not show the nested group:\n%s", wwwData, info)
	}
	mustSh(t, bin(t)+" clog -as www-data --mount "+v.Mount+" <<< www-secret")
	cfs := func(args ...string) {
		t.Helper()
		if r := bintest.Run(t, "", append([]string{"cfs"}, args...)...); r.Code != 0 {
			t.Fatalf("cfs %v: %s", args, r.Stderr)
		}
	}
	free := filepath.Join(v.Root, "free")
	mustSh(t, "mkdir -m 777 "+free)
	cfs("sa", "-clear", free, wwwData, "all", "System:Administrators", "all")

	type row struct {
		name    string
		acl     []string // NAME RIGHTS pairs; "-" before NAME: negative
		granted acl.Rights
	}
	var rows []row
	for _, r := range []acl.Rights{acl.Read, acl.Insert, acl.Delete, acl.Write, acl.Lock, acl.Administer} {
		rows = append(rows, row{"l" + r.String(), []string{"admin:outer", "l" + r.String()}, acl.Lookup | r})
	}
	rows = append(rows,
		row{"l", []string{"admin:outer", "l"}, acl.Lookup},
		row{"none", nil, acl.None},
		// Negative rights win over positive ones, however reached.
		row{"negative", []string{"admin:outer", "all", "-" + wwwData, "idw"}, acl.All &^ (acl.Insert | acl.Delete | acl.Write)},
		row{"negative-group", []string{wwwData, "all", "-admin:staff", "rwa"}, acl.All &^ (acl.Read | acl.Write | acl.Administer)},
	)
	for _, r := range rows {
		m := filepath.Join(v.Root, "m-"+r.name)
		mustSh(t, fmt.Sprintf(`set -e; mkdir -m 777 %[1]s; cd %[1]s
			echo theirs > theirs; echo mine > mine; chmod 666 theirs mine; chown %[2]d mine
			mkdir -m 777 sub rmd; ln -s target link; touch rm mvout; chmod 666 rm mvout
			touch %[3]s/in-%[4]s; chmod 666 %[3]s/in-%[4]s`, m, id, free, r.name))
		cfs("sa", "-clear", m, "System:Administrators", "all")
		for i := 0; i+1 < len(r.acl); i += 2 {
			if name, ok := strings.CutPrefix(r.acl[i], "-"); ok {
				cfs("sa", "-negative", m, name, r.acl[i+1])
			} else {
				cfs("sa", m, r.acl[i], r.acl[i+1])
			}
		}
		for _, op := range mountOps {
			script := asWWW + op.script(m, free, r.name)
			out, err := sh(script)
			switch {
			case r.granted&op.allow != 0 && err != nil:
				t.Errorf("row %s: %s: %v %q, want success", r.name, op.name, err, out)
			case r.granted&op.allow == 0 && (err == nil || !strings.Contains(out, "Permission denied")):
				t.Errorf("row %s: %s: %v %q, want Permission denied", r.name, op.name, err, out)
			}
		}
		// Only administrators change owners; 'a' lets one change the ACL.
		want := "not permitted"
		if !r.granted.Has(acl.Lookup) {
			want = "Permission denied" // the path does not even resolve
		}
		if out, err := sh(asWWW + "chown " + fmt.Sprint(id) + " " + m + "/theirs"); err == nil || !strings.Contains(out, want) {
			t.Errorf("row %s: chown by www-data: %v %q, want %s", r.name, err, out, want)
		}
		out, err := sh(asWWW + bin(t) + " cfs sa " + m + " " + wwwData + " rl")
		if want := r.granted.Has(acl.Administer); (err == nil) != want {
			t.Errorf("row %s: cfs sa by www-data: %v %q, want success %v", r.name, err, out, want)
		}
	}
}
