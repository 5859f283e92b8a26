package proto

// Messages of the file service: status, validation, directories, data
// and updates. (Connection, admin and volume messages are in messages.go.)

// FIDReq names one object (getattr, fetch, readlink).
type FIDReq struct{ FID FID }

func (m *FIDReq) Encode(e *Encoder) { e.FID(m.FID) }
func (m *FIDReq) Decode(d *Decoder) { m.FID = d.FID() }

// AttrReply carries one object's status.
type AttrReply struct{ Attr Attr }

func (m *AttrReply) Encode(e *Encoder) { e.Attr(m.Attr) }
func (m *AttrReply) Decode(d *Decoder) { m.Attr = d.Attr() }

// ValidateItem is one cached object and the version venus holds.
type ValidateItem struct {
	FID FID
	VV  VV
}

// Validate asks, in one round trip, which cached objects are still current.
// Every object still current gets a new callback promise.
type Validate struct{ Items []ValidateItem }

func (m *Validate) Encode(e *Encoder) {
	e.U32(uint32(len(m.Items)))
	for _, it := range m.Items {
		e.FID(it.FID)
		e.VV(it.VV)
	}
}
func (m *Validate) Decode(d *Decoder) {
	n := d.Count(MaxBatch, 12+48)
	m.Items = make([]ValidateItem, n)
	for i := range m.Items {
		m.Items[i] = ValidateItem{FID: d.FID(), VV: d.VV()}
	}
}

// ValidateResult is the answer for one item: Code is CodeOK with the
// current Attr (Attr.VV equal to the item's VV means unchanged), or an
// error code such as CodeNotFound.
type ValidateResult struct {
	Code Code
	Attr Attr
}

type ValidateReply struct{ Results []ValidateResult }

func (m *ValidateReply) Encode(e *Encoder) {
	e.U32(uint32(len(m.Results)))
	for _, r := range m.Results {
		e.U16(uint16(r.Code))
		e.Attr(r.Attr)
	}
}
func (m *ValidateReply) Decode(d *Decoder) {
	n := d.Count(MaxBatch, 2+100)
	m.Results = make([]ValidateResult, n)
	for i := range m.Results {
		m.Results[i] = ValidateResult{Code: Code(d.U16()), Attr: d.Attr()}
	}
}

// Lookup finds a name in a directory.
type Lookup struct {
	Dir  FID
	Name string
}

func (m *Lookup) Encode(e *Encoder) { e.FID(m.Dir); e.String(m.Name) }
func (m *Lookup) Decode(d *Decoder) { m.Dir = d.FID(); m.Name = d.Name() }

// ReadDir reads a page of a directory, in name order, starting after After.
// The reply carries the directory's Attr so a multi-page read can check
// that the directory did not change between pages.
type ReadDir struct {
	Dir   FID
	After string
	Max   uint32
}

func (m *ReadDir) Encode(e *Encoder) { e.FID(m.Dir); e.String(m.After); e.U32(m.Max) }
func (m *ReadDir) Decode(d *Decoder) { m.Dir = d.FID(); m.After = d.String(MaxName); m.Max = d.U32() }

type ReadDirReply struct {
	Dir     Attr
	Entries []DirEntry
	More    bool
}

func (m *ReadDirReply) Encode(e *Encoder) {
	e.Attr(m.Dir)
	e.DirEntries(m.Entries)
	e.Bool(m.More)
}
func (m *ReadDirReply) Decode(d *Decoder) {
	m.Dir = d.Attr()
	m.Entries = d.DirEntries(MaxBatch)
	m.More = d.Bool()
}

// Store replaces a file's whole content; the data follows the request as a
// stream of data frames. Mtime is the client's modification time.
type Store struct {
	FID     FID
	Size    int64
	Mtime   int64
	StoreID StoreID
	// Base, when HasBase, is the version the client's change was made on
	// (a store logged while disconnected): a replica holding another
	// version refuses it with CodeConflict instead of overwriting a change
	// made on the servers meanwhile.
	Base    VV
	HasBase bool
}

