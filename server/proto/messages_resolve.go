package proto

// Outcomes of resolving one object (ResolveResult.Outcome).
const (
	ResolveEqual      = 0 // the replicas were level already
	ResolveDone       = 1 // the dominant state was copied to the others
	ResolveConflict   = 2 // the replicas diverged: neither dominates
	ResolveIncomplete = 3 // a replica could not be reached or refused
	// ResolveNamesInConflict: the replicas are level now, but names both
	// sides changed differently became conflict objects (AttrConflict).
	ResolveNamesInConflict = 4
)

// ResolveResult is the outcome of resolving one object, with why when it
// is not level.
type ResolveResult struct {
	Outcome uint8
	Msg     string
}

// ResolveReply answers a Resolve (an FIDList), one result per FID.
type ResolveReply struct{ Results []ResolveResult }

func (m *ResolveReply) Encode(e *Encoder) {
	e.U32(uint32(len(m.Results)))
	for _, r := range m.Results {
		e.U8(r.Outcome)
		e.String(r.Msg)
	}
}

func (m *ResolveReply) Decode(d *Decoder) {
	m.Results = make([]ResolveResult, d.Count(MaxAllocFIDs, 5))
	for i := range m.Results {
		m.Results[i] = ResolveResult{Outcome: d.U8(), Msg: d.String(MaxPath)}
	}
}

// MaxVnodeEntries bounds the entries of one VnodeState (a directory).
const MaxVnodeEntries = 100000

// VnodeState is one replica's whole state of an object, as resolution
// copies it between servers: Exists is false when the replica lacks it.
// Record is the vnode record in the volume package's encoding (servers of
// a realm run the same release); Entries are a directory's names. A
// file's data follows as a stream.
type VnodeState struct {
	FID     FID
	Exists  bool
	VV      VV
	Type    ObjType
	Parent  FID   // the directory holding its name(s)
	Size    int64 // a file's size: the bytes of the data stream
	Record  []byte
	Entries []DirEntry
	// Expect, in an install, is the version vector the target replica
	// must still hold (its state when resolution read it), so a state
	// that changed meanwhile is never overwritten.
	Expect    VV
	HasExpect bool
	// Data, in batches (getvnodes, installvnodes), is a small file's
	// whole content (trailing zeros may be cut; they read back as zeros).
	Data []byte
	// Log is a directory's resolution log (getvnode), oldest first;
	// LogTruncated: it lost old records.
	Log          []DirLogOp
	LogTruncated bool
	// Policy is a directory's own conflict policy; Mtime the object's.
	Policy uint8
	Mtime  int64
}

// DirLogOp is one record of a directory's resolution log (the wire form of
// resolve.LogOp; Kind is resolve.OpKind).
type DirLogOp struct {
	Kind     uint8
	Store    StoreID
	Name     string
	FID      FID
	Type     ObjType
	ObjVV    VV
	Peer     FID
	PeerName string
}

// MaxDirLog bounds the records of one VnodeState.
const MaxDirLog = 65536

func (o *DirLogOp) encode(e *Encoder) {
	e.U8(o.Kind)
	e.StoreID(o.Store)
	e.String(o.Name)
	e.FID(o.FID)
	e.U8(uint8(o.Type))
	e.VV(o.ObjVV)
	e.FID(o.Peer)
	e.String(o.PeerName)
}

func (o *DirLogOp) decode(d *Decoder) {
	o.Kind = d.U8()
	o.Store = d.StoreID()
	o.Name = d.String(MaxName)
	o.FID = d.FID()
	o.Type = ObjType(d.U8())
	o.ObjVV = d.VV()
	o.Peer = d.FID()
	o.PeerName = d.String(MaxName)
}

func (m *VnodeState) Encode(e *Encoder) {
	e.FID(m.FID)
	e.Bool(m.Exists)
	e.VV(m.VV)
	e.U8(uint8(m.Type))
	e.FID(m.Parent)
	e.I64(m.Size)
	e.Bytes(m.Record)
	e.DirEntries(m.Entries)
	e.VV(m.Expect)
	e.Bool(m.HasExpect)
	e.Bytes(m.Data)
	e.U32(uint32(len(m.Log)))
	for i := range m.Log {
		m.Log[i].encode(e)
	}
	e.Bool(m.LogTruncated)
	e.U8(m.Policy)
	e.I64(m.Mtime)
}

