package proto

// VolumeLock locks (or with Unlock, unlocks) the replicas of a volume
// against updates, for up to Timeout seconds (0: the server's default).
// Sent by volutil with the volume's Name; the server receiving it acts on
// every replica, sending the same request with Local and the replica's
// group ID to each replica's server.
type VolumeLock struct {
	Name    string
	ID      uint32
	Timeout uint32
	Unlock  bool
	Local   bool
}

func (m *VolumeLock) Encode(e *Encoder) {
	e.String(m.Name)
	e.U32(m.ID)
	e.U32(m.Timeout)
	e.Bool(m.Unlock)
	e.Bool(m.Local)
}

func (m *VolumeLock) Decode(d *Decoder) {
	m.Name, m.ID, m.Timeout, m.Unlock, m.Local = d.String(MaxVolName), d.U32(), d.U32(), d.Bool(), d.Bool()
}

// CloneVolume has a server clone its replica of volume Source (group id)
// as Name: volume id ID, replica id ReplicaID, Type VolRO or VolBackup,
// Replicas as the location database records the clone, Frozen its time. An existing
// volume Name on the server, a clone of the same source, is replaced.
type CloneVolume struct {
	Source    uint32
	Name      string
	ID        uint32
	ReplicaID uint32
	Type      VolumeType
	Replicas  []Replica
	Frozen    int64 // the clone's time (Unix ns), the same on every replica
}

func (m *CloneVolume) Encode(e *Encoder) {
	e.U32(m.Source)
	e.String(m.Name)
	e.U32(m.ID)
	e.U32(m.ReplicaID)
	e.U8(uint8(m.Type))
	e.Replicas(m.Replicas)
	e.I64(m.Frozen)
}

func (m *CloneVolume) Decode(d *Decoder) {
	m.Source, m.Name, m.ID, m.ReplicaID, m.Type = d.U32(), d.String(MaxVolName), d.U32(), d.U32(), VolumeType(d.U8())
	m.Replicas = d.Replicas()
	m.Frozen = d.I64()
}

// Backup asks the SCM to make or refresh clone Clone (default
// Volume+".backup") of every replica of Volume, with the volume locked
// across the replicas meanwhile; Type is VolBackup (volutil backup) or
// VolRO (volutil clone). KeepLocked leaves the volume locked afterwards.
type Backup struct {
	Volume     string
	Clone      string
	Type       VolumeType
	KeepLocked bool
}

func (m *Backup) Encode(e *Encoder) {
	e.String(m.Volume)
	e.String(m.Clone)
	e.U8(uint8(m.Type))
	e.Bool(m.KeepLocked)
}

func (m *Backup) Decode(d *Decoder) {
	m.Volume, m.Clone, m.Type, m.KeepLocked = d.String(MaxVolName), d.String(MaxVolName), VolumeType(d.U8()), d.Bool()
}

// DumpRequest asks for the next piece of a dump of clone Volume at Level:
// Session 0 starts one, whose id the reply carries; later requests name it.
type DumpRequest struct {
	Volume  string
	Level   uint8
	Session uint64
}

func (m *DumpRequest) Encode(e *Encoder) { e.String(m.Volume); e.U8(m.Level); e.U64(m.Session) }
func (m *DumpRequest) Decode(d *Decoder) {
	m.Volume, m.Level, m.Session = d.String(MaxVolName), d.U8(), d.U64()
}

// DumpChunk answers DumpRequest: a piece of the dump follows as data;
// Done marks the last, which says the level written (0 when no base was
// found for the level asked) and the base's level (-1: none).
type DumpChunk struct {
	Session   uint64
	Done      bool
	Level     uint8
	BaseLevel int8
}

func (m *DumpChunk) Encode(e *Encoder) {
	e.U64(m.Session)
	e.Bool(m.Done)
	e.U8(m.Level)
	e.U8(uint8(m.BaseLevel))
}

func (m *DumpChunk) Decode(d *Decoder) {
	m.Session, m.Done, m.Level, m.BaseLevel = d.U64(), d.Bool(), d.U8(), int8(d.U8())
}

// Ancient marks the last dump of a clone of Volume good (volutil
// ancient). Sent to one server with the name, which names the dump (Level,
// Frozen) and sends it with Local and the group ID to every replica.
type Ancient struct {
	Volume string
	ID     uint32
	Level  uint8
	Frozen int64
	Local  bool
}

func (m *Ancient) Encode(e *Encoder) {
	e.String(m.Volume)
	e.U32(m.ID)
	e.U8(m.Level)
	e.I64(m.Frozen)
	e.Bool(m.Local)
}

func (m *Ancient) Decode(d *Decoder) {
	m.Volume, m.ID, m.Level, m.Frozen, m.Local = d.String(MaxVolName), d.U32(), d.U8(), d.I64(), d.Bool()
}

// RestoreChunk sends the next piece of a dump chain (volutil restore) to
// be restored into this server's empty replica of volume Volume (group
// id): Session 0 starts, later pieces name the session the reply gave;
// Final ends the chain (it may carry data too).
type RestoreChunk struct {
	Volume  uint32
	Session uint64
	Final   bool
}

func (m *RestoreChunk) Encode(e *Encoder) { e.U32(m.Volume); e.U64(m.Session); e.Bool(m.Final) }
func (m *RestoreChunk) Decode(d *Decoder) {
	m.Volume, m.Session, m.Final = d.U32(), d.U64(), d.Bool()
}

// RestoreReply answers RestoreChunk; after the final piece, Dumps and
// Files say what the replica holds.
type RestoreReply struct {
	Session uint64
	Dumps   uint32
	Files   uint64
}

func (m *RestoreReply) Encode(e *Encoder) { e.U64(m.Session); e.U32(m.Dumps); e.U64(m.Files) }
func (m *RestoreReply) Decode(d *Decoder) {
	m.Session, m.Dumps, m.Files = d.U64(), d.U32(), d.U64()
}

// SetVolumeStatus sets a replica's quota and messages (cfs setquota,
// setvol): those Set names (SetQuota, SetMOTD, SetOffline).
type SetVolumeStatus struct {
	Volume  uint32
	Set     uint8
	Quota   int64 // KB; 0: no limit
	MOTD    string
	Offline string
}

// What SetVolumeStatus sets.
const (
	SetQuota   = 1 << 0
	SetMOTD    = 1 << 1
	SetOffline = 1 << 2
)

func (m *SetVolumeStatus) Encode(e *Encoder) {
	e.U32(m.Volume)
	e.U8(m.Set)
	e.I64(m.Quota)
	e.String(m.MOTD)
	e.String(m.Offline)
}

func (m *SetVolumeStatus) Decode(d *Decoder) {
	m.Volume, m.Set, m.Quota = d.U32(), d.U8(), d.I64()
	m.MOTD, m.Offline = d.String(MaxVolMessage), d.String(MaxVolMessage)
}