// Based is a request a server checks against the version it was decided
// on (Store, Remove): SetBase sets that version, or with has false none.
type Based interface {
	SetBase(base VV, has bool)
}

func (m *Store) SetBase(base VV, has bool)  { m.Base, m.HasBase = base, has }
func (m *Remove) SetBase(base VV, has bool) { m.Base, m.HasBase = base, has }

func (m *Store) Encode(e *Encoder) {
	e.FID(m.FID)
	e.I64(m.Size)
	e.I64(m.Mtime)
	e.StoreID(m.StoreID)
	e.VV(m.Base)
	e.Bool(m.HasBase)
}
func (m *Store) Decode(d *Decoder) {
	m.FID = d.FID()
	m.Size = d.I64()
	m.Mtime = d.I64()
	m.StoreID = d.StoreID()
	m.Base = d.VV()
	m.HasBase = d.Bool()
	if m.Size < 0 {
		d.Fail(Errorf(CodeInvalid, "negative size"))
	}
}

// Create makes a file, directory or symlink (Target set) in Dir. The owner
// is the caller's Coda identity (UID is ignored); GID 0 means the
// directory's group. FID, when not zero, is the FID the client proposes
// for the new object (one AllocFIDs gave it), the same on every replica.
type Create struct {
	Dir     FID
	Name    string
	Mode    uint32
	UID     uint32
	GID     uint32
	Mtime   int64
	Target  string // symlinks only
	StoreID StoreID
	FID     FID
}

func (m *Create) Encode(e *Encoder) {
	e.FID(m.Dir)
	e.String(m.Name)
	e.U32(m.Mode)
	e.U32(m.UID)
	e.U32(m.GID)
	e.I64(m.Mtime)
	e.String(m.Target)
	e.StoreID(m.StoreID)
	e.FID(m.FID)
}
func (m *Create) Decode(d *Decoder) {
	m.Dir = d.FID()
	m.Name = d.Name()
	m.Mode = d.U32()
	m.UID = d.U32()
	m.GID = d.U32()
	m.Mtime = d.I64()
	m.Target = d.String(MaxPath)
	m.StoreID = d.StoreID()
	m.FID = d.FID()
}

// DirOpReply answers create, mkdir, symlink, link, remove and rmdir: the
// directory's new status and the object's (after the change; for a remove,
// the object's remaining status, Nlink 0 when it is gone).
type DirOpReply struct {
	Dir  Attr
	Attr Attr
}

func (m *DirOpReply) Encode(e *Encoder) { e.Attr(m.Dir); e.Attr(m.Attr) }
func (m *DirOpReply) Decode(d *Decoder) { m.Dir = d.Attr(); m.Attr = d.Attr() }

// Remove removes a name (remove: non-directory; rmdir: empty directory).
type Remove struct {
	Dir     FID
	Name    string
	StoreID StoreID
	// Base, when HasBase, is the version of the object the removal was
	// decided on (a remove logged while disconnected): another version
	// on the server is a conflict (CodeConflict), as for Store.
	Base    VV
	HasBase bool
}

func (m *Remove) Encode(e *Encoder) {
	e.FID(m.Dir)
	e.String(m.Name)
	e.StoreID(m.StoreID)
	e.VV(m.Base)
	e.Bool(m.HasBase)
}
func (m *Remove) Decode(d *Decoder) {
	m.Dir = d.FID()
	m.Name = d.Name()
	m.StoreID = d.StoreID()
	m.Base = d.VV()
	m.HasBase = d.Bool()
}

// Rename moves a name, replacing the target if POSIX allows it.
type Rename struct {
	FromDir  FID
	FromName string
	ToDir    FID
	ToName   string
	StoreID  StoreID
}

