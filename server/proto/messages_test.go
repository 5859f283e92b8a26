package proto

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// sampleAttr is an Attr with every field set.
func sampleAttr(n uint32) Attr {
	return Attr{
		FID: FID{1, n, 3}, Type: TypeFile, Mode: 0o644, UID: 1000, GID: 100,
		Nlink: 2, Size: 12345, Blocks: 16384, Mtime: 1700000000123456789,
		Ctime: -5, Rights: 0x7f, AnyRights: 3, Flags: AttrConflict, VV: VV{Counters: [MaxReplicas]uint32{1, 2, 3, 0, 0, 0, 0, 9},
			Store: StoreID{Client: 77, Seq: 88}},
	}
}

var sid = StoreID{Client: 0xdeadbeef, Seq: 42}

// messageSamples has one filled value of every message type in
// messages.go. TestEveryMessageHasASample keeps it complete.
func messageSamples() []Message {
	reps := []Replica{{1, "10.0.0.1:2432", 0x1000001}, {2, "host-b:2432", 0x2000001}}
	vi := VolumeInfo{ID: 0x7f000001, Name: "coda.root", Type: VolBackup,
		Root: FID{0x7f000001, 1, 1}, Replicas: reps, Files: 99, Bytes: 1 << 40}
	return []Message{
		&Empty{},
		&Hello{Version: Version, Realm: "example.org", ClientID: 1 << 60, Name: "venus@web1"},
		&HelloReply{Version: Version, ServerID: 3, Incarnation: 0xabc, ServerTime: 17e17, Nonce: []byte("0123456789abcdef")},
		&AdminAuth{MAC: []byte{1, 2, 3, 4, 5}},
		&vi,
		&VolumeRef{Name: "mail", ID: 5},
		&RootVolume{Name: "coda.root"},
		&VolumeList{Volumes: []VolumeInfo{vi, {Name: "x", Replicas: []Replica{}}}},
		&CreateVolume{Name: "web", ID: 9, ReplicaID: 10, Replicas: reps},
		&FIDReq{FID: FID{1, 2, 3}},
		&AttrReply{Attr: sampleAttr(2)},
		&Validate{Items: []ValidateItem{{FID{1, 2, 3}, sampleAttr(1).VV}, {FID{4, 5, 6}, VV{}}}},
		&ValidateReply{Results: []ValidateResult{{CodeOK, sampleAttr(7)}, {CodeNotFound, Attr{}}}},
		&Lookup{Dir: FID{1, 1, 1}, Name: "Maildir"},
		&ReadDir{Dir: FID{1, 1, 1}, After: "m", Max: 1000},
		&ReadDirReply{Dir: sampleAttr(1), Entries: []DirEntry{{"a", FID{1, 2, 2}, TypeFile}, {"sub", FID{1, 3, 3}, TypeDir}}, More: true},
		&Store{FID: FID{1, 2, 3}, Size: 1 << 33, Mtime: 123, StoreID: sid},
		&Create{Dir: FID{1, 1, 1}, Name: "link", Mode: 0o777, UID: 1, GID: 2, Mtime: 3, Target: "../x/y", StoreID: sid, FID: FID{1, 9, 9}},
		&DirOpReply{Dir: sampleAttr(1), Attr: sampleAttr(2)},
		&Remove{Dir: FID{1, 1, 1}, Name: "old", StoreID: sid},
		&Rename{FromDir: FID{1, 1, 1}, FromName: "tmp.1", ToDir: FID{1, 4, 4}, ToName: "new.1", StoreID: sid},
		&RenameReply{FromDir: sampleAttr(1), ToDir: sampleAttr(4), Attr: sampleAttr(5), Replaced: Attr{}},
		&Link{Dir: FID{1, 1, 1}, Name: "hard", Target: FID{1, 9, 9}, StoreID: sid},
		&ReadlinkReply{Target: "/coda/example.org/x"},
		&SetAttr{FID: FID{1, 2, 3}, Mask: SetMode | SetSize, Mode: 0o600, UID: 5, GID: 6, Size: 0, Mtime: 8, StoreID: sid},
		&CallbackBreak{FIDs: []FID{{1, 2, 3}, {1, 0, 0}}},
		&EndOfData{Size: 64 << 20, Sum: 0x1234567890abcdef},
		&Login{User: "www-data", Password: []byte("s3cret")},
		&TokenInfo{Token: []byte{9, 8, 7}, UserID: 33, User: "www-data", Expires: 1 << 62},
		&BindToken{Slot: 7, Token: []byte{1, 2, 3}},
		&Identity{UserID: 33, User: "www-data", Expires: 5, CPS: []int32{33, -101, -300}},
		&ChangePassword{User: "jan", Old: []byte("a"), New: []byte("b")},
		&SetPassword{User: "jan", Password: []byte("pw")},
		&PDBCommand{Args: []string{"ag", "-300", "33"}},
		&Text{Text: "line 1\nline 2\n"},
		&ACLReply{Dir: sampleAttr(1), Entries: []ACLEntry{{-204, "System:Administrators", 127, false}, {33, "www-data", 16, true}}},
		&SetACL{Dir: FID{1, 1, 1}, Clear: true, Entries: []ACLEntry{{0, "www-data", 31, false}}, StoreID: sid},
		&DBFetch{Have: []DBVersion{{"pdb", 7}, {"passwd", 3}}},
		&CreateVolumeRep{Name: "www", Servers: []string{"1", "10.0.0.2:2432"}},
		&COP2{StoreID: sid, Updated: 0b101, FIDs: []FID{{1, 2, 3}}, Confirmed: 0b001},
		&GetVnode{FID: FID{1, 2, 3}, Data: true},
		&VnodeStates{States: []VnodeState{{FID: FID{1, 2, 3}, Exists: true, Type: TypeFile, Size: 3, Record: []byte{2}, Data: []byte("abc")},
			{FID: FID{1, 5, 6}, Record: []byte{2}}}},
		&InstallReply{Results: []ResolveResult{{}, {Outcome: ResolveIncomplete, Msg: "stale"}}},
		&Resync{Volume: 0x7f000001, Phase: 1, After: 77},
		&LogParms{Volume: 0x7f000001, LogSize: 4096, Used: 12},
		&SetPolicy{Dir: FID{1, 1, 1}, Policy: PolicyNewest, StoreID: sid},
		&PolicyReply{Own: PolicyInherit, Effective: PolicyKeepAll, From: FID{1, 1, 1}},
		&Repair{FID: FID{1, 4, 4}, Dir: FID{1, 1, 1}, Name: "index.html", Mode: RepairKeep, Server: 2},
		&MergeActions{Dir: FID{1, 1, 1}, Expect: VV{Store: sid}, VV: VV{Counters: [MaxReplicas]uint32{3, 3}},
			Actions: []MergeAction{{Delete: true, Name: "a", FID: FID{1, 2, 2}, Type: TypeFile}, {Name: "b", FID: FID{1, 4, 4}, Type: TypeDir},
				{Name: "c", FID: FID{1, 6, 6}, Type: TypeDir, Conflict: true, Versions: []DirEntry{{Name: "1", FID: FID{1, 8, 8}, Type: TypeFile}}}}, Final: true},
		&ResyncReply{Phase: 1, After: 99, Done: true, Scanned: 100, Copied: 7, Bytes: 1 << 30, Total: 1000, Problems: []string{"x: diverged"}},
		&ResolveReply{Results: []ResolveResult{{Outcome: ResolveDone}, {Outcome: ResolveConflict, Msg: "diverged"}}},
		&VnodeState{FID: FID{1, 2, 3}, Exists: true, VV: VV{Counters: [MaxReplicas]uint32{1, 2}, Store: sid},
			Type: TypeDir, Parent: FID{1, 1, 1}, Size: 7, Record: []byte{2, 1},
			Entries: []DirEntry{{Name: "a", FID: FID{1, 4, 5}, Type: TypeFile}}, Expect: VV{Store: sid}, HasExpect: true, Data: []byte{1},
			Log: []DirLogOp{{Kind: 2, Store: sid, Name: "x", FID: FID{1, 9, 9}, Type: TypeFile, ObjVV: VV{Store: sid}, Peer: FID{1, 1, 1}, PeerName: "y"}}, LogTruncated: true, Policy: PolicyNewest, Mtime: 77},
		&AllocFIDs{Volume: 0x7f000001, Count: 32},
		&FIDList{FIDs: []FID{{1, 2, 3}, {1, 4, 5}}},
		&ListVnodes{Volume: 0x7f000001, After: 1, Max: 100, Quick: true},
		&ListVnodesReply{Vnodes: []VnodeSummary{{FID: FID{1, 2, 3}, Type: TypeFile, Mode: 0o644, UID: 1, GID: 204, Nlink: 1, Size: 5, VV: VV{Counters: [MaxReplicas]uint32{1, 2}}, Sum: 99}}, More: true},
		&Join{ServerID: 2, Addr: "10.0.0.2:2432", PubKey: []byte{1, 2}, Nonce: []byte{3}, MAC: []byte{4, 5}},
		&JoinReply{Cert: []byte("-----BEGIN"), AdminKey: []byte("00ff\n"), Proof: []byte{6}},
		&DBFetchReply{DBs: []DBSnapshot{{"pdb", 8, []byte("user admin 1\n")}, {"passwd", 4, []byte{1, 2}}}},
		&Reintegrate{Volume: 0x7f000001, StoreID: sid, Records: []ReintRecord{{Op: OpCreate, Req: Marshal(&Create{Dir: FID{1, 1, 1}, Name: "a"})}, {Op: OpStore, Req: []byte{}}}},
		&ReintegrateReply{Refused: 2, Code: CodeExists, Msg: "exists", Attrs: []Attr{sampleAttr(1)}},
		&VolumeLock{Name: "web", ID: 0x7f000001, Timeout: 300, Unlock: true, Local: true},
		&CloneVolume{Source: 0x7f000001, Name: "web.backup", ID: 0x7f000002, ReplicaID: 0x1000002, Type: VolBackup,
			Replicas: []Replica{{ServerID: 1, Addr: "10.0.0.1:2432", ReplicaID: 0x1000002}}, Frozen: 1 << 60},
		&Backup{Volume: "web", Clone: "web.backup", Type: VolBackup, KeepLocked: true},
		&DumpRequest{Volume: "web.backup", Level: 2, Session: 77},
		&DumpChunk{Session: 77, Done: true, Level: 2, BaseLevel: 1},
		&Ancient{Volume: "web", ID: 0x7f000001, Level: 1, Frozen: 1 << 60, Local: true},
		&RestoreChunk{Volume: 0x7f000003, Session: 9, Final: true},
		&RestoreReply{Session: 9, Dumps: 3, Files: 1000},
		&SetVolumeStatus{Volume: 0x7f000001, Set: SetQuota | SetMOTD, Quota: 1 << 20, MOTD: "maintenance at 5", Offline: "back soon"},
	}
}

