package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/user"
	"strconv"
	"time"

	"github.com/coda-fs/coda/client/control"
	"github.com/coda-fs/coda/client/venus"
	"github.com/coda-fs/coda/server/proto"
)

// The operations venus serves on its control socket. Tokens belong to the
// calling uid, which comes from the socket's peer credentials; only root
// may name another uid (clog -as).
const (
	OpRealm       = "realm"         // → RealmInfo
	OpSetToken    = "settoken"      // SetTokenArgs → TokenReply
	OpTokens      = "tokens"        // → []TokenReply (zero or one)
	OpGetToken    = "gettoken"      // → proto.TokenInfo of the caller
	OpDropTokens  = "droptokens"    // → DropReply
	OpListACL     = "listacl"       // ACLArgs → []proto.ACLEntry
	OpSetACL      = "setacl"        // ACLArgs → nothing
	OpGetFID      = "getfid"        // ACLArgs (Ino) → FIDReply
	OpVolume      = "volume"        // ACLArgs (Ino) → venus.VolumeStatus
	OpCheck       = "checkservers"  // CheckArgs → []venus.ServerStatus
	OpGetPath     = "getpath"       // GetPathArgs → string
	OpDisconnect  = "disconnect"    // CheckArgs → nothing (root only)
	OpReconnect   = "reconnect"     // CheckArgs → nothing (root only)
	OpMkMount     = "mkmount"       // EntryArgs → nothing
	OpLsMount     = "lsmount"       // EntryArgs → volume name
	OpRmMount     = "rmmount"       // EntryArgs → nothing
	OpRepair      = "repair"        // RepairArgs → string (what was done)
	OpExpand      = "expand"        // EntryArgs → string (what it shows)
	OpCollapse    = "collapse"      // EntryArgs → nothing
	OpSetPolicy   = "setpolicy"     // PolicyArgs → nothing
	OpSetVolume   = "setvolume"     // SetVolumeArgs → proto.VolumeInfo
	OpGetPolicy   = "getpolicy"     // PolicyArgs (Ino) → PolicyArgs
	OpEvents      = "events"        // EventsArgs → venus.EventBatch
	OpListLocal   = "listlocal"     // LocalArgs → LocalReply
	OpDiscard     = "discardlocal"  // LocalArgs → int (how many went)
	OpPreserve    = "preservelocal" // LocalArgs → int (how many will go over the servers' state)
	OpWD          = "wd"            // WDArgs → int (volumes set; root only)
	OpStrong      = "strong"        // WDArgs → int (volumes set; root only)
	OpAdaptive    = "adaptive"      // WDArgs → int (volumes set; root only)
	OpForce       = "fr"            // WDArgs → int (records left)
	OpFlushObj    = "flushobject"   // LocalArgs (Ino) → nothing
	OpCheckpoint  = "checkpointml"  // LocalArgs (Ino, Dir) → string (the archive; root only)
	OpFlushVol    = "flushvolume"   // LocalArgs (All: force) → FlushReply
	OpHoardAdd    = "hoardadd"      // HoardArgs → int (entries added)
	OpHoardDelete = "hoarddelete"   // HoardArgs (Entry.Path) → int (entries removed)
	OpHoardList   = "hoardlist"     // HoardArgs → []venus.HoardEntry
	OpHoardWalk   = "hoardwalk"     // HoardArgs → venus.HoardReport
	OpHoardVerify = "hoardverify"   // HoardArgs → []string
	OpHoardClear  = "hoardclear"    // HoardArgs (UID: root only) → int
	OpStatus      = "status"        // → StatusReply
)

// StatusReply is venus at a glance (cfs status): the realm, which servers
// it reaches, every volume it knows, and the caller's token.
type StatusReply struct {
	Realm   string                `json:"realm"`
	Servers []venus.ServerUp      `json:"servers"`
	Volumes []venus.VolumeSummary `json:"volumes"`
	Tokens  []TokenReply          `json:"tokens"`
	Walk    venus.WalkProgress    `json:"walk"` // a hoard walk running
}

// WDArgs name volumes by inode numbers of objects in them (none: every
// volume venus knows) and, for OpWD, the age of the changes to send and
// the length of a sending round, in seconds.
type WDArgs struct {
	Inos []uint64 `json:"inos,omitempty"`
	Age  float64  `json:"age,omitempty"`
	Time float64  `json:"time,omitempty"`
}

// LocalArgs name a volume by the inode number of an object in it; All
// discards every logged update instead of the oldest.
type LocalArgs struct {
	Ino uint64 `json:"ino"`
	All bool   `json:"all,omitempty"`
	Dir string `json:"dir,omitempty"` // OpCheckpoint: where the archive goes
}

// FlushReply says how many objects a volume flush dropped and kept.
type FlushReply struct {
	Flushed int `json:"flushed"`
	Kept    int `json:"kept"`
}

