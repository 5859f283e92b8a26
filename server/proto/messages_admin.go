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
// Replicas as the location database records the clone. An existing
// volume Name on the server, a clone of the same source, is replaced.
type CloneVolume struct {
	Source    uint32
	Name      string
	ID        uint32
	ReplicaID uint32
	Type      VolumeType
	Replicas  []Replica
}

func (m *CloneVolume) Encode(e *Encoder) {
	e.U32(m.Source)
	e.String(m.Name)
	e.U32(m.ID)
	e.U32(m.ReplicaID)
	e.U8(uint8(m.Type))
	e.Replicas(m.Replicas)
}

func (m *CloneVolume) Decode(d *Decoder) {
	m.Source, m.Name, m.ID, m.ReplicaID, m.Type = d.U32(), d.String(MaxVolName), d.U32(), d.U32(), VolumeType(d.U8())
	m.Replicas = d.Replicas()
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
