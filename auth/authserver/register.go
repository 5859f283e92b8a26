package authserver

import (
	"context"

	"github.com/coda-fs/coda/server/proto"
	"github.com/coda-fs/coda/server/rpc"
)

// Register registers the auth service's handlers on mux: OpLogin,
// OpChangePassword, and, for callers isAdmin accepts, OpSetPassword and
// OpPDBCommand. (OpBindToken belongs to the file server, which keeps the
// per-connection identity slots and calls OpenToken and CPS.) A nil
// isAdmin refuses every administrative call.
func (s *Service) Register(mux *rpc.Mux, isAdmin func(*rpc.Request) bool) {
	mux.Handle(proto.OpLogin, s.handleLogin)
	mux.Handle(proto.OpChangePassword, s.handleChangePassword)
	mux.Handle(proto.OpSetPassword, adminOnly(isAdmin, s.handleSetPassword))
	mux.Handle(proto.OpPDBCommand, adminOnly(isAdmin, s.handlePDBCommand))
}

// adminOnly refuses h to callers that are not administrators.
func adminOnly(isAdmin func(*rpc.Request) bool, h rpc.Handler) rpc.Handler {
	return func(ctx context.Context, r *rpc.Request) (proto.Message, *rpc.Source, error) {
		if isAdmin == nil || !isAdmin(r) {
			return nil, nil, proto.Errorf(proto.CodeAccess, r.Op.String()+" needs System:Administrators")
		}
		return h(ctx, r)
	}
}

func remoteAddr(r *rpc.Request) string {
	if r.Conn == nil {
		return ""
	}
	return r.Conn.RemoteAddr()
}

func (s *Service) handleLogin(ctx context.Context, r *rpc.Request) (proto.Message, *rpc.Source, error) {
	defer zero(r.Body) // holds the password(s) too
	var m proto.Login
	if err := r.Decode(&m); err != nil {
		return nil, nil, err
	}
	defer zero(m.Password)
	info, err := s.Login(ctx, m.User, m.Password, remoteAddr(r))
	if err != nil {
		return nil, nil, err
	}
	return &info, nil, nil
}

func (s *Service) handleChangePassword(ctx context.Context, r *rpc.Request) (proto.Message, *rpc.Source, error) {
	defer zero(r.Body) // holds the password(s) too
	var m proto.ChangePassword
	if err := r.Decode(&m); err != nil {
		return nil, nil, err
	}
	defer zero(m.Old)
	defer zero(m.New)
	if err := s.ChangePassword(ctx, m.User, m.Old, m.New, remoteAddr(r)); err != nil {
		return nil, nil, err
	}
	return &proto.Empty{}, nil, nil
}

func (s *Service) handleSetPassword(ctx context.Context, r *rpc.Request) (proto.Message, *rpc.Source, error) {
	defer zero(r.Body) // holds the password(s) too
	var m proto.SetPassword
	if err := r.Decode(&m); err != nil {
		return nil, nil, err
	}
	defer zero(m.Password)
	if err := s.SetPassword(m.User, m.Password); err != nil {
		return nil, nil, err
	}
	return &proto.Empty{}, nil, nil
}

func (s *Service) handlePDBCommand(ctx context.Context, r *rpc.Request) (proto.Message, *rpc.Source, error) {
	var m proto.PDBCommand
	if err := r.Decode(&m); err != nil {
		return nil, nil, err
	}
	out, err := s.PDB(m.Args)
	if err != nil {
		return nil, nil, err
	}
	return &proto.Text{Text: out}, nil, nil
}
