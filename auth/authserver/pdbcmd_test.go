package authserver

import (
	"errors"
	"strings"
	"testing"

	"github.com/coda-fs/coda/server/dbsync"
	"github.com/coda-fs/coda/server/proto"
)

func TestPDBCommands(t *testing.T) {
	e := newEnv(t)
	steps := []struct {
		args []string
		want string
	}{
		{[]string{"nu", "alice"}, "created user alice (id 2)\n"},
		{[]string{"nui", "bob", "10"}, "created user bob (id 10)\n"},
		{[]string{"ng", "alice:friends", "alice"}, "created group alice:friends (id -205) owned by alice\n"},
		{[]string{"ng", "System:staff", "1"}, "created group System:staff (id -206) owned by admin\n"},
		{[]string{"ag", "alice:friends", "bob"}, "added bob to alice:friends\n"},
		{[]string{"ag", "-206", "-205"}, "added alice:friends to System:staff\n"},
		{[]string{"ag", "alice:friends", "2"}, "added alice to alice:friends\n"},
		{[]string{"rg", "alice:friends", "alice"}, "removed alice from alice:friends\n"},
	}
	for _, s := range steps {
		if got := e.pdb(s.args...); got != s.want {
			t.Fatalf("pdbtool %s printed %q, want %q", strings.Join(s.args, " "), got, s.want)
		}
	}

	info := e.pdb("i", "bob")
	for _, want := range []string{
		"user bob (id 10)\n",
		"groups:  alice:friends (-205)\n",
		"cps:     bob (10), System:staff (-206), alice:friends (-205), System:AnyUser (-101)\n",
		"owns:    -\n",
	} {
		if !strings.Contains(info, want) {
			t.Fatalf("i bob lacks %q:\n%s", want, info)
		}
	}
	info = e.pdb("i", "-205")
	for _, want := range []string{
		"group alice:friends (id -205)\n",
		"owner:    alice (2)\n",
		"members:  bob (10)\n",
		"groups:   System:staff (-206)\n",
		"cps:      System:staff (-206), System:AnyUser (-101)\n",
	} {
		if !strings.Contains(info, want) {
			t.Fatalf("i -205 lacks %q:\n%s", want, info)
		}
	}
	if info := e.pdb("i", "alice"); !strings.Contains(info, "owns:    alice:friends (-205)\n") {
		t.Fatalf("i alice does not show the owned group:\n%s", info)
	}

	list := e.pdb("list")
	wantList := []string{
		"user   1     admin",
		"user   2     alice",
		"user   10    bob",
		"group  -101  System:AnyUser         owner admin",
		"group  -204  System:Administrators  owner admin  members admin",
		"group  -205  alice:friends          owner alice  members bob",
		"group  -206  System:staff           owner admin  members alice:friends",
	}
	if got := strings.Split(strings.TrimSuffix(list, "\n"), "\n"); strings.Join(got, "\n") != strings.Join(wantList, "\n") {
		t.Fatalf("list printed:\n%s\nwant:\n%s", list, strings.Join(wantList, "\n"))
	}

	if got := e.pdb("d", "System:staff"); got != "deleted group System:staff (id -206)\n" {
		t.Fatalf("d printed %q", got)
	}
	if got := e.pdb("d", "10"); got != "deleted user bob (id 10)\n" {
		t.Fatalf("d printed %q", got)
	}
	if _, ok := e.svc.Lookup("bob"); ok {
		t.Fatal("bob survives d")
	}
}

func TestPDBCommandErrors(t *testing.T) {
	e := newEnv(t)
	e.pdb("nu", "alice")
	e.pdb("ng", "alice:g", "alice")
	cases := []struct {
		args []string
		code proto.Code
		want string
	}{
		{nil, proto.CodeInvalid, "no pdbtool command"},
		{[]string{"frob"}, proto.CodeInvalid, `unknown pdbtool command "frob"`},
		{[]string{"nu"}, proto.CodeInvalid, "usage: pdbtool nu NAME"},
		{[]string{"list", "x"}, proto.CodeInvalid, "usage: pdbtool list"},
		{[]string{"nu", "alice"}, proto.CodeExists, "alice"},
		{[]string{"nu", "12"}, proto.CodeInvalid, "user name"},
		{[]string{"nui", "x", "-3"}, proto.CodeInvalid, "positive"},
		{[]string{"nui", "x", "1"}, proto.CodeExists, "id 1"},
		{[]string{"ng", "bob:g", "alice"}, proto.CodeInvalid, "alice:NAME"},
		{[]string{"ng", "alice:h", "nobody"}, proto.CodeNotFound, `no user or group named "nobody"`},
		{[]string{"ag", "alice:g", "77"}, proto.CodeNotFound, "no user or group with id 77"},
		{[]string{"ag", "alice:g", "alice:g"}, proto.CodeInvalid, "cycle"},
		{[]string{"rg", "alice:g", "admin"}, proto.CodeNotFound, "not a member"},
		{[]string{"d", "admin"}, proto.CodePerm, "built-in"},
		{[]string{"d", "System:AnyUser"}, proto.CodePerm, "built-in"},
		{[]string{"d", "alice"}, proto.CodeInvalid, "owns group alice:g"},
		{[]string{"i", "ghost"}, proto.CodeNotFound, "ghost"},
		{[]string{"import", "junk"}, proto.CodeInvalid, "malformed"},
		{[]string{"import", "coda-pdb 1\nuser 1 admin\n"}, proto.CodeInvalid, "System:AnyUser with id -101"},
	}
	before := e.svc.pdb.Version()
	for _, c := range cases {
		_, err := e.svc.PDB(c.args)
		if err == nil {
			t.Fatalf("pdbtool %q succeeded", c.args)
		}
		wantCode(t, err, c.code, c.want)
	}
	if v := e.svc.pdb.Version(); v != before {
		t.Fatalf("failed commands moved the version from %d to %d", before, v)
	}
}

