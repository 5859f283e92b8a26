package fileserver

import (
	"context"
	"time"

	"github.com/coda-fs/coda/server/proto"
	"github.com/coda-fs/coda/server/rpc"
	"github.com/coda-fs/coda/server/volume"
)

// Authority is what the file server needs of the auth service: checking
// tokens and knowing each user's protection set.
type Authority interface {
	// OpenToken checks a sealed token and says whom it vouches for, until
	// when. Forged, foreign and expired tokens are errors.
	OpenToken(b []byte) (uid int32, user string, expires time.Time, err error)
	// CPS returns uid's protection set (uid, its groups transitively,
	// System:AnyUser) and whether it is in System:Administrators.
	CPS(uid int32) (ids []int32, admin bool)
}

// Names resolves user and group names for ACLs (the auth service).
type Names interface {
	Name(id int32) (string, bool)
	Lookup(name string) (int32, bool)
}

// identity is what a bound identity slot acts as.
type identity struct {
	uid     int32
	user    string
	expires time.Time
}

// adminCred is the identity of a connection that proved the realm's admin
// key.
var adminCred = volume.Cred{UID: proto.AdminUserID,
	CPS: []int32{proto.AdminUserID, proto.AdministratorsID, proto.AnyUserID}, Admin: true}

// bindToken binds (or, with no token, unbinds) an identity slot of the
// connection.
func (s *Server) bindToken(ctx context.Context, cl *client, r *rpc.Request, req *proto.BindToken) (proto.Message, *rpc.Source, error) {
	if len(req.Token) == 0 {
		cl.mu.Lock()
		delete(cl.idents, req.Slot)
		cl.mu.Unlock()
		return &proto.Identity{CPS: []int32{proto.AnyUserID}}, nil, nil
	}
	if s.cfg.Auth == nil {
		return nil, nil, proto.Errorf(proto.CodeAccess, "this server checks no tokens")
	}
	uid, user, expires, err := s.cfg.Auth.OpenToken(req.Token)
	if err != nil {
		s.log.Info("token refused", "client", cl.name, "err", err)
		return nil, nil, err
	}
	cl.mu.Lock()
	cl.idents[req.Slot] = identity{uid: uid, user: user, expires: expires}
	cl.mu.Unlock()
	cps, _ := s.cfg.Auth.CPS(uid)
	return &proto.Identity{UserID: uid, User: user, Expires: expires.UnixNano(), CPS: cps}, nil, nil
}

// cred is the identity request r acts with: the admin key's, the user
// bound to its slot while the token is valid, else anonymous.
func (s *Server) cred(cl *client, r *rpc.Request) volume.Cred {
	if cl.admin {
		return adminCred
	}
	if r.Ident == 0 || s.cfg.Auth == nil {
		return volume.Anonymous
	}
	cl.mu.Lock()
	id, ok := cl.idents[r.Ident]
	cl.mu.Unlock()
	if !ok || !time.Now().Before(id.expires) {
		return volume.Anonymous
	}
	cps, admin := s.cfg.Auth.CPS(id.uid)
	return volume.Cred{UID: id.uid, CPS: cps, Admin: admin}
}

// HoldsAdminKey reports whether r comes on a connection that proved the
// realm's admin key (volutil, another server of the realm).
func (s *Server) HoldsAdminKey(r *rpc.Request) bool {
	cl, ok := r.Conn.Peer.(*client)
	return ok && cl.admin // set by the connection's first request, AdminAuth
}

// HelloNonce is the nonce this server sent in the hello of r's connection
// (what a proof of a key or secret on that connection covers).
func (s *Server) HelloNonce(r *rpc.Request) []byte {
	cl, ok := r.Conn.Peer.(*client)
	if !ok {
		return nil
	}
	return cl.nonce
}

// IsAdmin reports whether r comes from an administrator: a connection
// holding the admin key, or a slot bound to a member of
// System:Administrators.
func (s *Server) IsAdmin(r *rpc.Request) bool {
	cl, ok := r.Conn.Peer.(*client)
	return ok && s.cred(cl, r).Admin
}
