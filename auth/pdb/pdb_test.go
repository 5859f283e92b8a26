package pdb

import (
	"errors"
	"reflect"
	"sync"
	"testing"

	"github.com/coda-fs/coda/auth/acl"
)

// mustID returns a helper that fails t on error.
func mustID(t *testing.T) func(int32, error) int32 {
	return func(v int32, err error) int32 {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func TestNewRealm(t *testing.T) {
	d := NewRealm()
	for name, want := range map[string]int32{"admin": acl.AdminUser, "System:AnyUser": acl.AnyUser, "System:Administrators": acl.Administrators} {
		if id, ok := d.Lookup(name); !ok || id != want {
			t.Errorf("Lookup(%s) = %d, %v", name, id, ok)
		}
	}
	if !d.Member(acl.Administrators, acl.AdminUser) {
		t.Error("admin not in System:Administrators")
	}
	if got := d.IDs(acl.AdminUser); !reflect.DeepEqual(got, []int32{1, acl.Administrators, acl.AnyUser}) {
		t.Errorf("IDs(admin) = %v", got)
	}
	if acl.Effective(acl.DefaultRoot(), d.IDs(acl.AdminUser)) != acl.All {
		t.Error("admin lacks rights on a default root")
	}
	for _, id := range []int32{acl.AdminUser, acl.AnyUser, acl.Administrators} {
		if err := d.Delete(id); !errors.Is(err, ErrBuiltin) {
			t.Errorf("Delete(%d) = %v", id, err)
		}
	}
}

func TestUsersAndGroups(t *testing.T) {
	d := NewRealm()
	must := mustID(t)
	jan := must(d.AddUser("jan", 0))
	www := must(d.AddUser("www-data", 33))
	next := must(d.AddUser("bob", 0))
	if jan != 2 || www != 33 || next != 34 {
		t.Fatalf("ids jan=%d www=%d bob=%d", jan, www, next)
	}
	friends := must(d.AddGroup("jan:friends", jan))
	web := must(d.AddGroup("System:web", acl.AdminUser))
	if friends != -205 || web != -206 {
		t.Fatalf("group ids %d %d", friends, web)
	}
	errCases := []struct {
		name string
		err  error
		want error
	}{
		{"dup user", second(d.AddUser("jan", 0)), ErrExists},
		{"dup id", second(d.AddUser("ann", 33)), ErrExists},
		{"negative user id", second(d.AddUser("ann", -3)), ErrBadName},
		{"numeric name", second(d.AddUser("123", 0)), ErrBadName},
		{"colon in user", second(d.AddUser("a:b", 0)), ErrBadName},
		{"space in user", second(d.AddUser("a b", 0)), ErrBadName},
		{"leading dash", second(d.AddUser("-x", 0)), ErrBadName},
		{"empty", second(d.AddUser("", 0)), ErrBadName},
		{"group without colon", second(d.AddGroup("friends", jan)), ErrBadName},
		{"group of someone else", second(d.AddGroup("bob:friends", jan)), ErrBadName},
		{"group owned by group", second(d.AddGroup("x:y", friends)), ErrNotFound},
		{"group owner missing", second(d.AddGroup("x:y", 999)), ErrNotFound},
		{"dup group", second(d.AddGroup("jan:friends", jan)), ErrExists},
		{"member of user", d.AddMember(jan, www), ErrNotFound},
		{"missing member", d.AddMember(friends, 999), ErrNotFound},
		{"self member", d.AddMember(friends, friends), ErrCycle},
		{"remove non-member", d.RemoveMember(friends, www), ErrNotFound},
		{"delete missing", d.Delete(999), ErrNotFound},
		{"delete owner", d.Delete(jan), ErrInUse},
	}
	for _, tc := range errCases {
		if !errors.Is(tc.err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, tc.err, tc.want)
		}
	}
	if e, ok := d.Get(friends); !ok || e.Owner != jan || !e.IsGroup() {
		t.Fatalf("Get(friends) = %+v", e)
	}
}

func second[T any](_ T, err error) error { return err }

func TestNesting(t *testing.T) {
	d := NewRealm()
	must := mustID(t)
	u := must(d.AddUser("u", 0))
	a := must(d.AddGroup("u:a", u))
	b := must(d.AddGroup("u:b", u))
	c := must(d.AddGroup("u:c", u))
	for _, p := range [][2]int32{{a, u}, {b, a}, {c, b}, {acl.Administrators, c}} {
		if err := d.AddMember(p[0], p[1]); err != nil {
			t.Fatal(err)
		}
	}
	want := []int32{c, b, a, acl.Administrators, acl.AnyUser} // sorted ascending
	if got := d.Groups(u); !reflect.DeepEqual(got, want) {
		t.Fatalf("Groups(u) = %v, want %v", got, want)
	}
	if !d.Member(acl.Administrators, u) || d.Member(a, c) || !d.Member(acl.AnyUser, u) {
		t.Fatal("Member wrong")
	}
	if err := d.AddMember(a, c); !errors.Is(err, ErrCycle) {
		t.Fatalf("cycle a<-c: %v", err)
	}
	if err := d.AddMember(a, u); !errors.Is(err, ErrExists) {
		t.Fatalf("dup member: %v", err)
	}
	// A cycle that slipped in (e.g. older data) must not hang Groups.
	d.byID[a].Members = append(d.byID[a].Members, c)
	if got := d.Groups(u); len(got) != 5 {
		t.Fatalf("Groups with cycle = %v", got)
	}
	d.byID[a].Members = d.byID[a].Members[:1]
	if err := d.RemoveMember(b, a); err != nil {
		t.Fatal(err)
	}
	if got := d.Groups(u); !reflect.DeepEqual(got, []int32{a, acl.AnyUser}) {
		t.Fatalf("after rg: %v", got)
	}
	v := d.Version()
	if err := d.Delete(a); err != nil {
		t.Fatal(err)
	}
	if _, ok := d.Lookup("u:a"); ok || d.Version() == v {
		t.Fatal("Delete left the name or did not bump the version")
	}
	if d.Groups(999) != nil || !reflect.DeepEqual(d.IDs(999), []int32{acl.AnyUser}) {
		t.Fatal("unknown id must be anonymous")
	}
}

func TestConcurrent(t *testing.T) {
	d := NewRealm()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := string(rune('a'+i)) + "user"
			id, err := d.AddUser(name, 0)
			if err != nil {
				t.Error(err)
				return
			}
			d.AddMember(acl.Administrators, id)
			d.Groups(id)
			d.List()
		}()
	}
	wg.Wait()
	if n := len(d.Groups(acl.Administrators)); n != 1 {
		t.Fatalf("unexpected nesting %d", n)
	}
	if e, _ := d.Get(acl.Administrators); len(e.Members) != 9 {
		t.Fatalf("members %v", e.Members)
	}
}