// LocalReply lists a volume's logged updates and why they wait.
type LocalReply struct {
	Records []venus.LocalRecord `json:"records"`
	Waiting string              `json:"waiting,omitempty"`
}

// EventsArgs ask for the events after seq After, waiting up to
// eventsWait for one unless NoWait; with Latest, for none, only where the
// stream stands.
type EventsArgs struct {
	After  uint64 `json:"after"`
	Latest bool   `json:"latest,omitempty"`
	NoWait bool   `json:"nowait,omitempty"`
}

// eventsWait is how long an events request waits for an event: well under
// the control socket's idle and call timeouts.
const eventsWait = 20 * time.Second

// SetVolumeArgs name an object of a volume by inode number and what to
// set of the volume (cfs setquota, setvol).
type SetVolumeArgs struct {
	Ino    uint64                `json:"ino"`
	Status proto.SetVolumeStatus `json:"status"`
}

// PolicyArgs name a directory by inode number and, for OpSetPolicy, the
// policy (proto.PolicyManual…); OpGetPolicy answers with its own policy,
// the one in force (Effective) and the path of the directory it comes from.
type PolicyArgs struct {
	Ino       uint64 `json:"ino"`
	Policy    uint8  `json:"policy"`
	Effective uint8  `json:"effective,omitempty"`
	From      string `json:"from,omitempty"`
}

// RepairArgs name a conflict by its directory's inode number and name, and
// how to repair it (venus.RepairKeep, RepairRemove, RepairKeepAll).
type RepairArgs struct {
	Dir    uint64 `json:"dir"`
	Name   string `json:"name"`
	Mode   uint8  `json:"mode"`
	Server string `json:"server,omitempty"`
}

// EntryArgs name an object by its directory's inode number and its name
// there (a mount point, a conflict to expand), and for OpMkMount the volume
// to mount.
type EntryArgs struct {
	Dir    uint64 `json:"dir"`
	Name   string `json:"name"`
	Volume string `json:"volume,omitempty"`
}

// FIDReply is an object's status (FID, version vector…) and its realm.
type FIDReply struct {
	Attr  proto.Attr `json:"attr"`
	Realm string     `json:"realm"`
}

// GetPathArgs name an object by FID.
type GetPathArgs struct {
	FID proto.FID `json:"fid"`
}

// CheckArgs name the servers to probe (none: venus's servers).
type CheckArgs struct {
	Servers []string `json:"servers,omitempty"`
}

// ACLArgs name a directory by its inode number on the mount (tools stat
// the path) and, for OpSetACL, the edits.
type ACLArgs struct {
	Ino     uint64           `json:"ino"`
	Clear   bool             `json:"clear,omitempty"`
	Entries []proto.ACLEntry `json:"entries,omitempty"`
}

// RealmInfo tells tools how to reach the realm venus serves.
type RealmInfo struct {
	Realm   string   `json:"realm"`
	Servers []string `json:"servers"`
	CAPEM   string   `json:"ca_pem"`
}

// SetTokenArgs hands venus a token; AsUID (root only) binds it to another
// local uid.
type SetTokenArgs struct {
	AsUID *uint32         `json:"as_uid,omitempty"`
	Token proto.TokenInfo `json:"token"`
}

// TokenReply describes a token venus holds.
type TokenReply struct {
	LocalUID uint32    `json:"local_uid"`
	Local    string    `json:"local"`
	UserID   int32     `json:"user_id"`
	User     string    `json:"user"`
	Realm    string    `json:"realm"`
	Expires  time.Time `json:"expires"`
	Expired  bool      `json:"expired"`
}

// DropReply answers OpDropTokens.
type DropReply struct {
	Dropped bool `json:"dropped"`
}

