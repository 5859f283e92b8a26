package authserver

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/coda-fs/coda/auth/acl"
	"github.com/coda-fs/coda/auth/token"
	"github.com/coda-fs/coda/server/proto"
)

// Ident is who a valid token vouches for.
type Ident struct {
	UserID  int32
	User    string
	Expires time.Time
}

// OpenToken verifies a sealed token: sealed with this realm's secret, not
// expired, and naming a user the pdb still has. Every refusal is a
// proto.CodeAccess error with a short message that never holds token
// bytes.
func (s *Service) OpenToken(b []byte) (Ident, error) {
	t, err := token.Open(s.cfg.Secret, s.cfg.Realm, b, s.now())
	switch {
	case err == nil:
	case errors.Is(err, token.ErrExpired):
		return Ident{}, proto.Errorf(proto.CodeAccess, fmt.Sprintf("token of %s expired at %s",
			t.User, t.Expires.Format("2006-01-02 15:04:05 MST")))
	case errors.Is(err, token.ErrWrongRealm):
		return Ident{}, proto.Errorf(proto.CodeAccess, "token not issued by realm "+s.cfg.Realm)
	default:
		return Ident{}, proto.Errorf(proto.CodeAccess, "token forged or damaged")
	}
	if name, ok := s.pdb.Value().Name(t.UserID); !ok || t.UserID <= 0 || name != t.User {
		return Ident{}, proto.Errorf(proto.CodeAccess,
			fmt.Sprintf("token of %s: no such user in realm %s", t.User, s.cfg.Realm))
	}
	return Ident{UserID: t.UserID, User: t.User, Expires: t.Expires}, nil
}

// anyUserOnly is the protection set of an anonymous caller.
var anyUserOnly = []int32{acl.AnyUser}

// CPS returns uid's protection set — uid, every group it belongs to
// transitively, and System:AnyUser — and whether it is a member of
// System:Administrators. uid 0 (anonymous) and unknown ids get
// [System:AnyUser], false. The result is cached per pdb version and
// shared: callers must not modify it (its capacity equals its length, so
// append copies).
func (s *Service) CPS(uid int32) (ids []int32, admin bool) {
	if uid == 0 {
		return anyUserOnly[:1:1], false
	}
	version, val := s.pdb.Current()
	c := s.cps.Load()
	if c == nil || c.version < version {
		nc := &cpsCache{version: version, m: map[int32]cpsEntry{}}
		if s.cps.CompareAndSwap(c, nc) {
			c = nc
		} else {
			c = s.cps.Load()
		}
	}
	if c.version == version {
		c.mu.RLock()
		e, ok := c.m[uid]
		c.mu.RUnlock()
		if ok {
			return e.ids, e.admin
		}
	}
	if _, ok := val.Get(uid); !ok {
		return anyUserOnly[:1:1], false
	}
	ids = slices.Clip(val.IDs(uid))
	admin = slices.Contains(ids, acl.Administrators)
	if c.version == version {
		c.mu.Lock()
		c.m[uid] = cpsEntry{ids: ids, admin: admin}
		c.mu.Unlock()
	}
	return ids, admin
}

// cpsCache holds the protection sets computed from one pdb version.
type cpsCache struct {
	version uint64
	mu      sync.RWMutex
	m       map[int32]cpsEntry
}

type cpsEntry struct {
	ids   []int32
	admin bool
}

var _ acl.Resolver = (*Service)(nil)

// Name returns the name of user or group id (for ACL listings).
func (s *Service) Name(id int32) (string, bool) { return s.pdb.Value().Name(id) }

// Lookup returns the id of a user or group name (for ACL edits).
func (s *Service) Lookup(name string) (int32, bool) { return s.pdb.Value().Lookup(name) }
