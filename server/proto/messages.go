package proto

import "fmt"

// Op names an RPC. Requests carry an Op; the reply to a request carries the
// same request id. Callback breaks are requests from server to client.
type Op uint16

const (
	OpNone Op = iota
	OpHello
	OpPing
	OpGetRootVolume
	OpGetVolumeInfo
	OpGetAttr
	OpValidate
	OpLookup
	OpReadDir
	OpFetch
	OpStore
	OpCreate
	OpMkdir
	OpSymlink
	OpRemove
	OpRmdir
	OpRename
	OpLink
	OpReadlink
	OpSetAttr
	OpCallbackBreak // server → client
	OpAdminAuth
	OpCreateVolume
	OpListVolumes
	OpLogin
	OpBindToken
	OpChangePassword
	OpSetPassword
	OpPDBCommand
	OpGetACL
	OpSetACL
	OpDBFetch
	OpJoin
	OpCreateVolumeRep // tool → SCM
	OpPurgeVolumeRep  // tool → SCM (VolumeRef by name)
	OpDeleteVolume    // SCM → server: drop its replica (VolumeRef by id)
	OpListVnodes      // volutil info -all
	OpGetPath         // FIDReq → Text: the object's path in its volume
	OpAllocFIDs       // AllocFIDs → FIDList
	OpCOP2            // COP2 → Empty
	OpResolve         // FIDList → ResolveReply: bring the replicas level
	OpGetVnode        // server → server: FIDReq → VnodeState (+ data)
	OpInstallVnode    // server → server: VnodeState (+ data) → Empty
	OpGetVnodes       // server → server: FIDList → VnodeStates (small files' data inline)
	OpInstallVnodes   // server → server: VnodeStates → InstallReply
	OpResync          // tool → server: Resync → ResyncReply (volutil resync)
	OpApplyMerge      // server → server: MergeActions → Empty
	OpRepair          // Repair → Text (what was done)
	OpSetLogParms     // LogParms → LogParms (volutil setlogparms)
	OpSetPolicy       // SetPolicy → AttrReply (cfs setpolicy; an update)
	OpGetPolicy       // FIDReq → PolicyReply (cfs getpolicy)
	OpReintegrate     // Reintegrate (+ stores' data) → ReintegrateReply
	OpLockVolume      // VolumeLock → Text (volutil lock, unlock; server → server with Local)
	OpCloneVolume     // CloneVolume → VolumeInfo (SCM → server: one replica's clone)
	OpBackupVolume    // Backup → Text (tool → SCM: volutil backup, clone)
	OpDump            // DumpRequest → DumpChunk (+ a piece of the dump)
	OpAncient         // Ancient → Text (volutil ancient; server → server with Local)
	OpDumpEstimate    // VolumeRef → Text (volutil dumpestimate)
	OpRestore         // RestoreChunk (+ a piece of the dumps) → RestoreReply
	OpSetVolumeStatus // SetVolumeStatus → VolumeInfo (cfs setquota, setvol; admins)
	OpServerControl   // Text ("shutdown", "swaplog") → Text (volutil)
	OpRestoreDone     // VolumeRef → Empty (tool → SCM: a restored volume is complete)
	OpMax
)

