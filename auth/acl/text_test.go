package acl

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

type mapResolver map[string]int32

func (m mapResolver) Lookup(name string) (int32, bool) { id, ok := m[name]; return id, ok }

func (m mapResolver) Name(id int32) (string, bool) {
	for n, v := range m {
		if v == id {
			return n, true
		}
	}
	return "", false
}

var names = mapResolver{
	"System:AnyUser": AnyUser, "System:Administrators": Administrators,
	"admin": AdminUser, "www-data": 33, "jan:friends": -400,
}

func TestText(t *testing.T) {
	a := DefaultRoot()
	a.Set(33, Read|Lookup|Insert|Delete|Write, false)
	a.Set(-400, Write, true)
	a.Set(77, Read, true) // unknown id: printed numerically
	want := "  System:Administrators  rlidwka\n  System:AnyUser  rl\n  www-data  rlidw\n" +
		NegativeHeader + "\n  jan:friends  w\n  77  r\n"
	got := Text(a, names)
	if got != want {
		t.Fatalf("Text:\n%s\nwant:\n%s", got, want)
	}
	back, err := ParseText(got, names)
	if err != nil || !reflect.DeepEqual(back, a) {
		t.Fatalf("ParseText(Text) = %+v, %v", back, err)
	}
	if Text(ACL{}, names) != "" {
		t.Fatal("empty ACL text not empty")
	}
}

func TestParseText(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want ACL
		err  string
	}{
		{"words", "admin all\nwww-data write\n\n System:AnyUser read\n",
			ACL{Positive: []Entry{{AnyUser, Read | Lookup}, {AdminUser, All}, {33, All &^ Administer}}}, ""},
		{"sections", "Normal rights:\nadmin rl\nNegative rights:\nwww-data w\nPositive rights:\n-5 i\n",
			ACL{Positive: []Entry{{-5, Insert}, {AdminUser, Read | Lookup}}, Negative: []Entry{{33, Write}}}, ""},
		{"none dropped", "admin none\n", ACL{}, ""},
		{"same id both sides", "admin rl\nNegative rights:\nadmin l\n",
			ACL{Positive: []Entry{{AdminUser, Read | Lookup}}, Negative: []Entry{{AdminUser, Lookup}}}, ""},
		{"unknown name", "nobody rl\n", ACL{}, "line 1: unknown user or group"},
		{"zero id", "0 rl\n", ACL{}, "unknown user"},
		{"bad rights", "admin rx\n", ACL{}, "line 1"},
		{"three fields", "admin rl extra\n", ACL{}, "line 1: want NAME RIGHTS"},
		{"one field", "admin\n", ACL{}, "line 1"},
		{"duplicate", "admin rl\nadmin r\n", ACL{}, "listed twice"},
		{"huge", strings.Repeat("x", maxText+1), ACL{}, "longer than"},
	}
	for _, tc := range cases {
		got, err := ParseText(tc.in, names)
		if tc.err != "" {
			if err == nil || !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: err = %v, want %q", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %+v, %v; want %+v", tc.name, got, err, tc.want)
		}
	}
}

func FuzzParseText(f *testing.F) {
	f.Add("  System:Administrators  rlidwka\n  System:AnyUser  rl\n")
	f.Add("admin all\nNegative rights:\nwww-data w\n")
	f.Add("-5 none\n33 read\n")
	f.Add("admin rl extra\n")
	f.Add("\n\n\r\n")
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseText(s, names)
		if err != nil {
			return
		}
		if err := a.Validate(); err != nil {
			t.Fatalf("parsed ACL invalid: %v", err)
		}
		back, err := ParseText(Text(a, names), names)
		if err != nil || !reflect.DeepEqual(back, a) {
			t.Fatalf("text round trip: %+v, %v", back, err)
		}
	})
}
