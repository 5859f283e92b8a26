package fileserver_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"

	"github.com/coda-fs/coda/server/proto"
	"github.com/coda-fs/coda/server/servertest"
)

// TestBadTokensRejected: the server refuses, at bind time, a forged token,
// a genuine one with any byte changed, a truncated one, and a genuine one
// sealed by another realm's key (same realm name, another cell); the
// connection keeps acting anonymously, and a good token still binds.
func TestBadTokensRejected(t *testing.T) {
	s, root := setup(t)
	s.AddUser("alice", "alice-password")
	other := servertest.Start(t, servertest.Options{Realm: s.Realm})
	other.AddUser("alice", "alice-password")

	c := s.AnonClient()
	good, err := c.Login("alice", "alice-password")
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := other.AnonClient().Login("alice", "alice-password")
	if err != nil {
		t.Fatal(err)
	}
	forged := make([]byte, len(good.Token))
	rand.Read(forged)
	bad := map[string][]byte{
		"forged":    forged,
		"truncated": good.Token[:len(good.Token)-1],
		"foreign":   foreign.Token,
	}
	for i := range good.Token {
		tampered := bytes.Clone(good.Token)
		tampered[i] ^= 0x01
		bad["tampered"] = tampered
		if _, err := c.Bind(tampered); !errors.Is(err, proto.ErrAccess) {
			t.Fatalf("token with byte %d flipped: bind gave %v, want %v", i, err, proto.ErrAccess)
		}
	}
	for name, tok := range bad {
		if _, err := c.Bind(tok); !errors.Is(err, proto.ErrAccess) {
			t.Errorf("%s token: bind gave %v, want %v", name, err, proto.ErrAccess)
		}
		if c.UserID != 0 {
			t.Fatalf("%s token: the client acts as user %d", name, c.UserID)
		}
		// The slot stays anonymous: AnyUser has no insert right on a
		// volume root.
		if _, err := c.Create(proto.OpCreate, root, "x", 0o644); !errors.Is(err, proto.ErrAccess) {
			t.Errorf("%s token: create gave %v, want %v", name, err, proto.ErrAccess)
		}
	}
	if id, err := c.Bind(good.Token); err != nil || id.User != "alice" {
		t.Fatalf("good token: %+v, %v", id, err)
	}
}