var opNames = [OpMax]string{
	OpNone: "none", OpHello: "hello", OpPing: "ping",
	OpGetRootVolume: "getrootvolume", OpGetVolumeInfo: "getvolumeinfo",
	OpGetAttr: "getattr", OpValidate: "validate", OpLookup: "lookup",
	OpReadDir: "readdir", OpFetch: "fetch", OpStore: "store",
	OpCreate: "create", OpMkdir: "mkdir", OpSymlink: "symlink",
	OpRemove: "remove", OpRmdir: "rmdir", OpRename: "rename",
	OpLink: "link", OpReadlink: "readlink", OpSetAttr: "setattr",
	OpCallbackBreak: "callbackbreak", OpAdminAuth: "adminauth",
	OpCreateVolume: "createvolume", OpListVolumes: "listvolumes",
	OpLogin: "login", OpBindToken: "bindtoken", OpChangePassword: "changepassword",
	OpSetPassword: "setpassword", OpPDBCommand: "pdbcommand",
	OpGetACL: "getacl", OpSetACL: "setacl", OpDBFetch: "dbfetch", OpJoin: "join",
	OpCreateVolumeRep: "createvolumerep", OpPurgeVolumeRep: "purgevolumerep", OpDeleteVolume: "deletevolume",
	OpListVnodes: "listvnodes", OpGetPath: "getpath",
	OpAllocFIDs: "allocfids", OpCOP2: "cop2",
	OpResolve: "resolve", OpGetVnode: "getvnode", OpInstallVnode: "installvnode",
	OpGetVnodes: "getvnodes", OpInstallVnodes: "installvnodes", OpResync: "resync",
	OpApplyMerge: "applymerge", OpRepair: "repair", OpSetLogParms: "setlogparms",
	OpSetPolicy: "setpolicy", OpGetPolicy: "getpolicy", OpReintegrate: "reintegrate",
	OpLockVolume: "lockvolume", OpCloneVolume: "clonevolume", OpBackupVolume: "backupvolume",
	OpDump: "dump", OpAncient: "ancient", OpDumpEstimate: "dumpestimate", OpRestore: "restore",
	OpSetVolumeStatus: "setvolumestatus", OpServerControl: "servercontrol",
	OpRestoreDone: "restoredone",
}

func (o Op) String() string {
	if o < OpMax && opNames[o] != "" {
		return opNames[o]
	}
	return "op?"
}

// Empty is a message with no fields.
type Empty struct{}

func (*Empty) Encode(*Encoder) {}
func (*Empty) Decode(*Decoder) {}

// Hello opens a connection (first request on it). Realm must match the
// server's. ClientID identifies a venus across its connections (0 for admin
// tools). The reply tells the server's incarnation: callbacks die with it.
type Hello struct {
	Version  uint32
	Realm    string
	ClientID uint64
	Name     string // host name or tool name, for logs
}

func (m *Hello) Encode(e *Encoder) {
	e.U32(m.Version)
	e.String(m.Realm)
	e.U64(m.ClientID)
	e.String(m.Name)
}
func (m *Hello) Decode(d *Decoder) {
	m.Version = d.U32()
	m.Realm = d.String(MaxRealm)
	m.ClientID = d.U64()
	m.Name = d.String(MaxName)
}

type HelloReply struct {
	Version     uint32
	ServerID    uint32
	Incarnation uint64 // changes at every server start
	ServerTime  int64  // ns since the epoch, for deadline skew
	Nonce       []byte // challenge for OpAdminAuth
}

func (m *HelloReply) Encode(e *Encoder) {
	e.U32(m.Version)
	e.U32(m.ServerID)
	e.U64(m.Incarnation)
	e.I64(m.ServerTime)
	e.Bytes(m.Nonce)
}
func (m *HelloReply) Decode(d *Decoder) {
	m.Version = d.U32()
	m.ServerID = d.U32()
	m.Incarnation = d.U64()
	m.ServerTime = d.I64()
	m.Nonce = d.Bytes(64)
}

// AdminAuth proves knowledge of the realm's admin key: MAC is
// HMAC-SHA256(key, nonce from HelloReply).
type AdminAuth struct{ MAC []byte }

func (m *AdminAuth) Encode(e *Encoder) { e.Bytes(m.MAC) }
func (m *AdminAuth) Decode(d *Decoder) { m.MAC = d.Bytes(64) }

// VolumeType says whether a volume is writable.
type VolumeType uint8

const (
	VolRW     VolumeType = 0
	VolRO     VolumeType = 1
	VolBackup VolumeType = 2
)

