package fileserver_test

import (
	"fmt"
	"testing"

	"github.com/coda-fs/coda/server/proto"
	"github.com/coda-fs/coda/server/servertest"
)

// BenchmarkCreateStore measures one client creating and storing small files
// one after the other, as `tar -x` does: the latency floor of an update.
func BenchmarkCreateStore(b *testing.B) {
	s := servertest.Start(b, servertest.Options{})
	root := s.CreateVolume("bench").Root
	c := s.Client()
	data := make([]byte, 4096)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r, err := c.Create(proto.OpCreate, root, fmt.Sprintf("f%d", i), 0644)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.Store(r.Attr.FID, data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMkdir measures one metadata update per iteration.
func BenchmarkMkdir(b *testing.B) {
	s := servertest.Start(b, servertest.Options{})
	root := s.CreateVolume("bench").Root
	c := s.Client()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c.Create(proto.OpMkdir, root, fmt.Sprintf("d%d", i), 0755); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGetAttr measures a round trip with no disk write.
func BenchmarkGetAttr(b *testing.B) {
	s := servertest.Start(b, servertest.Options{})
	root := s.CreateVolume("bench").Root
	c := s.Client()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c.GetAttr(root); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRemove measures removing small files one after the other, as
// `rm -rf` does.
func BenchmarkRemove(b *testing.B) {
	s := servertest.Start(b, servertest.Options{})
	root := s.CreateVolume("bench").Root
	c := s.Client()
	data := make([]byte, 4096)
	for i := 0; i < b.N; i++ {
		r, err := c.Create(proto.OpCreate, root, fmt.Sprintf("f%d", i), 0644)
		if err == nil {
			_, err = c.Store(r.Attr.FID, data)
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := c.Remove(root, fmt.Sprintf("f%d", i)); err != nil {
			b.Fatal(err)
		}
	}
}
