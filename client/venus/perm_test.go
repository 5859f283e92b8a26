package venus

import (
	"testing"

	"github.com/coda-fs/coda/server/proto"
)

func TestModeOK(t *testing.T) {
	file := &proto.Attr{Type: proto.TypeFile, Mode: 0o640, UID: 10, GID: proto.GroupGID(-20)}
	owner := identity{uid: 10, cps: []int32{10, proto.AnyUserID}}
	member := identity{uid: 11, cps: []int32{11, -20, proto.AnyUserID}}
	stranger := identity{uid: 12, cps: []int32{12, -21, proto.AnyUserID}}
	admin := identity{uid: proto.AdminUserID, cps: []int32{proto.AdminUserID, proto.AdministratorsID, proto.AnyUserID}, admin: true}
	cases := []struct {
		name string
		id   identity
		a    *proto.Attr
		want uint32
		ok   bool
	}{
		{"owner rw", owner, file, permR | permW, true},
		{"owner x", owner, file, permX, false},
		{"member r", member, file, permR, true},
		{"member w", member, file, permW, false},
		{"stranger r", stranger, file, permR, false},
		{"anonymous r", anonymous, file, permR, false},
		{"admin rw", admin, file, permR | permW, true},
		{"admin x needs an x bit", admin, file, permX, false},
		{"admin x on dir", admin, &proto.Attr{Type: proto.TypeDir}, permX, true},
		{"other bits", stranger, &proto.Attr{Type: proto.TypeFile, Mode: 0o604, UID: 10}, permR, true},
		{"anonymous other bits", anonymous, &proto.Attr{Type: proto.TypeFile, Mode: 0o604, UID: 0}, permR, true},
	}
	for _, c := range cases {
		if got := modeOK(c.id, c.a, c.want); got != c.ok {
			t.Errorf("%s: modeOK = %v, want %v", c.name, got, c.ok)
		}
	}
}