// String names t as volutil shows it: rw, ro, backup.
func (t VolumeType) String() string {
	switch t {
	case VolRW:
		return "rw"
	case VolRO:
		return "ro"
	case VolBackup:
		return "backup"
	}
	return fmt.Sprintf("type%d", uint8(t))
}

// Replica is one replica of a volume.
type Replica struct {
	ServerID  uint32
	Addr      string
	ReplicaID uint32 // the volume id of this replica on its server
}

// VolumeInfo describes a (replicated) volume.
type VolumeInfo struct {
	ID       uint32 // the volume id used in FIDs (replicated group id)
	Name     string
	Type     VolumeType
	Root     FID
	Replicas []Replica
	Files    uint64 // vnodes in this server's replica
	Bytes    int64  // allocated data bytes in this server's replica
	Quota    int64  // the most data bytes the volume may hold, in KB (0: no limit)
	MOTD     string // message of the day (cfs setvol -motd)
	Offline  string // message while the volume is offline (cfs setvol -offlinemsg)
}

func (m *VolumeInfo) Encode(e *Encoder) {
	e.U32(m.ID)
	e.String(m.Name)
	e.U8(uint8(m.Type))
	e.FID(m.Root)
	e.Replicas(m.Replicas)
	e.U64(m.Files)
	e.I64(m.Bytes)
	e.I64(m.Quota)
	e.String(m.MOTD)
	e.String(m.Offline)
}

func (m *VolumeInfo) Decode(d *Decoder) {
	m.ID = d.U32()
	m.Name = d.String(MaxVolName)
	m.Type = VolumeType(d.U8())
	m.Root = d.FID()
	m.Replicas = d.Replicas()
	m.Files = d.U64()
	m.Bytes = d.I64()
	m.Quota = d.I64()
	m.MOTD = d.String(MaxVolMessage)
	m.Offline = d.String(MaxVolMessage)
}

// MaxVolMessage bounds a volume's messages (cfs setvol).
const MaxVolMessage = 1024

// VolumeRef names a volume by name or, when Name is empty, by id.
type VolumeRef struct {
	Name string
	ID   uint32
}

func (m *VolumeRef) Encode(e *Encoder) { e.String(m.Name); e.U32(m.ID) }
func (m *VolumeRef) Decode(d *Decoder) { m.Name = d.String(MaxVolName); m.ID = d.U32() }

// RootVolume answers OpGetRootVolume: the name of the realm's root volume
// (empty when none has been created yet).
type RootVolume struct{ Name string }

func (m *RootVolume) Encode(e *Encoder) { e.String(m.Name) }
func (m *RootVolume) Decode(d *Decoder) { m.Name = d.String(MaxVolName) }

// VolumeList answers OpListVolumes.
type VolumeList struct{ Volumes []VolumeInfo }

func (m *VolumeList) Encode(e *Encoder) {
	e.U32(uint32(len(m.Volumes)))
	for i := range m.Volumes {
		m.Volumes[i].Encode(e)
	}
}
func (m *VolumeList) Decode(d *Decoder) {
	n := d.Count(MaxBatch, 30)
	m.Volumes = make([]VolumeInfo, n)
	for i := range m.Volumes {
		m.Volumes[i].Decode(d)
	}
}

// CreateVolume asks a server to create a replica of a volume (admin).
// ID 0 lets the server choose.
type CreateVolume struct {
	Name      string
	ID        uint32
	ReplicaID uint32
	Replicas  []Replica
}

func (m *CreateVolume) Encode(e *Encoder) {
	e.String(m.Name)
	e.U32(m.ID)
	e.U32(m.ReplicaID)
	e.Replicas(m.Replicas)
}
func (m *CreateVolume) Decode(d *Decoder) {
	m.Name = d.String(MaxVolName)
	m.ID = d.U32()
	m.ReplicaID = d.U32()
	m.Replicas = d.Replicas()
}
