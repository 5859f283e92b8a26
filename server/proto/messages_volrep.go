package proto

// Messages of replicated volume administration. createvol_rep and
// purgevol_rep talk to the SCM, which holds the volume location database;
// the SCM creates and deletes the replicas on each server (OpCreateVolume,
// OpDeleteVolume, admin key).

// CreateVolumeRep asks the SCM for a volume with one replica on each of
// Servers (server ids in decimal, or HOST:PORT), in slot order. Restoring
// makes it a volume being restored (volutil restore): hidden from clients,
// and purged unless OpRestoreDone comes on the same connection before the
// connection ends.
type CreateVolumeRep struct {
	Name      string
	Servers   []string
	Restoring bool
}

func (m *CreateVolumeRep) Encode(e *Encoder) {
	e.String(m.Name)
	e.U32(uint32(len(m.Servers)))
	for _, s := range m.Servers {
		e.String(s)
	}
	e.Bool(m.Restoring)
}

func (m *CreateVolumeRep) Decode(d *Decoder) {
	m.Name = d.String(MaxVolName)
	m.Servers = make([]string, d.Count(MaxReplicas+1, 4))
	for i := range m.Servers {
		m.Servers[i] = d.String(MaxName)
	}
	m.Restoring = d.Bool()
}
