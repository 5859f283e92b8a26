package proto

// Messages of the auth service (login, tokens, passwords, the protection
// database) and of directory ACLs.
//
// Identity on a connection: a client binds tokens to identity slots
// (BindToken); every request names the slot it acts for in the frame's
// Ident field. Slot 0 is anonymous (System:AnyUser); so is a slot whose
// token expired. Connections authenticated with the realm's admin key
// (AdminAuth) act as a member of System:Administrators on every slot.

// Well-known ids of the protection database, as in Coda's pdb: users are
// positive, groups negative.
const (
	AdminUserID      int32 = 1    // "admin", created by server init
	AnyUserID        int32 = -101 // System:AnyUser: everyone, tokens or not
	AdministratorsID int32 = -204 // System:Administrators
	// AnonymousUID owns what an anonymous caller creates ("nobody").
	AnonymousUID uint32 = 65534
)

// GroupGID is how a Coda group id shows in a file's gid: its absolute
// value (stat's gid is a group namespace of its own).
func GroupGID(id int32) uint32 {
	if id < 0 {
		return uint32(-int64(id))
	}
	return uint32(id)
}

// GIDGroup is the inverse of GroupGID.
func GIDGroup(gid uint32) int32 { return -int32(gid) }

// Limits of the auth messages.
const (
	MaxUserName = 64
	MaxPassword = 1024
	MaxToken    = 1024
	MaxSlot     = 4096 // identity slots per connection
	MaxACL      = 1024 // entries per ACL list
	MaxCPS      = 4096 // ids in one user's protection set
	MaxPDBArgs  = 16
)

// Login asks the auth service for a token. The password travels only
// inside TLS and is never logged.
type Login struct {
	User     string
	Password []byte
}

func (m *Login) Encode(e *Encoder) { e.String(m.User); e.Bytes(m.Password) }
func (m *Login) Decode(d *Decoder) {
	m.User = d.String(MaxUserName)
	m.Password = d.Bytes(MaxPassword)
}

// TokenInfo describes a sealed token: who it vouches for, until when.
type TokenInfo struct {
	Token   []byte // opaque, sealed by the realm key
	UserID  int32
	User    string
	Expires int64 // ns since the epoch
}

func (m *TokenInfo) Encode(e *Encoder) {
	e.Bytes(m.Token)
	e.I32(m.UserID)
	e.String(m.User)
	e.I64(m.Expires)
}
func (m *TokenInfo) Decode(d *Decoder) {
	m.Token = d.Bytes(MaxToken)
	m.UserID = d.I32()
	m.User = d.String(MaxUserName)
	m.Expires = d.I64()
}

// BindToken binds a token to identity slot Slot (1..MaxSlot) of this
// connection; an empty Token unbinds the slot.
type BindToken struct {
	Slot  uint32
	Token []byte
}

func (m *BindToken) Encode(e *Encoder) { e.U32(m.Slot); e.Bytes(m.Token) }
func (m *BindToken) Decode(d *Decoder) {
	m.Slot = d.U32()
	m.Token = d.Bytes(MaxToken)
	if m.Slot == 0 || m.Slot > MaxSlot {
		d.Fail(Errorf(CodeInvalid, "identity slot out of range"))
	}
}

// Identity answers BindToken: the user the slot now acts for and its
// protection set (the user's id, every group it belongs to, transitively,
// and System:AnyUser).
type Identity struct {
	UserID  int32
	User    string
	Expires int64
	CPS     []int32
}

func (m *Identity) Encode(e *Encoder) {
	e.I32(m.UserID)
	e.String(m.User)
	e.I64(m.Expires)
	e.U32(uint32(len(m.CPS)))
	for _, id := range m.CPS {
		e.I32(id)
	}
}
func (m *Identity) Decode(d *Decoder) {
	m.UserID = d.I32()
	m.User = d.String(MaxUserName)
	m.Expires = d.I64()
	n := d.Count(MaxCPS, 4)
	m.CPS = make([]int32, n)
	for i := range m.CPS {
		m.CPS[i] = d.I32()
	}
}

