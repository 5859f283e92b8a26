package proto

// Messages that copy the realm databases (the protection database, the
// password hashes, and every later database the SCM holds) from the SCM to
// the other servers of the realm. Only connections authenticated with the
// realm's admin key may ask: the copies hold password hashes.

// Limits of the database copy.
const (
	MaxDBName    = 64
	MaxDBs       = 64           // databases per request or reply
	MaxDBPayload = MaxFrame / 2 // bytes of one database's content
)

// DBVersion names a database and the version the asker holds.
type DBVersion struct {
	Name    string
	Version uint64
}

// DBFetch asks for every database the SCM holds whose version is above
// the one in Have (a database absent from Have counts as version 0).
type DBFetch struct{ Have []DBVersion }

func (m *DBFetch) Encode(e *Encoder) {
	e.U32(uint32(len(m.Have)))
	for _, h := range m.Have {
		e.String(h.Name)
		e.U64(h.Version)
	}
}

func (m *DBFetch) Decode(d *Decoder) {
	n := d.Count(MaxDBs, 4+8)
	m.Have = make([]DBVersion, n)
	for i := range m.Have {
		m.Have[i] = DBVersion{Name: d.String(MaxDBName), Version: d.U64()}
	}
}

// DBSnapshot is the whole content of one database at one version.
type DBSnapshot struct {
	Name    string
	Version uint64
	Data    []byte
}

// DBFetchReply carries the databases that are newer than the asker's.
type DBFetchReply struct{ DBs []DBSnapshot }

func (m *DBFetchReply) Encode(e *Encoder) {
	e.U32(uint32(len(m.DBs)))
	for _, s := range m.DBs {
		e.String(s.Name)
		e.U64(s.Version)
		e.Bytes(s.Data)
	}
}

func (m *DBFetchReply) Decode(d *Decoder) {
	n := d.Count(MaxDBs, 4+8+4)
	m.DBs = make([]DBSnapshot, n)
	for i := range m.DBs {
		m.DBs[i] = DBSnapshot{Name: d.String(MaxDBName), Version: d.U64(), Data: d.Bytes(MaxDBPayload)}
	}
}
