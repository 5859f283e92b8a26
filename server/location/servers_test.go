package location

import (
	"reflect"
	"strings"
	"testing"
)

func TestServersRoundTrip(t *testing.T) {
	s := Servers{}.With(2, "10.0.0.2:2432").With(1, "10.0.0.1:2432")
	b, err := encodeServers(s)
	if err != nil {
		t.Fatal(err)
	}
	if want := "coda-servers 1\n1 10.0.0.1:2432\n2 10.0.0.2:2432\n"; string(b) != want {
		t.Fatalf("encoded %q, want %q", b, want)
	}
	got, err := decodeServers(b)
	if err != nil || !reflect.DeepEqual(got, s) {
		t.Fatalf("decoded %v, %v", got, err)
	}
	if id, ok := got.ByAddr("10.0.0.2:2432"); !ok || id != 2 {
		t.Fatalf("ByAddr: %d %v", id, ok)
	}
	if empty, err := decodeServers(nil); err != nil || len(empty) != 0 {
		t.Fatalf("empty: %v %v", empty, err)
	}
}

func TestServersRejectsBadInput(t *testing.T) {
	for _, in := range []string{
		"coda-servers 2\n",
		"coda-servers 1\n0 h:1\n",
		"coda-servers 1\n256 h:1\n",
		"coda-servers 1\n1\n",
		"coda-servers 1\n1 h:1\n1 h:2\n",
		"coda-servers 1\nx h:1\n",
	} {
		if _, err := decodeServers([]byte(in)); err == nil || !strings.Contains(err.Error(), "servers:") {
			t.Errorf("%q: %v, want an error", in, err)
		}
	}
	if _, err := encodeServers(Servers{300: "h:1"}); err == nil {
		t.Error("encoded server id 300")
	}
}

func TestVolumesRoundTrip(t *testing.T) {
	vs := Volumes{}
	taken := vs.ReplicaIDs()
	v := Volume{Name: "coda.root", ID: vs.NextID(), Replicas: []Replica{
		{1, vs.NewReplicaID(1, taken)}, {2, vs.NewReplicaID(2, taken)}}}
	vs = vs.With(v)
	if v.ID != FirstGroupID || v.Replicas[0].ReplicaID != 0x01000001 || v.Replicas[1].ReplicaID != 0x02000001 {
		t.Fatalf("ids: %+v", v)
	}
	if vs.NextID() != FirstGroupID+1 {
		t.Fatalf("next id %x", vs.NextID())
	}
	b, err := encodeVolumes(vs)
	if err != nil {
		t.Fatal(err)
	}
	if want := "coda-volumes 1\nnext 7f000002\ncoda.root 7f000001 1:01000001 2:02000001\n"; string(b) != want {
		t.Fatalf("encoded %q", b)
	}
	got, err := decodeVolumes(b)
	if err != nil || !reflect.DeepEqual(got, vs) {
		t.Fatalf("decoded %+v, %v; want %+v", got, err, vs)
	}
	r := Volume{Name: "web", ID: vs.NextID(), Replicas: []Replica{{1, vs.NewReplicaID(1, taken)}}, Restoring: true}
	b, err = encodeVolumes(vs.With(r))
	if err != nil || !strings.HasSuffix(string(b), "\nweb 7f000002 1:01000002 restoring\n") {
		t.Fatalf("encoded %q, %v", b, err)
	}
	if got, err := decodeVolumes(b); err != nil || !reflect.DeepEqual(got.ByName["web"], r) {
		t.Fatalf("decoded %+v, %v", got.ByName["web"], err)
	}
	if w := vs.Without("coda.root"); len(w.ByName) != 0 || len(vs.ByName) != 1 || w.NextID() != FirstGroupID+1 {
		t.Fatalf("Without: %+v (original %+v)", w, vs)
	}
	for _, in := range []string{
		"coda-volumes 2\n",
		"coda-volumes 1\nnext zz\n",
		"coda-volumes 1\nnext 7f000002\nv 7f000001\n",
		"coda-volumes 1\nnext 7f000002\nv 7f000001 1:1 1:2\n",
		"coda-volumes 1\nnext 7f000002\nv 7f000001 1:1\nv 7f000003 2:1\n",
		"coda-volumes 1\nnext 7f000002\nv 0 1:1\n",
		"coda-volumes 1\nnext 7f000002\nv 7f000001 restoring\n",
	} {
		if _, err := decodeVolumes([]byte(in)); err == nil {
			t.Errorf("%q decoded", in)
		}
	}
}
