package proto

// ListVnodes pages through the vnodes of this server's replica of a volume
// (volutil info -all), in vnode order, starting after vnode After. With
// Quick the content checksums are left out (resync compares version
// vectors only).
type ListVnodes struct {
	Volume uint32
	After  uint32
	Max    uint32
	Quick  bool
}

func (m *ListVnodes) Encode(e *Encoder) {
	e.U32(m.Volume)
	e.U32(m.After)
	e.U32(m.Max)
	e.Bool(m.Quick)
}
func (m *ListVnodes) Decode(d *Decoder) {
	m.Volume, m.After, m.Max, m.Quick = d.U32(), d.U32(), d.U32(), d.Bool()
}

// MaxListVnodes is the most vnodes one ListVnodes reply carries.
const MaxListVnodes = 4096

// VnodeSummary is what makes replicas of a vnode comparable: its status,
// version vector and a checksum of its content (a file's bytes, a
// directory's entries and ACL, a symlink's target).
type VnodeSummary struct {
	FID   FID
	Type  ObjType
	Mode  uint32
	UID   uint32
	GID   uint32
	Nlink uint32
	Size  int64
	VV    VV
	Sum   uint64 // xxhash64
}

// ListVnodesReply is one page; More says whether vnodes follow.
type ListVnodesReply struct {
	Vnodes []VnodeSummary
	More   bool
}

func (m *ListVnodesReply) Encode(e *Encoder) {
	e.U32(uint32(len(m.Vnodes)))
	for _, v := range m.Vnodes {
		e.FID(v.FID)
		e.U8(uint8(v.Type))
		e.U32(v.Mode)
		e.U32(v.UID)
		e.U32(v.GID)
		e.U32(v.Nlink)
		e.I64(v.Size)
		e.VV(v.VV)
		e.U64(v.Sum)
	}
	e.Bool(m.More)
}

func (m *ListVnodesReply) Decode(d *Decoder) {
	m.Vnodes = make([]VnodeSummary, d.Count(MaxListVnodes, 12+1+16+8+8))
	for i := range m.Vnodes {
		m.Vnodes[i] = VnodeSummary{FID: d.FID(), Type: ObjType(d.U8()), Mode: d.U32(), UID: d.U32(),
			GID: d.U32(), Nlink: d.U32(), Size: d.I64(), VV: d.VV(), Sum: d.U64()}
	}
	m.More = d.Bool()
}

// AllocFIDs reserves Count FIDs (at most MaxAllocFIDs) in one replica of
// Volume for creates the client will propose to every replica.
type AllocFIDs struct {
	Volume uint32
	Count  uint32
}

// MaxAllocFIDs is the most FIDs one AllocFIDs reserves.
const MaxAllocFIDs = 256

func (m *AllocFIDs) Encode(e *Encoder) { e.U32(m.Volume); e.U32(m.Count) }
func (m *AllocFIDs) Decode(d *Decoder) { m.Volume, m.Count = d.U32(), d.U32() }

// FIDList carries FIDs.
type FIDList struct{ FIDs []FID }

func (m *FIDList) Encode(e *Encoder) {
	e.U32(uint32(len(m.FIDs)))
	for _, f := range m.FIDs {
		e.FID(f)
	}
}

func (m *FIDList) Decode(d *Decoder) {
	m.FIDs = make([]FID, d.Count(MaxAllocFIDs, 12))
	for i := range m.FIDs {
		m.FIDs[i] = d.FID()
	}
}

// COP2 completes a replicated update (see volume.COP2): Updated has bit i
// set for every replica slot i that applied update StoreID to FIDs.
type COP2 struct {
	StoreID StoreID
	Updated uint8
	FIDs    []FID
	// Confirmed ⊆ Updated: the replicas that answered that they applied
	// it (Updated also counts those whose answer was lost). Only an update
	// every replica confirmed leaves the resolution logs.
	Confirmed uint8
}

func (m *COP2) Encode(e *Encoder) {
	e.StoreID(m.StoreID)
	e.U8(m.Updated)
	(&FIDList{FIDs: m.FIDs}).Encode(e)
	e.U8(m.Confirmed)
}

func (m *COP2) Decode(d *Decoder) {
	m.StoreID = d.StoreID()
	m.Updated = d.U8()
	var l FIDList
	l.Decode(d)
	m.FIDs = l.FIDs
	m.Confirmed = d.U8()
}
