package authserver

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/coda-fs/coda/auth/acl"
	"github.com/coda-fs/coda/auth/token"
	"github.com/coda-fs/coda/server/proto"
)

func TestOpenTokenRefusals(t *testing.T) {
	e := newEnv(t)
	info, err := e.login("admin", adminPW)
	if err != nil {
		t.Fatal(err)
	}
	open := func(b []byte) error { _, err := e.svc.OpenToken(b); return err }

	forged := bytes.Clone(info.Token)
	forged[len(forged)-1] ^= 1
	wantCode(t, open(forged), proto.CodeAccess, "token forged or damaged")
	wantCode(t, open(nil), proto.CodeAccess, "token forged or damaged")

	now := e.clock.Now()
	otherKey, err := token.Seal(bytes.Repeat([]byte("x"), 32), token.New(testRealm, 1, "admin", now, time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, open(otherKey), proto.CodeAccess, "token forged or damaged")

	otherRealm, err := token.Seal(bytes.Repeat([]byte("x"), 32), token.New("other.realm", 1, "admin", now, time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, open(otherRealm), proto.CodeAccess, "token not issued by realm "+testRealm)

	// A token for an id the pdb gives another name.
	impostor, err := token.Seal(testSecret, token.New(testRealm, 1, "root", now, time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, open(impostor), proto.CodeAccess, "no such user")

	if err := open(info.Token); err != nil {
		t.Fatalf("valid token refused: %v", err)
	}
	e.clock.Advance(25 * time.Hour)
	wantCode(t, open(info.Token), proto.CodeAccess, "expired at "+e.clock.Now().Format("2006-01-02 15:04:05"))
}

func TestShortTokenLifetime(t *testing.T) {
	e := newEnv(t)
	s, err := New(Config{DB: e.db, Realm: testRealm, Secret: testSecret, SCM: true, Lifetime: time.Minute, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	s.params = testParams
	info, err := s.Login(t.Context(), "admin", []byte(adminPW), "127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	if got := time.Unix(0, info.Expires).Sub(e.clock.Now()); got != time.Minute {
		t.Fatalf("lifetime %v, want 1m", got)
	}
	e.clock.Advance(time.Minute)
	if _, err := s.OpenToken(info.Token); err == nil {
		t.Fatal("token valid after its lifetime")
	}
}

func TestCPSNestedGroups(t *testing.T) {
	e := newEnv(t)
	e.pdb("nu", "alice")
	e.pdb("nu", "bob")
	e.pdb("ng", "alice:friends", "alice")
	e.pdb("ng", "alice:all", "2") // owner by id
	e.pdb("ag", "alice:all", "alice:friends")
	e.pdb("ag", "alice:friends", "bob")
	bob, _ := e.svc.Lookup("bob")
	friends, _ := e.svc.Lookup("alice:friends")
	all, _ := e.svc.Lookup("alice:all")

	ids, admin := e.svc.CPS(bob)
	want := []int32{bob, all, friends, acl.AnyUser}
	if !slices.Equal(ids, want) || admin {
		t.Fatalf("CPS(bob) = %v, %v; want %v, false", ids, admin, want)
	}
	if cap(ids) != len(ids) {
		t.Fatalf("CPS result has spare capacity: appends would share it")
	}
	if again, _ := e.svc.CPS(bob); &again[0] != &ids[0] {
		t.Fatal("second CPS(bob) was not served from the cache")
	}
	// Nested into System:Administrators: the cache follows the new version.
	e.pdb("ag", "System:Administrators", "alice:all")
	ids, admin = e.svc.CPS(bob)
	if !admin || !slices.Contains(ids, acl.Administrators) {
		t.Fatalf("CPS(bob) after nesting into Administrators = %v, %v", ids, admin)
	}
	if ids, admin := e.svc.CPS(proto.AdminUserID); !admin || !slices.Equal(ids, []int32{1, acl.Administrators, acl.AnyUser}) {
		t.Fatalf("CPS(admin) = %v, %v", ids, admin)
	}
	for _, uid := range []int32{0, 999} {
		if ids, admin := e.svc.CPS(uid); admin || !slices.Equal(ids, []int32{acl.AnyUser}) {
			t.Fatalf("CPS(%d) = %v, %v; want [AnyUser], false", uid, ids, admin)
		}
	}
	e.pdb("rg", "alice:friends", "bob")
	if ids, _ := e.svc.CPS(bob); !slices.Equal(ids, []int32{bob, acl.AnyUser}) {
		t.Fatalf("CPS(bob) after rg = %v", ids)
	}
}

func TestResolverNames(t *testing.T) {
	e := newEnv(t)
	a := acl.DefaultRoot()
	text := acl.Text(a, e.svc)
	back, err := acl.ParseText(text, e.svc)
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := back.Get(acl.Administrators); p != acl.All {
		t.Fatalf("round trip through the service's names lost Administrators: %q", text)
	}
}