// newLike returns a new zero message of m's type.
func newLike(m Message) Message {
	return reflect.New(reflect.TypeOf(m).Elem()).Interface().(Message)
}

func TestMessagesRoundTrip(t *testing.T) {
	for _, m := range messageSamples() {
		name := reflect.TypeOf(m).Elem().Name()
		b := Marshal(m)
		got := newLike(m)
		if err := Unmarshal(b, got); err != nil {
			t.Errorf("%s: decode: %v", name, err)
			continue
		}
		if !reflect.DeepEqual(got, m) {
			t.Errorf("%s: round trip changed the value:\n got %+v\nwant %+v", name, got, m)
		}
		if again := Marshal(got); string(again) != string(b) {
			t.Errorf("%s: re-encoding differs", name)
		}
	}
}

// TestMessagesRejectTruncation: every proper prefix of an encoding fails
// to decode (and never panics), and so does a trailing byte.
func TestMessagesRejectTruncation(t *testing.T) {
	for _, m := range messageSamples() {
		name := reflect.TypeOf(m).Elem().Name()
		b := Marshal(m)
		for i := 0; i < len(b); i++ {
			if err := Unmarshal(b[:i], newLike(m)); err == nil {
				t.Errorf("%s: prefix of %d/%d bytes decoded without error", name, i, len(b))
				break
			}
		}
		if err := Unmarshal(append(b, 0), newLike(m)); err == nil {
			t.Errorf("%s: trailing byte accepted", name)
		}
	}
}

