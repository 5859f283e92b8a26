package proto

// Messages by which a new server joins the realm (`coda server init
// --join`). The joiner holds a copy of the realm secret; it fetched the
// realm CA on first use and pins it on this connection. Join.MAC proves
// the secret, bound to this connection (the SCM's hello nonce), to the CA
// the joiner sees (so a man in the middle with another CA is refused
// before anything secret is sent) and to the request; JoinReply.Proof
// proves to the joiner that the reply comes from a holder of the secret.

// The labels of the two MACs (pki.RealmMAC).
const (
	JoinLabel      = "coda join request"
	JoinReplyLabel = "coda join reply"
)

// Join asks the SCM to admit server ServerID, listening at Addr, with the
// TLS public key PubKey (PKIX DER).
type Join struct {
	ServerID uint32
	Addr     string
	PubKey   []byte
	Nonce    []byte // 32 random bytes of the joiner's; the reply's proof covers them
	MAC      []byte // RealmMAC(secret, JoinLabel, hello nonce, CA fingerprint, id, Addr, PubKey, Nonce)
}

func (m *Join) Encode(e *Encoder) {
	e.U32(m.ServerID)
	e.String(m.Addr)
	e.Bytes(m.PubKey)
	e.Bytes(m.Nonce)
	e.Bytes(m.MAC)
}

func (m *Join) Decode(d *Decoder) {
	m.ServerID = d.U32()
	m.Addr = d.String(MaxName)
	m.PubKey = d.Bytes(1024)
	m.Nonce = d.Bytes(64)
	m.MAC = d.Bytes(64)
}

// JoinReply admits the server: its certificate, the realm's admin key, and
// the proof RealmMAC(secret, JoinReplyLabel, Join.Nonce, Cert, AdminKey).
type JoinReply struct {
	Cert     []byte // PEM
	AdminKey []byte // the admin key file's content
	Proof    []byte
}

func (m *JoinReply) Encode(e *Encoder) { e.Bytes(m.Cert); e.Bytes(m.AdminKey); e.Bytes(m.Proof) }
func (m *JoinReply) Decode(d *Decoder) {
	m.Cert = d.Bytes(16 << 10)
	m.AdminKey = d.Bytes(1024)
	m.Proof = d.Bytes(64)
}
