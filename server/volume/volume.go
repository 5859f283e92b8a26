package volume

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/coda-fs/coda/auth/acl"
	"github.com/coda-fs/coda/server/proto"
	"github.com/coda-fs/coda/server/store"
)

// RootVnode is the vnode number of every volume's root directory.
const RootVnode = 1

// Set is every volume replica held by one server.
type Set struct {
	db  *store.DB
	log *slog.Logger
	now func() int64

	mu   sync.Mutex
	vols map[uint32]*Volume
}

// Volume is one volume replica. Mutations of its metadata are serialised by
// mu, which is held only while a batch is built and applied in memory; the
// durable sync of the batch happens after mu is released, so parallel
// updates share fsyncs (group commit) yet each is acknowledged only after
// its own batch is durable.
type Volume struct {
	set *Set
	hdr header

	mu         sync.Mutex
	deleted    bool   // Set.Delete removed it; updates fail
	logCount   int    // resolution log records (dirlog.go)
	lastLog    uint64 // the last log sequence number
	maxLog     int    // the log bound; 0: DefaultLogSize
	nextVnode  uint32
	nextUnique uint32
	files      uint64
	bytes      int64
	// clones are this read-write volume's clones; source is a clone's
	// read-write volume (both guarded by the source's mu).
	clones []*Volume
	source *Volume

	lockMu sync.Mutex
	lock   volLock // volutil lock (lock.go)
}

// Open loads every volume replica in db.
func Open(db *store.DB, log *slog.Logger) (*Set, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Set{db: db, log: log, vols: map[uint32]*Volume{},
		now: func() int64 { return time.Now().UnixNano() }}
	it, err := db.NewIter([]byte{pfxHeader}, []byte{pfxHeader + 1})
	if err != nil {
		return nil, err
	}
	for it.First(); it.Valid(); it.Next() {
		h, err := decodeHeader(it.Value())
		if err != nil {
			it.Close()
			return nil, err
		}
		v := &Volume{set: s, hdr: *h}
		if err := v.load(); err != nil {
			it.Close()
			return nil, fmt.Errorf("volume %s: %w", h.Name, err)
		}
		s.vols[h.ID] = v
	}
	if err := it.Close(); err != nil {
		return nil, err
	}
	for id, v := range s.vols {
		switch {
		case v.hdr.Building:
			log.Warn("removing a clone whose making was cut short", "name", v.hdr.Name)
			if err := s.removeKeys(id, v.hdr.Name); err != nil {
				return nil, fmt.Errorf("volume %s: remove an unfinished clone: %w", v.hdr.Name, err)
			}
			delete(s.vols, id)
		case v.hdr.Source != 0:
			src := s.vols[v.hdr.Source]
			if src == nil {
				return nil, fmt.Errorf("volume %s: the volume it is a clone of (%x) is missing", v.hdr.Name, v.hdr.Source)
			}
			v.source = src
			src.clones = append(src.clones, v)
		}
	}
	return s, nil
}

// load reads what a volume keeps in memory.
func (v *Volume) load() error {
	if err := v.loadCounters(); err != nil {
		return err
	}
	if err := v.loadAllocMark(); err != nil {
		return err
	}
	if err := v.loadLog(); err != nil {
		return fmt.Errorf("resolution log: %w", err)
	}
	return nil
}

// loadCounters scans the vnodes to find the next free vnode and uniquifier
// and the volume's usage.
func (v *Volume) loadCounters() error {
	lo, hi := vnodeSpan(v.hdr.ID)
	it, err := v.set.db.NewIter(lo, hi)
	if err != nil {
		return err
	}
	defer it.Close()
	v.nextVnode, v.nextUnique = RootVnode+1, 2
	for it.First(); it.Valid(); it.Next() {
		k := it.Key()
		vn := keyVnode(k)
		n, err := decodeVnode(it.Value())
		if err != nil {
			return err
		}
		if vn >= v.nextVnode {
			v.nextVnode = vn + 1
		}
		if n.Unique >= v.nextUnique {
			v.nextUnique = n.Unique + 1
		}
		v.files++
		v.bytes += n.Blocks
	}
	return nil
}