func (m *VnodeState) Decode(d *Decoder) {
	m.FID = d.FID()
	m.Exists = d.Bool()
	m.VV = d.VV()
	m.Type = ObjType(d.U8())
	m.Parent = d.FID()
	m.Size = d.I64()
	m.Record = d.Bytes(1 << 16)
	m.Entries = d.DirEntries(MaxVnodeEntries)
	m.Expect = d.VV()
	m.HasExpect = d.Bool()
	if b := d.Bytes(MaxInlineData); len(b) > 0 {
		m.Data = append([]byte(nil), b...)
	}
	if n := d.Count(MaxDirLog, 60); n > 0 {
		m.Log = make([]DirLogOp, n)
		for i := range m.Log {
			m.Log[i].decode(d)
		}
	}
	m.LogTruncated = d.Bool()
	m.Policy = d.U8()
	m.Mtime = d.I64()
}

// MergeActions applies a directory merge to one replica (server to
// server): the replica must still hold version Expect; it applies the
// entry changes, takes version VV and drops its resolution log.
type MergeActions struct {
	Dir     FID
	Expect  VV
	VV      VV
	Actions []MergeAction
	// Final: the last step of the merge (the version and log change);
	// otherwise only the actions are applied (inserts of a group of
	// directories tied by renames go before their deletes).
	Final bool
}

// MergeAction is one entry change: remove Name, or make it name FID.
// Two more kinds handle a name both sides changed differently:
// Conflict makes Name a new conflict object FID (a directory, see
// AttrConflict) whose entries are Versions, each replica's object for the
// name under the server id that holds it; Dissolve removes the conflict
// object FID at Name and gives the versions in Versions their new names
// in the directory (the others go).
type MergeAction struct {
	Delete   bool
	Name     string
	FID      FID
	Type     ObjType
	Conflict bool
	Dissolve bool
	Versions []DirEntry
}

func (m *MergeActions) Encode(e *Encoder) {
	e.FID(m.Dir)
	e.VV(m.Expect)
	e.VV(m.VV)
	e.U32(uint32(len(m.Actions)))
	for _, a := range m.Actions {
		e.Bool(a.Delete)
		e.String(a.Name)
		e.FID(a.FID)
		e.U8(uint8(a.Type))
		e.Bool(a.Conflict)
		e.Bool(a.Dissolve)
		e.DirEntries(a.Versions)
	}
	e.Bool(m.Final)
}

func (m *MergeActions) Decode(d *Decoder) {
	m.Dir = d.FID()
	m.Expect = d.VV()
	m.VV = d.VV()
	m.Actions = make([]MergeAction, d.Count(MaxVnodeEntries, 21))
	for i := range m.Actions {
		m.Actions[i] = MergeAction{Delete: d.Bool(), Name: d.Name(), FID: d.FID(), Type: ObjType(d.U8()),
			Conflict: d.Bool(), Dissolve: d.Bool(), Versions: d.DirEntries(MaxReplicas)}
	}
	m.Final = d.Bool()
}

// MaxInlineData bounds the data a VnodeState carries in a batch (the
// volume package stores files up to this size inline).
const MaxInlineData = 64 << 10

// MaxBatchBytes bounds the data of the states in one batch, so that a
// batch fits a frame.
const MaxBatchBytes = 2 << 20

// VnodeStates is a batch of object states (getvnodes, installvnodes).
type VnodeStates struct{ States []VnodeState }

func (m *VnodeStates) Encode(e *Encoder) {
	e.U32(uint32(len(m.States)))
	for i := range m.States {
		m.States[i].Encode(e)
	}
}

func (m *VnodeStates) Decode(d *Decoder) {
	m.States = make([]VnodeState, d.Count(MaxAllocFIDs, 60))
	for i := range m.States {
		m.States[i].Decode(d)
	}
}

// InstallReply has one outcome per installed state (CodeOK, or the error).
type InstallReply struct{ Results []ResolveResult }

func (m *InstallReply) Encode(e *Encoder) { (&ResolveReply{Results: m.Results}).Encode(e) }
func (m *InstallReply) Decode(d *Decoder) {
	var r ResolveReply
	r.Decode(d)
	m.Results = r.Results
}

// Resync asks a server to bring every replica of a volume level (volutil
// resync), one step at a time: the server works from Phase and After (the
// cursor a previous reply returned) for about a second and returns where
// it stopped. Phase 0 levels directories, phase 1 everything else.
type Resync struct {
	Volume uint32
	Phase  uint8
	After  uint32
}

func (m *Resync) Encode(e *Encoder) { e.U32(m.Volume); e.U8(m.Phase); e.U32(m.After) }
func (m *Resync) Decode(d *Decoder) { m.Volume, m.Phase, m.After = d.U32(), d.U8(), d.U32() }

