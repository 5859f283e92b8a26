package fileserver

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coda-fs/coda/server/pki"
	"github.com/coda-fs/coda/server/proto"
	"github.com/coda-fs/coda/server/rpc"
	"github.com/coda-fs/coda/server/store"
	"github.com/coda-fs/coda/server/volume"
)

// Config is what a file server needs.
type Config struct {
	// Shutdown, when set, stops the server cleanly (volutil shutdown).
	Shutdown func()
	// ReopenLog, when set, reopens the server's log file (volutil swaplog).
	ReopenLog  func() error
	Realm      string
	ServerID   uint32
	Addr       string // the address clients reach this server at
	RootVolume string // name of the realm's root volume
	AdminKey   []byte // the realm's admin key (volutil.key)
	Auth       Authority
	Names      Names
	DB         *store.DB
	Volumes    *volume.Set
	// Locate, when set, finds a volume this server holds no replica of in
	// the realm's volume location database (clients may ask any server
	// where a volume lives).
	Locate func(ref proto.VolumeRef) (proto.VolumeInfo, bool)
	// DialPeer connects to another server of the realm with the admin key
	// (resolution reads and installs replicas' states there).
	DialPeer func(ctx context.Context, addr string) (*rpc.Conn, error)
	Logger   *slog.Logger
}

// Server serves the file and volume RPCs of one server.
type Server struct {
	cfg         Config
	log         *slog.Logger
	cb          *callbacks
	peers       peers
	announced   sync.Map // conflicts logged already (resolve.go)
	incarnation uint64
	stats       [proto.OpMax]atomic.Uint64
	resolved    [8]atomic.Uint64 // resolutions asked for by clients, by outcome
	dumps       sessions[*dumpSession]
	restores    sessions[*restoreSession]
}

// New returns a file server; Register its handlers on a mux and use
// Accept and ConnClosed as the rpc server's hooks.
func New(cfg Config) *Server {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Server{cfg: cfg, log: log, cb: newCallbacks(), incarnation: uint64(time.Now().UnixNano()),
		peers: peers{dial: cfg.DialPeer}, dumps: sessions[*dumpSession]{what: "dump", idle: dumpIdle},
		restores: sessions[*restoreSession]{what: "restore", idle: dumpIdle}}
}

// client is the per-connection state of a venus or an admin tool.
type client struct {
	conn     *rpc.Conn
	id       uint64 // venus's client id; 0 for admin tools
	name     string
	admin    bool
	nonce    []byte
	log      *slog.Logger
	promises map[proto.FID]struct{} // guarded by callbacks.mu

	mu     sync.Mutex
	idents map[uint32]identity // identity slots bound by BindToken
}

// Accept checks a new connection's realm (package rpc already refused
// another protocol version) and prepares its state.
func (s *Server) Accept(c *rpc.Conn, h *proto.Hello) (proto.HelloReply, error) {
	if h.Realm != s.cfg.Realm {
		return proto.HelloReply{}, fmt.Errorf("this server serves realm %q, not %q", s.cfg.Realm, h.Realm)
	}
	nonce := make([]byte, 32)
	if _, err := rand.Read(nonce); err != nil {
		return proto.HelloReply{}, err
	}
	cl := &client{conn: c, id: h.ClientID, name: fmt.Sprintf("%s@%s", h.Name, c.RemoteAddr()),
		nonce: nonce, log: s.log, promises: map[proto.FID]struct{}{}, idents: map[uint32]identity{}}
	c.Peer = cl
	s.log.Debug("connection", "client", cl.name)
	return proto.HelloReply{Version: proto.Version, ServerID: s.cfg.ServerID,
		Incarnation: s.incarnation, ServerTime: time.Now().UnixNano(), Nonce: nonce}, nil
}

// ConnClosed drops the promises of a connection that died.
func (s *Server) ConnClosed(c *rpc.Conn) {
	if cl, ok := c.Peer.(*client); ok {
		s.cb.Drop(cl)
	}
}

// Incarnation identifies this run of the server; promises die with it.
func (s *Server) Incarnation() uint64 { return s.incarnation }

// CallbackCount returns the number of promises held by clients.
func (s *Server) CallbackCount() int { return s.cb.Count() }

// OpCount returns how many requests of op were served.
func (s *Server) OpCount(op proto.Op) uint64 { return s.stats[op].Load() }

// checkAdmin verifies an AdminAuth MAC against the realm's admin key.
func (s *Server) checkAdmin(cl *client, mac []byte) error {
	if len(s.cfg.AdminKey) == 0 {
		return proto.Errorf(proto.CodeAccess, "this server has no admin key")
	}
	if !pki.CheckAdminMAC(s.cfg.AdminKey, cl.nonce, mac) {
		s.log.Warn("admin authentication failed", "client", cl.name)
		return proto.Errorf(proto.CodeAccess, "admin key rejected")
	}
	cl.admin = true
	return nil
}

