package e2e

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coda-fs/coda/server/bintest"
	"github.com/coda-fs/coda/server/proto"
	"github.com/coda-fs/coda/server/servertest"
)

// tool runs an admin command of the binary against the SCM s.
func tool(t *testing.T, s *servertest.Server, args ...string) bintest.Result {
	t.Helper()
	full := append([]string{args[0], "-h", s.Addr, "--key", s.KeyFile, "--ca", s.CAFile}, args[1:]...)
	return bintest.Run(t, "", full...)
}

func volInfo(t *testing.T, s *servertest.Server, name string) (*proto.VolumeInfo, error) {
	t.Helper()
	c := s.Admin()
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return c.VolumeInfo(ctx, name)
}

// TestReplicatedVolumes: createvol_rep makes one replica per named server
// (same group id, distinct replica ids, one slot each); every server can
// say where a volume lives; bad requests and a dead server leave no
// partial volume; purgevol_rep removes every replica.
func TestReplicatedVolumes(t *testing.T) {
	scm := servertest.Start(t, servertest.Options{})
	s2 := servertest.StartFollower(t, scm, servertest.Options{ID: 2})
	s3 := servertest.StartFollower(t, scm, servertest.Options{ID: 3})
	all := []*servertest.Server{scm, s2, s3}

	r := tool(t, scm, "createvol_rep", "www", scm.Addr, s2.Addr, "3")
	if r.Code != 0 {
		t.Fatalf("createvol_rep: %s", r.Stderr)
	}
	want := fmt.Sprintf(`^7f000001\nreplica 1 %s 1000001\nreplica 2 %s 2000001\nreplica 3 %s 3000001\n$`,
		regexp.QuoteMeta(scm.Addr), regexp.QuoteMeta(s2.Addr), regexp.QuoteMeta(s3.Addr))
	if !regexp.MustCompile(want).MatchString(r.Stdout) {
		t.Fatalf("createvol_rep printed %q", r.Stdout)
	}
	for i, s := range all {
		info, err := volInfo(t, s, "www")
		if err != nil {
			t.Fatalf("server %d: %v", i+1, err)
		}
		if info.ID != 0x7f000001 || len(info.Replicas) != 3 || info.Replicas[i].ServerID != uint32(i+1) {
			t.Errorf("server %d describes www as %+v", i+1, info)
		}
	}

	// Fresh replicas are identical, vnode for vnode (volutil info -all);
	// a change on one replica alone shows.
	lines := func(s *servertest.Server) string {
		t.Helper()
		r := bintest.Run(t, "", "volutil", "-h", s.Addr, "--key", s.KeyFile, "--ca", s.CAFile, "info", "-all", "www")
		if r.Code != 0 {
			t.Fatalf("volutil info -all: %s", r.Stderr)
		}
		var vn []string
		for _, l := range strings.Split(r.Stdout, "\n") {
			if strings.HasPrefix(l, "vnode ") {
				vn = append(vn, l)
			}
		}
		return strings.Join(vn, "\n")
	}
	first := lines(scm)
	if !strings.HasPrefix(first, "vnode 7f000001.1.1 dir 755 ") || strings.Count(first, "vnode") != 1 {
		t.Fatalf("info -all of a fresh volume: %q", first)
	}
	for i, s := range []*servertest.Server{s2, s3} {
		if got := lines(s); got != first {
			t.Errorf("server %d's replica differs:\n%s\nvs\n%s", i+2, got, first)
		}
	}
	c2 := s2.Client()
	if _, err := c2.Create(proto.OpCreate, proto.FID{Volume: 0x7f000001, Vnode: 1, Unique: 1}, "only-here", 0o644); err != nil {
		t.Fatal(err)
	}
	if lines(s2) == lines(scm) {
		t.Error("a file created on server 2's replica alone does not show in info -all")
	}

	// A server without a replica says where one lives (its copy of the
	// location database follows the SCM's within seconds).
	if r := tool(t, scm, "createvol_rep", "solo", "1"); r.Code != 0 {
		t.Fatalf("createvol_rep solo: %s", r.Stderr)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		info, err := volInfo(t, s3, "solo")
		if err == nil {
			if len(info.Replicas) != 1 || info.Replicas[0].Addr != scm.Addr {
				t.Fatalf("server 3 locates solo at %+v", info.Replicas)
			}
			break
		}
		if !errors.Is(err, proto.ErrNoVolume) || time.Now().After(deadline) {
			t.Fatalf("server 3 cannot locate solo: %v", err)
		}
		time.Sleep(50 * time.Millisecond) // poll: the copy arrives by itself
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"createvol_rep", "bad", "1", "9"}, "unknown server 9"},
		{[]string{"createvol_rep", "www", "1"}, "volume www exists"},
		{[]string{"createvol_rep", "twice", "2", s2.Addr}, "named twice"},
	} {
		r := tool(t, scm, tc.args...)
		if r.Code != 1 || !strings.Contains(r.Stderr, tc.want) || strings.Count(r.Stderr, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q, want one line with %q", tc.args, r.Code, r.Stderr, tc.want)
		}
	}
	r = tool(t, scm, "createvol_rep", "nine", "1", "2", "3", "4", "5", "6", "7", "8", "9")
	if r.Code != 2 || !strings.Contains(r.Stderr, "at most 8 replicas") || strings.Count(r.Stderr, "\n") != 1 {
		t.Errorf("createvol_rep on 9 servers: exit %d, %q", r.Code, r.Stderr)
	}
	if info, err := volInfo(t, scm, "nine"); !errors.Is(err, proto.ErrNoVolume) {
		t.Errorf("nine exists after a refused createvol_rep: %+v, %v", info, err)
	}
	r = tool(t, s2, "createvol_rep", "elsewhere", "2")
	if r.Code != 1 || !strings.Contains(r.Stderr, "on the SCM ("+scm.Addr+")") {
		t.Errorf("createvol_rep at a non-SCM server: exit %d, %q", r.Code, r.Stderr)
	}

	// A dead server: nothing of the volume remains anywhere.
	s3.Stop()
	r = tool(t, scm, "createvol_rep", "half", "1", "2", "3")
	if r.Code != 1 || !strings.Contains(r.Stderr, "server 3") {
		t.Fatalf("createvol_rep with server 3 down: exit %d, %q", r.Code, r.Stderr)
	}
	for i, s := range []*servertest.Server{scm, s2} {
		if info, err := volInfo(t, s, "half"); !errors.Is(err, proto.ErrNoVolume) {
			t.Errorf("server %d: half is %+v, %v after a failed createvol_rep", i+1, info, err)
		}
	}
	s3.Restart()

	if r := tool(t, scm, "purgevol_rep", "www"); r.Code != 0 {
		t.Fatalf("purgevol_rep: %s", r.Stderr)
	}
	// Every replica is gone at once; the copies of the location database
	// forget the volume within seconds.
	deadline = time.Now().Add(5 * time.Second)
	for i, s := range all {
		for {
			_, err := volInfo(t, s, "www")
			if errors.Is(err, proto.ErrNoVolume) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("server %d still knows www: %v", i+1, err)
			}
			time.Sleep(50 * time.Millisecond) // poll the copy
		}
	}
	if r := tool(t, scm, "purgevol_rep", "www"); r.Code != 1 || !strings.Contains(r.Stderr, "no volume www") {
		t.Errorf("purging it again: exit %d, %q", r.Code, r.Stderr)
	}
}

