package location

import (
	"bufio"
	"bytes"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/coda-fs/coda/server/proto"
	"github.com/coda-fs/coda/server/realmdb"
	"github.com/coda-fs/coda/server/store"
)

// VolumesName is the name of the volume location database.
const VolumesName = "volumes"

const volumesHeader = "coda-volumes 1"

// FirstGroupID is the first replicated volume (group) id handed out; like
// Coda's, group ids start at 0x7f000001.
const FirstGroupID = 0x7f000001

// Volume is one replicated volume: its name, its group id (the volume id of
// its FIDs) and its replicas, in slot order (a replica's slot is its index
// in version vectors).
type Volume struct {
	Name     string
	ID       uint32
	Replicas []Replica
	// Restoring: volutil restore is filling it; clients do not see it,
	// and the SCM purges it if the restore does not finish.
	Restoring bool
}

// Replica is one replica of a volume: the server holding it and its
// replica id (unique in the realm).
type Replica struct {
	Server    uint32
	ReplicaID uint32
}

// Volumes is the volume location database: every volume of the realm by
// name, and the next group id to hand out. A published value is never
// modified: With and Without return changed copies.
type Volumes struct {
	Next   uint32
	ByName map[string]Volume
}

// With returns a copy of vs holding v, with Next past v's id.
func (vs Volumes) With(v Volume) Volumes {
	c := Volumes{Next: max(vs.Next, v.ID+1, FirstGroupID), ByName: maps.Clone(vs.ByName)}
	if c.ByName == nil {
		c.ByName = map[string]Volume{}
	}
	c.ByName[v.Name] = v
	return c
}

// Without returns a copy of vs without volume name.
func (vs Volumes) Without(name string) Volumes {
	c := Volumes{Next: vs.Next, ByName: maps.Clone(vs.ByName)}
	delete(c.ByName, name)
	return c
}

// NextID returns the group id the next volume gets.
func (vs Volumes) NextID() uint32 { return max(vs.Next, FirstGroupID) }

// ByID returns the volume with group id id.
func (vs Volumes) ByID(id uint32) (Volume, bool) {
	for _, v := range vs.ByName {
		if v.ID == id {
			return v, true
		}
	}
	return Volume{}, false
}

// ReplicaIDs returns every replica id in use.
func (vs Volumes) ReplicaIDs() map[uint32]bool {
	ids := map[uint32]bool{}
	for _, v := range vs.ByName {
		for _, r := range v.Replicas {
			ids[r.ReplicaID] = true
		}
	}
	return ids
}

// NewReplicaID returns an unused replica id for server: its id in the top
// byte, as in Coda (0x01000001 is the first replica on server 1).
func (vs Volumes) NewReplicaID(server uint32, taken map[uint32]bool) uint32 {
	for n := uint32(1); ; n++ {
		id := server<<24 | n
		if !taken[id] {
			taken[id] = true
			return id
		}
	}
}

// VolumesCodec encodes the database as text: a header, "next GROUPID",
// then one line per volume, by name: "NAME GROUPID SERVER:REPLICAID…"
// (ids in hex), ending with "restoring" for a volume being restored.
var VolumesCodec = realmdb.Codec[Volumes]{Encode: encodeVolumes, Decode: decodeVolumes}

func encodeVolumes(vs Volumes) ([]byte, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s\nnext %08x\n", volumesHeader, vs.NextID())
	for _, name := range slices.Sorted(maps.Keys(vs.ByName)) {
		v := vs.ByName[name]
		if err := checkVolume(v); err != nil {
			return nil, err
		}
		fmt.Fprintf(&b, "%s %08x", v.Name, v.ID)
		for _, r := range v.Replicas {
			fmt.Fprintf(&b, " %d:%08x", r.Server, r.ReplicaID)
		}
		if v.Restoring {
			b.WriteString(" restoring")
		}
		b.WriteByte('\n')
	}
	return b.Bytes(), nil
}

func decodeVolumes(data []byte) (Volumes, error) {
	vs := Volumes{Next: FirstGroupID, ByName: map[string]Volume{}}
	if len(data) == 0 {
		return vs, nil
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		f := strings.Fields(line)
		switch {
		case n == 1:
			if line != volumesHeader {
				return Volumes{}, fmt.Errorf("volumes: line 1: want %q", volumesHeader)
			}
			continue
		case n == 2:
			if len(f) != 2 || f[0] != "next" {
				return Volumes{}, fmt.Errorf("volumes: line 2: want next GROUPID")
			}
			id, err := strconv.ParseUint(f[1], 16, 32)
			if err != nil {
				return Volumes{}, fmt.Errorf("volumes: line 2: bad group id %q", f[1])
			}
			vs.Next = uint32(id)
			continue
		}
		if len(f) < 3 {
			return Volumes{}, fmt.Errorf("volumes: line %d: want NAME GROUPID SERVER:REPLICAID…", n)
		}
		id, err := strconv.ParseUint(f[1], 16, 32)
		if err != nil {
			return Volumes{}, fmt.Errorf("volumes: line %d: bad group id %q", n, f[1])
		}
		v := Volume{Name: f[0], ID: uint32(id)}
		if f[len(f)-1] == "restoring" {
			v.Restoring, f = true, f[:len(f)-1]
		}
		for _, rf := range f[2:] {
			srv, rid, ok := strings.Cut(rf, ":")
			s, err1 := strconv.ParseUint(srv, 10, 8)
			r, err2 := strconv.ParseUint(rid, 16, 32)
			if !ok || err1 != nil || err2 != nil {
				return Volumes{}, fmt.Errorf("volumes: line %d: bad replica %q", n, rf)
			}
			v.Replicas = append(v.Replicas, Replica{Server: uint32(s), ReplicaID: uint32(r)})
		}
		if err := checkVolume(v); err != nil {
			return Volumes{}, fmt.Errorf("volumes: line %d: %w", n, err)
		}
		if _, dup := vs.ByName[v.Name]; dup {
			return Volumes{}, fmt.Errorf("volumes: line %d: volume %s twice", n, v.Name)
		}
		vs.ByName[v.Name] = v
	}
	return vs, sc.Err()
}

func checkVolume(v Volume) error {
	if v.Name == "" || len(v.Name) > proto.MaxVolName || strings.ContainsAny(v.Name, "/ \t\r\n") {
		return fmt.Errorf("bad volume name %q", v.Name)
	}
	if v.ID == 0 {
		return fmt.Errorf("volume %s: group id 0", v.Name)
	}
	if len(v.Replicas) == 0 || len(v.Replicas) > proto.MaxReplicas {
		return fmt.Errorf("volume %s: %d replicas, want 1-%d", v.Name, len(v.Replicas), proto.MaxReplicas)
	}
	seen := map[uint32]bool{}
	for _, r := range v.Replicas {
		if r.Server < 1 || r.Server > 255 || r.ReplicaID == 0 {
			return fmt.Errorf("volume %s: bad replica %d:%x", v.Name, r.Server, r.ReplicaID)
		}
		if seen[r.Server] {
			return fmt.Errorf("volume %s: two replicas on server %d", v.Name, r.Server)
		}
		seen[r.Server] = true
	}
	return nil
}

// OpenVolumes opens the volume location database in st.
func OpenVolumes(st *store.DB, wmu *sync.Mutex) (*realmdb.Database[Volumes], error) {
	return realmdb.Open(st, wmu, VolumesName, VolumesCodec)
}