func (m *Rename) Encode(e *Encoder) {
	e.FID(m.FromDir)
	e.String(m.FromName)
	e.FID(m.ToDir)
	e.String(m.ToName)
	e.StoreID(m.StoreID)
}
func (m *Rename) Decode(d *Decoder) {
	m.FromDir = d.FID()
	m.FromName = d.Name()
	m.ToDir = d.FID()
	m.ToName = d.Name()
	m.StoreID = d.StoreID()
}

// RenameReply carries both directories, the moved object, and the replaced
// object if any (Replaced.FID zero when none).
type RenameReply struct {
	FromDir  Attr
	ToDir    Attr
	Attr     Attr
	Replaced Attr
}

func (m *RenameReply) Encode(e *Encoder) {
	e.Attr(m.FromDir)
	e.Attr(m.ToDir)
	e.Attr(m.Attr)
	e.Attr(m.Replaced)
}
func (m *RenameReply) Decode(d *Decoder) {
	m.FromDir = d.Attr()
	m.ToDir = d.Attr()
	m.Attr = d.Attr()
	m.Replaced = d.Attr()
}

// Link adds a name for an existing file.
type Link struct {
	Dir     FID
	Name    string
	Target  FID
	StoreID StoreID
}

func (m *Link) Encode(e *Encoder) {
	e.FID(m.Dir)
	e.String(m.Name)
	e.FID(m.Target)
	e.StoreID(m.StoreID)
}
func (m *Link) Decode(d *Decoder) {
	m.Dir = d.FID()
	m.Name = d.Name()
	m.Target = d.FID()
	m.StoreID = d.StoreID()
}

// ReadlinkReply carries a symlink's target.
type ReadlinkReply struct{ Target string }

func (m *ReadlinkReply) Encode(e *Encoder) { e.String(m.Target) }
func (m *ReadlinkReply) Decode(d *Decoder) { m.Target = d.String(MaxPath) }

// SetAttr changes the fields named by Mask (SetMode, SetUID, …).
type SetAttr struct {
	FID     FID
	Mask    uint32
	Mode    uint32
	UID     uint32
	GID     uint32
	Size    int64
	Mtime   int64
	StoreID StoreID
}

func (m *SetAttr) Encode(e *Encoder) {
	e.FID(m.FID)
	e.U32(m.Mask)
	e.U32(m.Mode)
	e.U32(m.UID)
	e.U32(m.GID)
	e.I64(m.Size)
	e.I64(m.Mtime)
	e.StoreID(m.StoreID)
}
func (m *SetAttr) Decode(d *Decoder) {
	m.FID = d.FID()
	m.Mask = d.U32()
	m.Mode = d.U32()
	m.UID = d.U32()
	m.GID = d.U32()
	m.Size = d.I64()
	m.Mtime = d.I64()
	m.StoreID = d.StoreID()
	if m.Size < 0 {
		d.Fail(Errorf(CodeInvalid, "negative size"))
	}
}

// CallbackBreak tells a client that objects it cached changed. A zero
// Vnode in a FID breaks every callback on that volume.
type CallbackBreak struct{ FIDs []FID }

func (m *CallbackBreak) Encode(e *Encoder) {
	e.U32(uint32(len(m.FIDs)))
	for _, f := range m.FIDs {
		e.FID(f)
	}
}
func (m *CallbackBreak) Decode(d *Decoder) {
	n := d.Count(MaxBatch, 12)
	m.FIDs = make([]FID, n)
	for i := range m.FIDs {
		m.FIDs[i] = d.FID()
	}
}

// EndOfData closes a data stream: the total size of the file and a
// checksum (xxhash64 of the data bytes in offset order; holes read as
// zeros are not hashed) that the receiver checks.
type EndOfData struct {
	Size int64
	Sum  uint64
}

func (m *EndOfData) Encode(e *Encoder) { e.I64(m.Size); e.U64(m.Sum) }
func (m *EndOfData) Decode(d *Decoder) {
	m.Size = d.I64()
	m.Sum = d.U64()
	if m.Size < 0 {
		d.Fail(Errorf(CodeInvalid, "negative size"))
	}
}
