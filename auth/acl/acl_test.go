package acl

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

func TestParseRights(t *testing.T) {
	cases := []struct {
		in   string
		want Rights
		str  string
		err  bool
	}{
		{"all", All, "rlidwka", false},
		{"none", None, "none", false},
		{"read", Read | Lookup, "rl", false},
		{"write", Read | Lookup | Insert | Delete | Write | Lock, "rlidwk", false},
		{"rlidwka", All, "rlidwka", false},
		{"akwdilr", All, "rlidwka", false},
		{"r", Read, "r", false},
		{"l", Lookup, "l", false},
		{"i", Insert, "i", false},
		{"d", Delete, "d", false},
		{"w", Write, "w", false},
		{"k", Lock, "k", false},
		{"a", Administer, "a", false},
		{"rr", Read, "r", false},
		{"", None, "", true},
		{"x", None, "", true},
		{"R", None, "", true},
		{"rl ", None, "", true},
		{"All", None, "", true},
		{"-rl", None, "", true},
	}
	for _, tc := range cases {
		got, err := ParseRights(tc.in)
		if (err != nil) != tc.err {
			t.Errorf("ParseRights(%q) err = %v", tc.in, err)
			continue
		}
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("ParseRights(%q) err %v is not ErrMalformed", tc.in, err)
			}
			continue
		}
		if got != tc.want || got.String() != tc.str {
			t.Errorf("ParseRights(%q) = %v (%q), want %v (%q)", tc.in, uint8(got), got, uint8(tc.want), tc.str)
		}
		if back, err := ParseRights(got.String()); err != nil || back != got {
			t.Errorf("String round trip of %q: %v, %v", tc.in, back, err)
		}
	}
	if !All.Has(Read|Administer) || (Read | Lookup).Has(Write) {
		t.Error("Has wrong")
	}
}

func TestSetGet(t *testing.T) {
	var a ACL
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(a.Set(5, Read, false))
	must(a.Set(-3, All, false))
	must(a.Set(2, Write, false))
	must(a.Set(5, Lookup, false)) // replace
	must(a.Set(7, Insert, true))
	must(a.Set(2, None, false)) // remove
	must(a.Set(99, None, false))
	want := ACL{Positive: []Entry{{-3, All}, {5, Lookup}}, Negative: []Entry{{7, Insert}}}
	if !reflect.DeepEqual(a, want) {
		t.Fatalf("got %+v, want %+v", a, want)
	}
	if p, n := a.Get(7); p != None || n != Insert {
		t.Fatalf("Get(7) = %v, %v", p, n)
	}
	c := a.Clone()
	must(c.Set(5, All, false))
	if p, _ := a.Get(5); p != Lookup {
		t.Fatal("Clone shares storage")
	}
	var big ACL
	for i := range int32(MaxEntries) {
		must(big.Set(i+1, Read, false))
	}
	if big.Set(-1, Read, false) == nil {
		t.Fatal("Set exceeded MaxEntries")
	}
}

func TestEffective(t *testing.T) {
	const (
		alice, bob  int32 = 10, 11
		staff, devs int32 = -300, -301
	)
	a := DefaultRoot()
	a.Set(staff, Read|Lookup|Insert|Write, false)
	a.Set(alice, Delete, false)
	a.Set(devs, Write, true)
	a.Set(bob, All, false)
	a.Set(bob, Administer, true)
	cases := []struct {
		name string
		acl  ACL
		ids  []int32
		want Rights
	}{
		{"anonymous", a, nil, Read | Lookup},
		{"anonymous explicit", a, []int32{AnyUser}, Read | Lookup},
		{"admin", a, []int32{AdminUser, Administrators, AnyUser}, All},
		{"alice", a, []int32{alice, AnyUser}, Read | Lookup | Delete},
		{"alice in staff (nested groups flattened by caller)", a, []int32{alice, staff, AnyUser}, Read | Lookup | Insert | Write | Delete},
		{"alice in staff and devs: negative wins", a, []int32{alice, staff, devs}, Read | Lookup | Insert | Delete},
		{"bob: own negative", a, []int32{bob}, All &^ Administer},
		{"negative on AnyUser hits everyone", ACL{Positive: []Entry{{alice, All}}, Negative: []Entry{{AnyUser, Read}}}, []int32{alice}, All &^ Read},
		{"empty acl", ACL{}, []int32{alice, Administrators}, None},
	}
	for _, tc := range cases {
		if got := Effective(tc.acl, tc.ids); got != tc.want {
			t.Errorf("%s: Effective = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestEncodeDecode(t *testing.T) {
	a := DefaultRoot()
	a.Set(42, Write|Lock, false)
	a.Set(-7, Insert, true)
	a.Set(9, Administer, true)
	for _, acl := range []ACL{{}, DefaultRoot(), a} {
		b, err := Encode(acl)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Decode(b)
		if err != nil || !reflect.DeepEqual(got, acl) {
			t.Fatalf("Decode(Encode(%+v)) = %+v, %v", acl, got, err)
		}
	}
	good, _ := Encode(a)
	bad := map[string][]byte{
		"empty":      nil,
		"version":    append([]byte{2}, good[1:]...),
		"truncated":  good[:len(good)-1],
		"extended":   append(bytes.Clone(good), 0),
		"too many":   {1, 0xff, 0xff, 0, 0},
		"zero right": {1, 0, 1, 0, 0, 0, 0, 0, 1, 0},
		"high bit":   {1, 0, 1, 0, 0, 0, 0, 0, 1, 0x80},
		"unsorted":   {1, 0, 2, 0, 0, 0, 0, 0, 2, 1, 0, 0, 0, 1, 1},
		"duplicate":  {1, 0, 2, 0, 0, 0, 0, 0, 2, 1, 0, 0, 0, 2, 1},
	}
	for name, b := range bad {
		if _, err := Decode(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: Decode err = %v", name, err)
		}
	}
	if _, err := Encode(ACL{Positive: []Entry{{1, Read}, {1, Write}}}); err == nil {
		t.Error("Encode accepted duplicate ids")
	}
}

func FuzzDecode(f *testing.F) {
	a := DefaultRoot()
	a.Set(5, Write, true)
	for _, acl := range []ACL{{}, DefaultRoot(), a} {
		b, _ := Encode(acl)
		f.Add(b)
	}
	f.Add([]byte{1, 0xff, 0xff, 0, 0})
	f.Add([]byte{1, 0, 1, 0, 0, 0, 0, 0, 1, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := Decode(b)
		if err != nil {
			return
		}
		b2, err := Encode(a)
		if err != nil || !bytes.Equal(b, b2) {
			t.Fatalf("decoded ACL does not re-encode canonically: %v", err)
		}
	})
}