// handler adapts a typed handler: it decodes the request, finds the
// client and counts the call.
func handler[Req any, P interface {
	*Req
	proto.Message
}](s *Server, fn func(ctx context.Context, cl *client, r *rpc.Request, req P) (proto.Message, *rpc.Source, error)) rpc.Handler {
	return func(ctx context.Context, r *rpc.Request) (proto.Message, *rpc.Source, error) {
		if r.Op < proto.OpMax {
			s.stats[r.Op].Add(1)
		}
		var m Req
		if err := proto.Unmarshal(r.Body, P(&m)); err != nil {
			return nil, nil, proto.Errorf(proto.CodeProtocol, fmt.Sprintf("malformed %s request: %v", r.Op, err))
		}
		cl, ok := r.Conn.Peer.(*client)
		if !ok {
			return nil, nil, proto.Errorf(proto.CodeProtocol, "no hello on this connection")
		}
		return fn(ctx, cl, r, P(&m))
	}
}

// Register installs every handler on mux.
func (s *Server) Register(mux *rpc.Mux) {
	mux.Handle(proto.OpPing, handler(s, s.ping))
	mux.Handle(proto.OpAdminAuth, handler(s, s.adminAuth))
	mux.Handle(proto.OpBindToken, handler(s, s.bindToken))
	mux.Handle(proto.OpGetRootVolume, handler(s, s.getRootVolume))
	mux.Handle(proto.OpGetVolumeInfo, handler(s, s.getVolumeInfo))
	mux.Handle(proto.OpCreateVolume, handler(s, s.createVolume))
	mux.Handle(proto.OpListVolumes, handler(s, s.listVolumes))
	mux.Handle(proto.OpDeleteVolume, handler(s, s.deleteVolume))
	mux.Handle(proto.OpListVnodes, handler(s, s.listVnodes))
	mux.Handle(proto.OpGetAttr, handler(s, s.getAttr))
	mux.Handle(proto.OpValidate, handler(s, s.validate))
	mux.Handle(proto.OpLookup, handler(s, s.lookup))
	mux.Handle(proto.OpReadDir, handler(s, s.readDir))
	mux.Handle(proto.OpReadlink, handler(s, s.readlink))
	mux.Handle(proto.OpGetPath, handler(s, s.getPath))
	mux.Handle(proto.OpAllocFIDs, handler(s, s.allocFIDs))
	mux.Handle(proto.OpCOP2, handler(s, s.cop2))
	mux.Handle(proto.OpResolve, handler(s, s.resolveFIDs))
	mux.Handle(proto.OpGetVnode, handler(s, s.getVnode))
	mux.Handle(proto.OpInstallVnode, handler(s, s.installVnode))
	mux.Handle(proto.OpGetVnodes, handler(s, s.getVnodes))
	mux.Handle(proto.OpInstallVnodes, handler(s, s.installVnodes))
	mux.Handle(proto.OpResync, handler(s, s.resync))
	mux.Handle(proto.OpApplyMerge, handler(s, s.applyMergeReq))
	mux.Handle(proto.OpRepair, handler(s, s.repair))
	mux.Handle(proto.OpSetLogParms, handler(s, s.setLogParms))
	mux.Handle(proto.OpLockVolume, handler(s, s.lockVolume))
	mux.Handle(proto.OpCloneVolume, handler(s, s.cloneVolume))
	mux.Handle(proto.OpDump, handler(s, s.dump))
	mux.Handle(proto.OpAncient, handler(s, s.ancient))
	mux.Handle(proto.OpDumpEstimate, handler(s, s.dumpEstimate))
	mux.Handle(proto.OpRestore, handler(s, s.restore))
	mux.Handle(proto.OpSetVolumeStatus, handler(s, s.setVolumeStatus))
	mux.Handle(proto.OpServerControl, handler(s, s.serverControl))
	mux.Handle(proto.OpSetPolicy, handler(s, s.setPolicy))
	mux.Handle(proto.OpGetPolicy, handler(s, s.getPolicy))
	mux.Handle(proto.OpFetch, handler(s, s.fetch))
	mux.Handle(proto.OpStore, handler(s, s.store))
	mux.Handle(proto.OpReintegrate, handler(s, s.reintegrate))
	mux.Handle(proto.OpCreate, handler(s, s.create(proto.TypeFile)))
	mux.Handle(proto.OpMkdir, handler(s, s.create(proto.TypeDir)))
	mux.Handle(proto.OpSymlink, handler(s, s.create(proto.TypeSymlink)))
	mux.Handle(proto.OpRemove, handler(s, s.remove(false)))
	mux.Handle(proto.OpRmdir, handler(s, s.remove(true)))
	mux.Handle(proto.OpRename, handler(s, s.rename))
	mux.Handle(proto.OpLink, handler(s, s.link))
	mux.Handle(proto.OpSetAttr, handler(s, s.setAttr))
	mux.Handle(proto.OpGetACL, handler(s, s.getACL))
	mux.Handle(proto.OpSetACL, handler(s, s.setACL))
}

// volume finds the replica holding fid.
func (s *Server) volume(fid proto.FID) (*volume.Volume, error) {
	return s.cfg.Volumes.ByID(fid.Volume)
}