func TestDecodeRejectsHostileCounts(t *testing.T) {
	// A count of 2^32-1 callback FIDs in a 4-byte message must fail
	// before allocating.
	var e Encoder
	e.U32(0xffffffff)
	var cb CallbackBreak
	if err := Unmarshal(e.B, &cb); err == nil {
		t.Fatal("hostile count accepted")
	}
	bad := Marshal(&Lookup{Dir: FID{1, 1, 1}, Name: "a/b"})
	if err := Unmarshal(bad, &Lookup{}); err == nil {
		t.Fatal("name with a slash accepted")
	}
}

// TestEveryMessageHasASample parses the package's sources and checks that
// every type with a Decode method is in messageSamples, so a message added
// later is round-tripped and fuzzed too.
func TestEveryMessageHasASample(t *testing.T) {
	fset := token.NewFileSet()
	names, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var declared []string
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Name.Name != "Decode" || fn.Recv == nil {
				continue
			}
			if star, ok := fn.Recv.List[0].Type.(*ast.StarExpr); ok {
				declared = append(declared, star.X.(*ast.Ident).Name)
			}
		}
	}
	have := map[string]bool{}
	for _, m := range messageSamples() {
		have[reflect.TypeOf(m).Elem().Name()] = true
	}
	sort.Strings(declared)
	for _, name := range declared {
		if !have[name] {
			t.Errorf("message %s has no sample in messageSamples", name)
		}
	}
	if len(declared) < 20 {
		t.Fatalf("found only %d message types; the parser check is broken", len(declared))
	}
}
