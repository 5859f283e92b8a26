package proto

// Reintegrate replays a batch of a client's logged updates (its CML) on one
// replica of Volume, in one transaction with one durable commit. Each
// record is a request as the client would have sent it alone (Create,
// Remove, Rename, Link, Store, SetAttr without a size change), keeping its
// own store id; the records are applied in order, with StoreID, the
// batch's, in the version vectors of what they change (COP2 names it).
//
// The data of the Store records follows the request as one stream, each
// record's Size bytes in record order.
//
// A replica applies the whole batch or none of it. A record that was
// applied before (a batch retried after a lost reply: records the replica
// already took from this client are recognised by their store ids) is
// skipped.
type Reintegrate struct {
	Volume  uint32
	StoreID StoreID
	Records []ReintRecord
}

// ReintRecord is one logged update: its op and its request, encoded.
type ReintRecord struct {
	Op  Op
	Req []byte
}

// MaxReintRecords bounds the records of one Reintegrate.
const MaxReintRecords = 1024

func (m *Reintegrate) Encode(e *Encoder) {
	e.U32(m.Volume)
	e.StoreID(m.StoreID)
	e.U32(uint32(len(m.Records)))
	for _, r := range m.Records {
		e.U16(uint16(r.Op))
		e.Bytes(r.Req)
	}
}

func (m *Reintegrate) Decode(d *Decoder) {
	m.Volume = d.U32()
	m.StoreID = d.StoreID()
	m.Records = make([]ReintRecord, d.Count(MaxReintRecords, 2+4))
	for i := range m.Records {
		m.Records[i] = ReintRecord{Op: Op(d.U16()), Req: d.Bytes(MaxFrame)}
	}
}

// ReintegrateReply says how a batch went. Refused is 0 when the batch was
// applied; else it is 1 + the index of the record the replica refused,
// with that record's error (Code, Msg), and nothing of the batch was
// applied. Attrs are the statuses, after the batch, of the objects it
// changed that still exist (of the objects its records name, for a batch
// applied before).
type ReintegrateReply struct {
	Refused uint32
	Code    Code
	Msg     string
	Attrs   []Attr
}

func (m *ReintegrateReply) Encode(e *Encoder) {
	e.U32(m.Refused)
	e.U16(uint16(m.Code))
	e.String(m.Msg)
	e.U32(uint32(len(m.Attrs)))
	for _, a := range m.Attrs {
		e.Attr(a)
	}
}

func (m *ReintegrateReply) Decode(d *Decoder) {
	m.Refused = d.U32()
	m.Code = Code(d.U16())
	m.Msg = d.String(MaxFrame)
	m.Attrs = make([]Attr, d.Count(4*MaxReintRecords, 12+1+4*4+8*4))
	for i := range m.Attrs {
		m.Attrs[i] = d.Attr()
	}
}

// Err is the refusal as an error (nil when the batch was applied).
func (m *ReintegrateReply) Err() error {
	if m.Refused == 0 {
		return nil
	}
	return Errorf(m.Code, m.Msg)
}

// NewLoggedRequest returns an empty request message of op, one of the
// updates a client logs and reintegrates (Create for create, mkdir and
// symlink; Remove for remove and rmdir; Rename; Link; Store; SetAttr), or
// nil for any other op.
func NewLoggedRequest(op Op) Message {
	switch op {
	case OpCreate, OpMkdir, OpSymlink:
		return &Create{}
	case OpRemove, OpRmdir:
		return &Remove{}
	case OpRename:
		return &Rename{}
	case OpLink:
		return &Link{}
	case OpStore:
		return &Store{}
	case OpSetAttr:
		return &SetAttr{}
	}
	return nil
}