func TestImportExportRoundTrip(t *testing.T) {
	e := newEnv(t)
	e.pdb("nu", "alice")
	e.pdb("nu", "bob")
	e.pdb("ng", "alice:friends", "alice")
	e.pdb("ag", "alice:friends", "bob")
	if err := e.svc.SetPassword("bob", []byte("bob-pw")); err != nil {
		t.Fatal(err)
	}
	saved := e.pdb("export")
	if !strings.HasPrefix(saved, "coda-pdb 1\n") {
		t.Fatalf("export text %q", saved)
	}
	e.pdb("nu", "carol")
	e.pdb("d", "alice:friends")
	if got := e.pdb("import", saved); got != "imported 3 users and 3 groups\n" {
		t.Fatalf("import printed %q", got)
	}
	if again := e.pdb("export"); again != saved {
		t.Fatalf("export after import:\n%s\nwant:\n%s", again, saved)
	}
	if _, ok := e.svc.Lookup("carol"); ok {
		t.Fatal("import kept a user the text does not have")
	}
	if _, err := e.login("bob", "bob-pw"); err != nil {
		t.Fatalf("bob's password did not survive an import that keeps bob: %v", err)
	}
	// An import that gives bob's id to another name drops bob's password.
	renamed := strings.Replace(saved, "user 3 bob\n", "user 3 robert\n", 1)
	e.pdb("import", renamed)
	if _, err := e.login("robert", "bob-pw"); !errors.Is(err, proto.ErrAuth) {
		t.Fatalf("robert logs in with bob's password: %v", err)
	}
	if _, ok := e.svc.pw.Value()[3]; ok {
		t.Fatal("password of id 3 survives its renaming")
	}
}

func TestNonSCMRefusesMutations(t *testing.T) {
	scm := newEnv(t)
	scm.pdb("nu", "alice")
	if err := scm.svc.SetPassword("alice", []byte("alice-pw")); err != nil {
		t.Fatal(err)
	}
	// A read-only server that copied every database from the SCM.
	db := openStore(t, t.TempDir())
	ro := scm.start(db, false)
	for _, src := range scm.svc.Databases() {
		var dst dbsync.DB
		for _, d := range ro.Databases() {
			if d.Name() == src.Name() {
				dst = d
			}
		}
		snap := src.Snapshot()
		if err := dst.Install(snap.Version, snap.Data); err != nil {
			t.Fatal(err)
		}
	}
	info, err := ro.Login(t.Context(), "alice", []byte("alice-pw"), "127.0.0.1:1")
	if err != nil {
		t.Fatalf("login on the read-only server: %v", err)
	}
	if _, err := scm.svc.OpenToken(info.Token); err != nil {
		t.Fatalf("the SCM refuses a token the read-only server issued: %v", err)
	}
	const want = "on the SCM (" + testSCMAddr + "); this server is read-only"
	wantCode(t, ro.ChangePassword(t.Context(), "alice", []byte("alice-pw"), []byte("x"), "127.0.0.1:1"),
		proto.CodeNotSupported, "passwords change "+want)
	wantCode(t, ro.SetPassword("alice", []byte("x")), proto.CodeNotSupported, want)
	for _, args := range [][]string{{"nu", "bob"}, {"d", "alice"}, {"import", scm.pdb("export")}} {
		_, err := ro.PDB(args)
		wantCode(t, err, proto.CodeNotSupported, "the protection database changes "+want)
	}
	if list := mustPDB(t, ro, "list"); !strings.Contains(list, "alice") {
		t.Fatalf("list on the read-only server:\n%s", list)
	}
}

func mustPDB(t *testing.T, s *Service, args ...string) string {
	t.Helper()
	out, err := s.PDB(args)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
