package venus

import (
	"testing"

	"github.com/coda-fs/coda/server/proto"
)

func TestPermitted(t *testing.T) {
	file := &proto.Attr{Type: proto.TypeFile, Mode: 0o640, UID: 10, GID: 20}
	cases := []struct {
		c    Caller
		a    *proto.Attr
		want uint32
		ok   bool
	}{
		{Caller{UID: 10}, file, permR | permW, true},
		{Caller{UID: 10}, file, permX, false},
		{Caller{UID: 11, GID: 20}, file, permR, true},
		{Caller{UID: 11, GID: 20}, file, permW, false},
		{Caller{UID: 11, GID: 21}, file, permR, false},
		{Caller{UID: 0}, file, permR | permW, true},
		{Caller{UID: 0}, file, permX, false}, // root needs some x bit to execute
		{Caller{UID: 0}, &proto.Attr{Type: proto.TypeDir, Mode: 0}, permX, true},
		{Caller{UID: 5}, &proto.Attr{Type: proto.TypeFile, Mode: 0o604, UID: 10, GID: 20}, permR, true},
	}
	for i, c := range cases {
		if got := permitted(c.c, c.a, c.want); got != c.ok {
			t.Errorf("case %d: permitted = %v, want %v", i, got, c.ok)
		}
	}
}
