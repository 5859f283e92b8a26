package pdb

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/coda-fs/coda/auth/acl"
)

func sampleDB(t *testing.T) *DB {
	d := NewRealm()
	must := mustID(t)
	jan := must(d.AddUser("jan", 0))
	www := must(d.AddUser("www-data", 33))
	friends := must(d.AddGroup("jan:friends", jan))
	web := must(d.AddGroup("System:web", acl.AdminUser))
	for _, p := range [][2]int32{{friends, www}, {friends, jan}, {web, friends}} {
		if err := d.AddMember(p[0], p[1]); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

func TestExportImport(t *testing.T) {
	d := sampleDB(t)
	var buf bytes.Buffer
	if err := d.Export(&buf); err != nil {
		t.Fatal(err)
	}
	want := `coda-pdb 1
user 1 admin
user 2 jan
user 33 www-data
group -101 System:AnyUser 1
group -204 System:Administrators 1 1
group -205 jan:friends 2 2,33
group -206 System:web 1 -205
`
	if buf.String() != want {
		t.Fatalf("export:\n%s\nwant:\n%s", buf.String(), want)
	}
	d2, err := Import(strings.NewReader("# saved\n\n" + want))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(d2.List(), d.List()) {
		t.Fatalf("import differs:\n%+v\n%+v", d2.List(), d.List())
	}
	if !reflect.DeepEqual(d2.Groups(33), d.Groups(33)) {
		t.Fatal("transitive groups differ after import")
	}
}

func TestImportErrors(t *testing.T) {
	h := header + "\n"
	cases := map[string]string{
		"no header":         "user 1 admin\n",
		"empty":             "",
		"bad kind":          h + "robot 1 r2d2\n",
		"user negative":     h + "user -1 x\n",
		"group positive":    h + "user 1 a\ngroup 5 a:g 1\n",
		"zero id":           h + "user 0 x\n",
		"bad id":            h + "user 1x x\n",
		"big id":            h + "user 99999999999 x\n",
		"bad user name":     h + "user 1 a:b\n",
		"bad group name":    h + "user 1 a\ngroup -5 g 1\n",
		"dup id":            h + "user 1 a\nuser 1 b\n",
		"dup name":          h + "user 1 a\nuser 2 a\n",
		"missing owner":     h + "group -5 a:g 7\n",
		"group owner":       h + "user 1 a\ngroup -5 a:g 1\ngroup -6 a:h -5\n",
		"prefix not owner":  h + "user 1 a\nuser 2 b\ngroup -5 b:g 1\n",
		"missing member":    h + "user 1 a\ngroup -5 a:g 1 9\n",
		"dup member":        h + "user 1 a\ngroup -5 a:g 1 1,1\n",
		"cycle":             h + "user 1 a\ngroup -5 a:g 1 -6\ngroup -6 a:h 1 -5\n",
		"self":              h + "user 1 a\ngroup -5 a:g 1 -5\n",
		"extra field":       h + "user 1 a b\n",
		"bad member list":   h + "user 1 a\ngroup -5 a:g 1 1,\n",
		"too few fields":    h + "user 1\n",
		"second header bad": h + h,
	}
	for name, in := range cases {
		if _, err := Import(strings.NewReader(in)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

func FuzzImport(f *testing.F) {
	var buf bytes.Buffer
	NewRealm().Export(&buf)
	f.Add(buf.String())
	f.Add(header + "\nuser 1 a\nuser 2 b\ngroup -5 a:g 1 2,-6\ngroup -6 b:h 2 1\n")
	f.Add(header + "\nuser 1 a\ngroup -5 a:g 1 -6\ngroup -6 a:h 1 -5\n")
	f.Add("# x\n" + header + "\n\nuser 7 x\n")
	f.Fuzz(func(t *testing.T, s string) {
		d, err := Import(strings.NewReader(s))
		if err != nil {
			return
		}
		var out bytes.Buffer
		if err := d.Export(&out); err != nil {
			t.Fatal(err)
		}
		d2, err := Import(&out)
		if err != nil {
			t.Fatalf("re-import of export failed: %v", err)
		}
		if !reflect.DeepEqual(d.List(), d2.List()) {
			t.Fatal("export/import not stable")
		}
		for _, e := range d.List() {
			gs := d.Groups(e.ID)
			if len(gs) == 0 || (e.IsGroup() && e.ID != acl.AnyUser && d.Member(e.ID, e.ID)) {
				t.Fatalf("bad closure for %d: %v", e.ID, gs)
			}
		}
	})
}