// TestCreateRepAfterDiskLoss: a server that lost its disk is initialised
// again with its old id and address, and volutil create_rep recreates its
// replica, empty, with the old ids; bad ids are refused in one line.
func TestCreateRepAfterDiskLoss(t *testing.T) {
	scm := servertest.Start(t, servertest.Options{})
	s2 := servertest.StartFollower(t, scm, servertest.Options{ID: 2})
	if r := tool(t, scm, "createvol_rep", "www", "1", "2"); r.Code != 0 {
		t.Fatalf("createvol_rep: %s", r.Stderr)
	}
	addr := s2.Addr
	s2.Stop()
	s2 = servertest.StartFollower(t, scm, servertest.Options{ID: 2, Addr: addr}) // a new, empty disk
	volutil := func(args ...string) bintest.Result {
		return bintest.Run(t, "", append([]string{"volutil", "-h", s2.Addr, "--key", s2.KeyFile, "--ca", s2.CAFile}, args...)...)
	}
	// Its copy of the location database arrives within seconds.
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := volInfo(t, s2, "www"); err == nil {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("the new server never learns where www lives: %v", err)
		}
		time.Sleep(50 * time.Millisecond) // poll the copy
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"create_rep", "www", "7f000009", "2000001"}, "no volume"},
		{[]string{"create_rep", "other", "7f000001", "2000001"}, "is www, not other"},
		{[]string{"create_rep", "www", "7f000001", "1000001"}, "belongs to server 1"},
		{[]string{"create_rep", "www", "7f000001", "2000009"}, "has no replica 2000009"},
		{[]string{"create_rep", "www", "zz", "2000001"}, "hex ids"},
	} {
		r := volutil(tc.args...)
		if r.Code == 0 || !strings.Contains(r.Stderr, tc.want) || strings.Count(r.Stderr, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q, want one line with %q", tc.args, r.Code, r.Stderr, tc.want)
		}
	}
	r := volutil("create_rep", "www", "7f000001", "2000001")
	if r.Code != 0 || !strings.Contains(r.Stdout, "recreated replica 2000001 of www") {
		t.Fatalf("create_rep: exit %d, %q, %q", r.Code, r.Stdout, r.Stderr)
	}
	info, err := volInfo(t, s2, "www")
	if err != nil || info.Files != 1 || len(info.Replicas) != 2 {
		t.Fatalf("the recreated replica: %+v, %v", info, err)
	}
	if r := volutil("create_rep", "www", "7f000001", "2000001"); r.Code == 0 || !strings.Contains(r.Stderr, "already holds") {
		t.Errorf("create_rep again: exit %d, %q", r.Code, r.Stderr)
	}
}