// ChangePassword changes User's password, proven by the old one (cpasswd).
// Only the SCM accepts it.
type ChangePassword struct {
	User string
	Old  []byte
	New  []byte
}

func (m *ChangePassword) Encode(e *Encoder) { e.String(m.User); e.Bytes(m.Old); e.Bytes(m.New) }
func (m *ChangePassword) Decode(d *Decoder) {
	m.User = d.String(MaxUserName)
	m.Old = d.Bytes(MaxPassword)
	m.New = d.Bytes(MaxPassword)
}

// SetPassword sets (au nu, au cp) or, with an empty Password, deletes (au
// du) a user's password. Admins only; SCM only.
type SetPassword struct {
	User     string
	Password []byte
}

func (m *SetPassword) Encode(e *Encoder) { e.String(m.User); e.Bytes(m.Password) }
func (m *SetPassword) Decode(d *Decoder) {
	m.User = d.String(MaxUserName)
	m.Password = d.Bytes(MaxPassword)
}

// PDBCommand runs one pdbtool command (nu, nui, ng, ag, rg, d, i, list,
// export, import) on the SCM's protection database. Admins only. Import
// carries the file's text as its one argument.
type PDBCommand struct{ Args []string }

func (m *PDBCommand) Encode(e *Encoder) {
	e.U32(uint32(len(m.Args)))
	for _, a := range m.Args {
		e.String(a)
	}
}
func (m *PDBCommand) Decode(d *Decoder) {
	n := d.Count(MaxPDBArgs, 4)
	m.Args = make([]string, n)
	for i := range m.Args {
		m.Args[i] = d.String(MaxFrame)
	}
}

// Text is a reply of free text (pdbtool output).
type Text struct{ Text string }

func (m *Text) Encode(e *Encoder) { e.String(m.Text) }
func (m *Text) Decode(d *Decoder) { m.Text = d.String(MaxFrame) }

// ACLEntry is one entry of a directory's ACL. In replies both ID and Name
// are set; in SetACL a zero ID means "resolve Name".
type ACLEntry struct {
	ID       int32
	Name     string
	Rights   uint8 // acl.Rights: bits r l i d w k a
	Negative bool
}

func encodeACLEntries(e *Encoder, l []ACLEntry) {
	e.U32(uint32(len(l)))
	for _, a := range l {
		e.I32(a.ID)
		e.String(a.Name)
		e.U8(a.Rights)
		e.Bool(a.Negative)
	}
}

func decodeACLEntries(d *Decoder) []ACLEntry {
	n := d.Count(2*MaxACL, 4+4+1+1)
	l := make([]ACLEntry, n)
	for i := range l {
		l[i] = ACLEntry{ID: d.I32(), Name: d.String(MaxUserName), Rights: d.U8(), Negative: d.Bool()}
	}
	return l
}

// ACLReply answers GetACL: the positive entries, then the negative ones.
type ACLReply struct {
	Dir     Attr
	Entries []ACLEntry
}

func (m *ACLReply) Encode(e *Encoder) { e.Attr(m.Dir); encodeACLEntries(e, m.Entries) }
func (m *ACLReply) Decode(d *Decoder) { m.Dir = d.Attr(); m.Entries = decodeACLEntries(d) }

// SetACL edits a directory's ACL (cfs sa): with Clear every existing entry
// goes first; then each entry is set, replacing the principal's entry in
// its list (positive or negative); Rights 0 removes it. Needs the 'a'
// right, ownership of the directory, or System:Administrators.
type SetACL struct {
	Dir     FID
	Clear   bool
	Entries []ACLEntry
	StoreID StoreID
}

func (m *SetACL) Encode(e *Encoder) {
	e.FID(m.Dir)
	e.Bool(m.Clear)
	encodeACLEntries(e, m.Entries)
	e.StoreID(m.StoreID)
}
func (m *SetACL) Decode(d *Decoder) {
	m.Dir = d.FID()
	m.Clear = d.Bool()
	m.Entries = decodeACLEntries(d)
	m.StoreID = d.StoreID()
}
