package fileserver_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/coda-fs/coda/server/proto"
	"github.com/coda-fs/coda/server/servertest"
)

func setup(t *testing.T) (*servertest.Server, proto.FID) {
	s := servertest.Start(t, servertest.Options{})
	info := s.CreateVolume("vol")
	return s, info.Root
}

func TestStoreFetchRoundTrip(t *testing.T) {
	s, root := setup(t)
	a := s.Client()
	r, err := a.Create(proto.OpCreate, root, "f", 0644)
	if err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte("coda"), 300000)
	if _, err := a.Store(r.Attr.FID, data); err != nil {
		t.Fatal(err)
	}
	b := s.Client()
	attr, got, err := b.Fetch(r.Attr.FID)
	if err != nil || !bytes.Equal(got, data) || attr.Size != int64(len(data)) {
		t.Fatalf("fetch: %v size %d", err, attr.Size)
	}
	for _, small := range [][]byte{[]byte("inline"), append(bytes.Repeat([]byte{7}, 5000), make([]byte, 9000)...)} {
		if _, err := a.Store(r.Attr.FID, small); err != nil {
			t.Fatal(err)
		}
		if attr, got, err = b.Fetch(r.Attr.FID); err != nil || !bytes.Equal(got, small) {
			t.Fatalf("fetch small file: %v, %d bytes of %d (size %d)", err, len(got), len(small), attr.Size)
		}
	}
	if _, err := a.Store(r.Attr.FID, nil); err != nil {
		t.Fatal(err)
	}
	if attr, got, err = b.Fetch(r.Attr.FID); err != nil || len(got) != 0 || attr.Size != 0 {
		t.Fatalf("fetch after empty store: %v %d", err, len(got))
	}
}

// TestBreakDeliveredBeforeAck: when a store returns to A, B (which holds a
// promise on the file) has already received and acknowledged the break.
func TestBreakDeliveredBeforeAck(t *testing.T) {
	s, root := setup(t)
	a, b := s.Client(), s.Client()
	r, err := a.Create(proto.OpCreate, root, "f", 0644)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 50; i++ {
		if _, _, err := b.Fetch(r.Attr.FID); err != nil {
			t.Fatal(err)
		}
		before := len(b.Breaks())
		if _, err := a.Store(r.Attr.FID, []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
		if len(b.Breaks()) <= before {
			t.Fatalf("round %d: store acknowledged before B's break", i)
		}
	}
	for _, f := range a.Breaks() {
		if f == r.Attr.FID {
			t.Fatalf("A got a break for its own store")
		}
	}
	// A directory change breaks B's promise on the directory.
	if _, err := b.GetAttr(root); err != nil {
		t.Fatal(err)
	}
	before := len(b.Breaks())
	if _, err := a.Create(proto.OpCreate, root, "g", 0644); err != nil {
		t.Fatal(err)
	}
	if got := b.Breaks()[before:]; len(got) == 0 || got[0] != root {
		t.Fatalf("breaks after create: %v, want the root directory", got)
	}
}

// TestSlowHolderLosesConnection: a holder that does not acknowledge a break
// within a second loses its connection, and the writer is not held up.
func TestSlowHolderLosesConnection(t *testing.T) {
	s, root := setup(t)
	a, b := s.Client(), s.Client()
	r, err := a.Create(proto.OpCreate, root, "f", 0644)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.Fetch(r.Attr.FID); err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	defer close(release)
	b.OnBreak = func([]proto.FID) { <-release }
	start := time.Now()
	if _, err := a.Store(r.Attr.FID, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("store took %v with a stuck holder", d)
	}
	select {
	case <-b.Conn.Done():
	case <-time.After(5 * time.Second):
		t.Fatalf("stuck holder's connection still open")
	}
}

func TestErrorsCrossTheWire(t *testing.T) {
	s, root := setup(t)
	a := s.Client()
	if _, err := a.Create(proto.OpMkdir, root, "d", 0755); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		err  error
		want error
	}{
		{func() error { _, err := a.Create(proto.OpCreate, root, "d", 0644); return err }(), proto.ErrExists},
		{func() error { _, err := a.Lookup(root, "nope"); return err }(), proto.ErrNotFound},
		{a.Remove(root, "d"), proto.ErrIsDir},
		{a.Rename(root, "d", proto.FID{Volume: 42, Vnode: 1, Unique: 1}, "x"), proto.ErrCrossDevice},
	}
	for i, c := range cases {
		if !errors.Is(c.err, c.want) {
			t.Errorf("case %d: got %v, want %v", i, c.err, c.want)
		}
	}
}

func TestRestartKeepsData(t *testing.T) {
	s, root := setup(t)
	a := s.Client()
	r, err := a.Create(proto.OpCreate, root, "f", 0644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Store(r.Attr.FID, []byte("persist")); err != nil {
		t.Fatal(err)
	}
	a.Close()
	s.Restart()
	b := s.Client()
	_, got, err := b.Fetch(r.Attr.FID)
	if err != nil || string(got) != "persist" {
		t.Fatalf("after restart: %q %v", got, err)
	}
}