// ErrVolumeExists is returned when a volume name or id is taken.
var ErrVolumeExists = errors.New("volume exists")

// Create makes a new, empty volume replica whose root directory has mode
// 0755, owner admin (proto.AdminUserID), group System:Administrators and
// the ACL acl.DefaultRoot (System:Administrators rlidwka, System:AnyUser
// rl).
func (s *Set) Create(name string, id, replicaID uint32, slot uint8, replicas []proto.Replica) (*Volume, error) {
	if name == "" || len(name) > proto.MaxVolName {
		return nil, proto.Errorf(proto.CodeInvalid, fmt.Sprintf("bad volume name %q", name))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range s.vols {
		if v.hdr.Name == name {
			return nil, proto.Errorf(proto.CodeExists, fmt.Sprintf("volume %s exists", name))
		}
	}
	if id == 0 {
		id = s.freeID()
	}
	if _, ok := s.vols[id]; ok {
		return nil, proto.Errorf(proto.CodeExists, fmt.Sprintf("volume id %x exists", id))
	}
	if replicaID == 0 {
		replicaID = id
	}
	replicas = append([]proto.Replica(nil), replicas...)
	if int(slot) < len(replicas) && replicas[slot].ReplicaID == 0 {
		replicas[slot].ReplicaID = replicaID
	}
	now := s.now()
	h := header{ID: id, Name: name, Type: proto.VolRW, ReplicaID: replicaID, Slot: slot,
		Root: proto.FID{Volume: id, Vnode: RootVnode, Unique: 1}, Replicas: replicas, Created: now}
	rootACL, err := acl.Encode(acl.DefaultRoot())
	if err != nil {
		return nil, err
	}
	root := &vnode{Type: proto.TypeDir, Mode: 0755, UID: uint32(proto.AdminUserID),
		GID: proto.GroupGID(proto.AdministratorsID), Nlink: 2, Unique: 1, Mtime: now, Ctime: now,
		Parent: RootVnode, ACL: rootACL}
	// Every replica's root starts out equal: created once by every
	// replica, not concurrently changed by each.
	for i := range max(len(replicas), int(slot)+1) {
		root.VV.Counters[i] = 1
	}
	b := s.db.NewBatch()
	b.Set(headerKey(id), h.encode())
	b.Set(nameKey(name), headerKey(id)[1:])
	b.Set(vnodeKey(id, RootVnode), root.encode())
	if err := s.db.Commit(b); err != nil {
		return nil, fmt.Errorf("create volume %s: %w", name, err)
	}
	v := &Volume{set: s, hdr: h, nextVnode: RootVnode + 1, nextUnique: 2, files: 1}
	s.vols[id] = v
	s.log.Info("volume created", "name", name, "id", fmt.Sprintf("%x", id))
	return v, nil
}

// Delete removes replica id and everything in it: its vnodes, directory
// entries, inline data and the containers it owns (data a clone shares is
// handed to the clone). A read-write volume with clones is refused: its
// clones go first. Updates that race with it fail with proto.ErrNoVolume.
func (s *Set) Delete(id uint32) error {
	v, err := s.ByID(id)
	if err != nil {
		return err
	}
	src := v
	if v.source != nil {
		src = v.source // the family's lock: handOver changes its clones
		src.mu.Lock()
		defer src.mu.Unlock()
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.deleted {
		return proto.Errorf(proto.CodeNoVolume, fmt.Sprintf("no volume %x on this server", id))
	}
	if len(v.clones) > 0 {
		var names []string
		for _, c := range v.clones {
			names = append(names, c.hdr.Name)
		}
		return proto.Errorf(proto.CodeBusy, fmt.Sprintf("volume %s has clones (%s); purge them first", v.hdr.Name, strings.Join(names, ", ")))
	}
	b := s.db.NewBatch()
	var conts []store.ContainerID
	lo, hi := vnodeSpan(id)
	it, err := s.db.NewIter(lo, hi)
	if err != nil {
		b.Close()
		return err
	}
	for it.First(); it.Valid(); it.Next() {
		n, err := decodeVnode(it.Value())
		if err != nil {
			it.Close()
			b.Close()
			return fmt.Errorf("volume %s: %w", v.hdr.Name, err)
		}
		if n.Owner != 0 || (n.Container == 0 && !n.inline()) {
			continue // the data is another volume's, or there is none
		}
		taken := false
		if src != v {
			if taken, err = v.handOver(b, s.db, keyVnode(it.Key()), n); err != nil {
				it.Close()
				b.Close()
				return fmt.Errorf("volume %s: %w", v.hdr.Name, err)
			}
		}
		if n.Container != 0 && !taken {
			conts = append(conts, store.ContainerID(n.Container))
		}
	}
	if err := it.Close(); err != nil {
		b.Close()
		return err
	}
	deleteKeys(b, id, v.hdr.Name)
	if err := s.db.Commit(b); err != nil {
		return fmt.Errorf("delete volume %s: %w", v.hdr.Name, err)
	}
	v.deleted = true
	if src != v {
		src.clones = slices.DeleteFunc(src.clones, func(c *Volume) bool { return c == v })
	}
	s.mu.Lock()
	delete(s.vols, id)
	s.mu.Unlock()
	for _, c := range conts {
		if err := s.db.RemoveContainer(c); err != nil {
			s.log.Warn("remove container", "id", c, "err", err)
		}
	}
	s.log.Info("volume deleted", "name", v.hdr.Name, "id", fmt.Sprintf("%x", id))
	return nil
}

// freeID picks an unused volume id; ids start at 0x1000001 as Coda's do.
func (s *Set) freeID() uint32 {
	id := uint32(0x1000001)
	for {
		if _, ok := s.vols[id]; !ok {
			return id
		}
		id++
	}
}

// ByID returns the replica with id, or proto.ErrNoVolume.
func (s *Set) ByID(id uint32) (*Volume, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v, ok := s.vols[id]; ok {
		return v, nil
	}
	return nil, proto.Errorf(proto.CodeNoVolume, fmt.Sprintf("no volume %x on this server", id))
}

// ByName returns the replica named name, or proto.ErrNoVolume.
func (s *Set) ByName(name string) (*Volume, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range s.vols {
		if v.hdr.Name == name {
			return v, nil
		}
	}
	return nil, proto.Errorf(proto.CodeNoVolume, fmt.Sprintf("no volume %q on this server", name))
}

// List returns every replica's info, sorted by name.
func (s *Set) List() []proto.VolumeInfo {
	s.mu.Lock()
	vols := make([]*Volume, 0, len(s.vols))
	for _, v := range s.vols {
		vols = append(vols, v)
	}
	s.mu.Unlock()
	out := make([]proto.VolumeInfo, 0, len(vols))
	for _, v := range vols {
		out = append(out, v.Info())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Info describes the replica.
func (v *Volume) Info() proto.VolumeInfo {
	v.mu.Lock()
	defer v.mu.Unlock()
	return proto.VolumeInfo{ID: v.hdr.ID, Name: v.hdr.Name, Type: v.hdr.Type, Root: v.hdr.Root,
		Replicas: append([]proto.Replica(nil), v.hdr.Replicas...), Files: v.files, Bytes: v.bytes,
		Quota: v.hdr.Quota, MOTD: v.hdr.MOTD, Offline: v.hdr.Offline}
}

// ID returns the volume id used in FIDs.
func (v *Volume) ID() uint32 { return v.hdr.ID }

// Name returns the volume's name.
func (v *Volume) Name() string { return v.hdr.Name }

// Containers calls fn for every container referenced by any vnode of any
// volume; the server uses it to remove orphans at start-up.
func (s *Set) Containers(fn func(id store.ContainerID)) error {
	it, err := s.db.NewIter([]byte{pfxVnode}, []byte{pfxVnode + 1})
	if err != nil {
		return err
	}
	defer it.Close()
	for it.First(); it.Valid(); it.Next() {
		n, err := decodeVnode(it.Value())
		if err != nil {
			return err
		}
		if n.Container != 0 {
			fn(store.ContainerID(n.Container))
		}
	}
	return nil
}