// controlHandler serves the control socket of v.
func controlHandler(v *venus.Venus) control.Handler {
	return func(ctx context.Context, p control.Peer, op string, raw json.RawMessage) (any, error) {
		switch op {
		case OpRealm:
			pem, err := os.ReadFile(v.CAFile())
			if err != nil {
				return nil, fmt.Errorf("realm CA: %w", err)
			}
			return RealmInfo{Realm: v.Realm(), Servers: v.Servers(), CAPEM: string(pem)}, nil
		case OpSetToken:
			var a SetTokenArgs
			if err := json.Unmarshal(raw, &a); err != nil {
				return nil, fmt.Errorf("settoken: %v", err)
			}
			uid := p.UID
			if a.AsUID != nil && *a.AsUID != p.UID {
				if p.UID != 0 {
					return nil, errors.New("only root may set tokens for another user (-as)")
				}
				uid = *a.AsUID
			}
			st, err := v.SetToken(ctx, uid, a.Token)
			if err != nil {
				return nil, err
			}
			return tokenReply(v, st), nil
		case OpTokens:
			st, ok := v.Tokens(p.UID)
			if !ok {
				return []TokenReply{}, nil
			}
			return []TokenReply{tokenReply(v, st)}, nil
		case OpStatus:
			r := StatusReply{Realm: v.Realm(), Servers: v.ServersUp(), Volumes: v.VolumeSummaries(), Tokens: []TokenReply{},
				Walk: v.HoardWalkProgress()}
			if st, ok := v.Tokens(p.UID); ok {
				r.Tokens = append(r.Tokens, tokenReply(v, st))
			}
			return r, nil
		case OpGetToken:
			t, ok := v.Token(p.UID)
			if !ok {
				return nil, fmt.Errorf("no valid token for uid %d; run coda clog first", p.UID)
			}
			return t, nil
		case OpDropTokens:
			return DropReply{Dropped: v.DropTokens(p.UID)}, nil
		case OpGetFID, OpVolume:
			var a ACLArgs
			if err := json.Unmarshal(raw, &a); err != nil {
				return nil, fmt.Errorf("%s: %v", op, err)
			}
			c := venus.Caller{UID: p.UID, GID: p.GID, PID: p.PID}
			if op == OpGetFID {
				attr, err := v.FIDInfo(ctx, c, a.Ino)
				return FIDReply{Attr: attr, Realm: v.Realm()}, err
			}
			return v.VolumeOf(ctx, c, a.Ino)
		case OpCheck:
			var a CheckArgs
			if len(raw) > 0 && string(raw) != "null" {
				if err := json.Unmarshal(raw, &a); err != nil {
					return nil, fmt.Errorf("%s: %v", op, err)
				}
			}
			return v.CheckServers(ctx, a.Servers), nil
		case OpGetPath:
			var a GetPathArgs
			if err := json.Unmarshal(raw, &a); err != nil {
				return nil, fmt.Errorf("%s: %v", op, err)
			}
			return v.Path(ctx, venus.Caller{UID: p.UID, GID: p.GID, PID: p.PID}, a.FID)
		case OpDisconnect, OpReconnect:
			if p.UID != 0 {
				return nil, fmt.Errorf("cfs %s is for root only: it cuts every user of this venus off", op)
			}
			var a CheckArgs
			if len(raw) > 0 && string(raw) != "null" {
				if err := json.Unmarshal(raw, &a); err != nil {
					return nil, fmt.Errorf("%s: %v", op, err)
				}
			}
			if op == OpDisconnect {
				v.Disconnect(a.Servers)
			} else {
				v.Reconnect(a.Servers)
			}
			return struct{}{}, nil
		case OpMkMount, OpLsMount, OpRmMount:
			var a EntryArgs
			if err := json.Unmarshal(raw, &a); err != nil {
				return nil, fmt.Errorf("%s: %v", op, err)
			}
			c := venus.Caller{UID: p.UID, GID: p.GID, PID: p.PID}
			switch op {
			case OpMkMount:
				return struct{}{}, v.MakeMount(ctx, c, a.Dir, a.Name, a.Volume)
			case OpLsMount:
				return v.MountPoint(ctx, c, a.Dir, a.Name)
			}
			return struct{}{}, v.RemoveMount(ctx, c, a.Dir, a.Name)
		case OpWD, OpStrong, OpForce, OpAdaptive:
			var a WDArgs
			if err := json.Unmarshal(raw, &a); err != nil {
				return nil, fmt.Errorf("%s: %v", op, err)
			}
			if op == OpForce {
				return v.ForceReintegrate(ctx, a.Inos)
			}
			if p.UID != 0 {
				return nil, fmt.Errorf("cfs %s changes how every user's updates go: root only", op)
			}
			if op == OpAdaptive {
				return v.Adaptive(a.Inos)
			}
			secs := func(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
			return v.WriteDisconnect(a.Inos, op == OpWD, secs(a.Age), secs(a.Time))
		case OpCheckpoint:
			var a LocalArgs
			if err := json.Unmarshal(raw, &a); err != nil {
				return nil, fmt.Errorf("%s: %v", op, err)
			}
			if p.UID != 0 {
				return nil, fmt.Errorf("cfs checkpointml writes where it is told as venus: root only")
			}
			return v.CheckpointML(a.Ino, a.Dir)
		case OpFlushObj, OpFlushVol:
			var a LocalArgs
			if err := json.Unmarshal(raw, &a); err != nil {
				return nil, fmt.Errorf("%s: %v", op, err)
			}
			if op == OpFlushObj {
				return struct{}{}, v.FlushObject(a.Ino)
			}
			n, kept, err := v.FlushVolume(a.Ino, venus.Caller{UID: p.UID, GID: p.GID, PID: p.PID}, a.All)
			return FlushReply{Flushed: n, Kept: kept}, err
		case OpListLocal, OpDiscard, OpPreserve:
			var a LocalArgs
			if err := json.Unmarshal(raw, &a); err != nil {
				return nil, fmt.Errorf("%s: %v", op, err)
			}
			switch op {
			case OpDiscard:
				return v.DiscardLocal(a.Ino, venus.Caller{UID: p.UID, GID: p.GID, PID: p.PID}, a.All)
			case OpPreserve:
				return v.PreserveLocal(a.Ino, venus.Caller{UID: p.UID, GID: p.GID, PID: p.PID}, a.All)
			}
			recs, why, err := v.ListLocal(a.Ino)
			return LocalReply{Records: recs, Waiting: why}, err
		case OpHoardAdd, OpHoardDelete, OpHoardList, OpHoardWalk, OpHoardVerify, OpHoardClear:
			var a HoardArgs
			if err := json.Unmarshal(raw, &a); err != nil {
				return nil, fmt.Errorf("%s: %v", op, err)
			}
			c := venus.Caller{UID: p.UID, GID: p.GID, PID: p.PID}
			switch op {
			case OpHoardAdd:
				return v.HoardAdd(ctx, c, a.Entry)
			case OpHoardDelete:
				return v.HoardDelete(c, a.Entry.Path)
			case OpHoardList:
				return v.HoardList(c), nil
			case OpHoardWalk:
				return v.HoardWalk(ctx)
			case OpHoardVerify:
				return v.HoardVerify(c), nil
			}
			if a.UID != nil && p.UID != 0 {
				return nil, errors.New("only root may clear another user's hoard entries")
			}
			return v.HoardClear(c, a.UID), nil
		case OpEvents:
			var a EventsArgs
			if err := json.Unmarshal(raw, &a); err != nil {
				return nil, fmt.Errorf("%s: %v", op, err)
			}
			wait := eventsWait
			if a.NoWait {
				wait = 0
			}
			return v.Events(ctx, venus.Caller{UID: p.UID, GID: p.GID, PID: p.PID}, a.After, a.Latest, wait)
		case OpExpand, OpCollapse:
			var a EntryArgs
			if err := json.Unmarshal(raw, &a); err != nil {
				return nil, fmt.Errorf("%s: %v", op, err)
			}
			c := venus.Caller{UID: p.UID, GID: p.GID, PID: p.PID}
			if op == OpExpand {
				return v.Expand(ctx, c, a.Dir, a.Name)
			}
			return struct{}{}, v.Collapse(ctx, c, a.Dir, a.Name)
		case OpRepair:
			var a RepairArgs
			if err := json.Unmarshal(raw, &a); err != nil {
				return nil, fmt.Errorf("%s: %v", op, err)
			}
			return v.Repair(ctx, venus.Caller{UID: p.UID, GID: p.GID, PID: p.PID}, a.Dir, a.Name, a.Mode, a.Server)
		case OpSetVolume:
			var a SetVolumeArgs
			if err := json.Unmarshal(raw, &a); err != nil {
				return nil, fmt.Errorf("%s: %v", op, err)
			}
			return v.SetVolumeStatus(ctx, venus.Caller{UID: p.UID, GID: p.GID, PID: p.PID}, a.Ino, a.Status)
		case OpSetPolicy, OpGetPolicy:
			var a PolicyArgs
			if err := json.Unmarshal(raw, &a); err != nil {
				return nil, fmt.Errorf("%s: %v", op, err)
			}
			c := venus.Caller{UID: p.UID, GID: p.GID, PID: p.PID}
			if op == OpSetPolicy {
				return struct{}{}, v.SetPolicy(ctx, c, a.Ino, a.Policy)
			}
			own, eff, from, err := v.Policy(ctx, c, a.Ino)
			return PolicyArgs{Ino: a.Ino, Policy: own, Effective: eff, From: from}, err
		case OpListACL, OpSetACL:
			var a ACLArgs
			if err := json.Unmarshal(raw, &a); err != nil {
				return nil, fmt.Errorf("%s: %v", op, err)
			}
			c := venus.Caller{UID: p.UID, GID: p.GID, PID: p.PID}
			if op == OpListACL {
				return v.GetACL(ctx, c, a.Ino)
			}
			return struct{}{}, v.SetACL(ctx, c, a.Ino, a.Clear, a.Entries)
		}
		return nil, fmt.Errorf("unknown control operation %q", op)
	}
}

func tokenReply(v *venus.Venus, st venus.TokenStatus) TokenReply {
	local := strconv.FormatUint(uint64(st.LocalUID), 10)
	if u, err := user.LookupId(local); err == nil {
		local = u.Username
	}
	return TokenReply{LocalUID: st.LocalUID, Local: local, UserID: st.UserID, User: st.User,
		Realm: v.Realm(), Expires: st.Expires, Expired: st.Expired}
}
