package proto

// Outcomes of resolving one object (ResolveResult.Outcome).
const (
	ResolveEqual      = 0 // the replicas were level already
	ResolveDone       = 1 // the dominant state was copied to the others
	ResolveConflict   = 2 // the replicas diverged: neither dominates
	ResolveIncomplete = 3 // a replica could not be reached or refused
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
}

func (m *VnodeState) Encode(e *Encoder) {
	e.FID(m.FID)
	e.Bool(m.Exists)
	e.VV(m.VV)
	e.U8(uint8(m.Type))
	e.FID(m.Parent)
	e.I64(m.Size)
	e.Bytes(m.Record)
	e.U32(uint32(len(m.Entries)))
	for _, de := range m.Entries {
		e.String(de.Name)
		e.FID(de.FID)
		e.U8(uint8(de.Type))
	}
	e.VV(m.Expect)
	e.Bool(m.HasExpect)
}

func (m *VnodeState) Decode(d *Decoder) {
	m.FID = d.FID()
	m.Exists = d.Bool()
	m.VV = d.VV()
	m.Type = ObjType(d.U8())
	m.Parent = d.FID()
	m.Size = d.I64()
	m.Record = d.Bytes(1 << 16)
	m.Entries = make([]DirEntry, d.Count(MaxVnodeEntries, 14))
	for i := range m.Entries {
		m.Entries[i] = DirEntry{Name: d.Name(), FID: d.FID(), Type: ObjType(d.U8())}
	}
	m.Expect = d.VV()
	m.HasExpect = d.Bool()
}

// GetVnode asks a server for its replica's state of FID, with the file's
// data as a stream when Data is set.
type GetVnode struct {
	FID  FID
	Data bool
}

func (m *GetVnode) Encode(e *Encoder) { e.FID(m.FID); e.Bool(m.Data) }
func (m *GetVnode) Decode(d *Decoder) { m.FID = d.FID(); m.Data = d.Bool() }