// ResyncReply is one step's outcome: the cursor to go on from (Done: the
// volume is level as far as the replicas could be reached), what the step
// scanned and copied, the largest replica's vnode count (for progress),
// and the objects left unresolved with why.
type ResyncReply struct {
	Phase    uint8
	After    uint32
	Done     bool
	Scanned  uint64
	Copied   uint64
	Bytes    int64
	Total    uint64
	Problems []string
}

// MaxResyncProblems bounds the problems one reply lists.
const MaxResyncProblems = 100

func (m *ResyncReply) Encode(e *Encoder) {
	e.U8(m.Phase)
	e.U32(m.After)
	e.Bool(m.Done)
	e.U64(m.Scanned)
	e.U64(m.Copied)
	e.I64(m.Bytes)
	e.U64(m.Total)
	e.U32(uint32(len(m.Problems)))
	for _, p := range m.Problems {
		e.String(p)
	}
}

func (m *ResyncReply) Decode(d *Decoder) {
	m.Phase, m.After, m.Done = d.U8(), d.U32(), d.Bool()
	m.Scanned, m.Copied, m.Bytes, m.Total = d.U64(), d.U64(), d.I64(), d.U64()
	m.Problems = make([]string, d.Count(MaxResyncProblems, 4))
	for i := range m.Problems {
		m.Problems[i] = d.String(MaxPath)
	}
}

// GetVnode asks a server for its replica's state of FID, with the file's
// data as a stream when Data is set.
type GetVnode struct {
	FID  FID
	Data bool
}

func (m *GetVnode) Encode(e *Encoder) { e.FID(m.FID); e.Bool(m.Data) }
func (m *GetVnode) Decode(d *Decoder) { m.FID = d.FID(); m.Data = d.Bool() }

// Repair modes (Repair.Mode).
const (
	RepairKeep    = 1 // keep the replica of server Server everywhere
	RepairRemove  = 2 // remove the object (name Name in directory Dir)
	RepairKeepAll = 3 // keep every replica's version as NAME.conflict-SERVER
)

// Repair asks a server holding a replica to repair the conflict of FID,
// named Name in directory Dir (cfs repair).
type Repair struct {
	FID    FID
	Dir    FID
	Name   string
	Mode   uint8
	Server uint32 // RepairKeep: the server id whose version stays
}

func (m *Repair) Encode(e *Encoder) {
	e.FID(m.FID)
	e.FID(m.Dir)
	e.String(m.Name)
	e.U8(m.Mode)
	e.U32(m.Server)
}

func (m *Repair) Decode(d *Decoder) {
	m.FID, m.Dir, m.Name, m.Mode, m.Server = d.FID(), d.FID(), d.Name(), d.U8(), d.U32()
}

// LogParms sets (LogSize not 0) and reports a volume replica's resolution
// log bound and use (volutil setlogparms).
type LogParms struct {
	Volume  uint32
	LogSize uint32
	Used    uint32 // in a reply: records held now
}

func (m *LogParms) Encode(e *Encoder) { e.U32(m.Volume); e.U32(m.LogSize); e.U32(m.Used) }
func (m *LogParms) Decode(d *Decoder) { m.Volume, m.LogSize, m.Used = d.U32(), d.U32(), d.U32() }

// Conflict policies of a directory (cfs setpolicy).
const (
	PolicyInherit = 0 // none set here: the parent's
	PolicyManual  = 1 // conflicts wait for cfs repair
	PolicyKeepAll = 2 // every version kept under its own name
	PolicyNewest  = 3 // the newest version keeps the name, the others saved beside it
)

// PolicyNames are the policies as users type them.
var PolicyNames = map[uint8]string{PolicyInherit: "inherit", PolicyManual: "manual", PolicyKeepAll: "keep-all", PolicyNewest: "newest"}

// SetPolicy sets directory Dir's conflict policy (an update).
type SetPolicy struct {
	Dir     FID
	Policy  uint8
	StoreID StoreID
}

func (m *SetPolicy) Encode(e *Encoder) { e.FID(m.Dir); e.U8(m.Policy); e.StoreID(m.StoreID) }
func (m *SetPolicy) Decode(d *Decoder) { m.Dir, m.Policy, m.StoreID = d.FID(), d.U8(), d.StoreID() }

// PolicyReply is a directory's own policy and the one in force there,
// with the directory it comes from (zero: the default, manual).
type PolicyReply struct {
	Own       uint8
	Effective uint8
	From      FID
}

func (m *PolicyReply) Encode(e *Encoder) { e.U8(m.Own); e.U8(m.Effective); e.FID(m.From) }
func (m *PolicyReply) Decode(d *Decoder) { m.Own, m.Effective, m.From = d.U8(), d.U8(), d.FID() }
