package venus

import (
	"context"
	"errors"
	"fmt"
	"os/user"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/coda-fs/coda/server/proto"
	"github.com/coda-fs/coda/server/rpc"
)

// identity is the Coda identity a local uid acts with: its user id (0 when
// anonymous), its protection set and whether it administers the realm.
type identity struct {
	uid   int32
	cps   []int32
	admin bool
}

var anonymous = identity{cps: []int32{proto.AnyUserID}}

func (id identity) anonymous() bool { return id.uid == 0 }

// member reports whether group (or user) g is in id's protection set.
func (id identity) member(g int32) bool { return slices.Contains(id.cps, g) }

// token is what venus holds for one local uid: the sealed token, the
// identity slot it is bound to on the connections it was used on, and what the server
// said of it when it was last bound.
type token struct {
	local  uint32
	info   proto.TokenInfo
	slot   uint32
	ident  identity
	bound  map[*rpc.Conn]bool // the connections the slot is bound on
	warned bool               // the expiry or refusal was logged
	// refused: a server refused the token (its user deleted, a clock
	// ahead of ours); its uid acts anonymously until the next clog.
	refused bool
	// expiry announces the token's expiry (codacon) when it comes.
	expiry *time.Timer
}

func (t *token) expired(now time.Time) bool { return now.UnixNano() >= t.info.Expires }

// tokens is venus's table of tokens, keyed by local uid.
type tokens struct {
	mu       sync.Mutex
	byUID    map[uint32]*token
	nextSlot uint32
}

// TokenStatus describes a token for ctokens.
type TokenStatus struct {
	LocalUID uint32
	UserID   int32
	User     string
	Expires  time.Time
	Expired  bool
}

// ErrTokenRejected wraps a server's refusal of a token handed to SetToken.
var ErrTokenRejected = errors.New("token rejected")

// SetToken hands venus a token for local uid local (clog). When a server is
// reachable the token is bound at once, so a forged, expired or foreign
// token is refused here and the old token (if any) stays; when none is,
// the token is kept and bound on first use.
func (v *Venus) SetToken(ctx context.Context, local uint32, info proto.TokenInfo) (TokenStatus, error) {
	if len(info.Token) == 0 || len(info.Token) > proto.MaxToken {
		return TokenStatus{}, fmt.Errorf("%w: empty or oversized token", ErrTokenRejected)
	}
	t := &token{local: local, info: info,
		ident: identity{uid: info.UserID, cps: []int32{info.UserID, proto.AnyUserID}}}
	v.toks.mu.Lock()
	v.toks.nextSlot++
	t.slot = v.toks.nextSlot%proto.MaxSlot + 1
	v.toks.mu.Unlock()
	if conn, err := v.link.any(ctx); err == nil {
		if err := v.bind(ctx, conn, t); err != nil {
			var ce *rpc.ConnError
			if !errors.As(err, &ce) {
				return TokenStatus{}, fmt.Errorf("%w: %v", ErrTokenRejected, err)
			}
		}
	}
	v.toks.mu.Lock()
	old := v.toks.byUID[local]
	v.toks.byUID[local] = t
	t.expiry = time.AfterFunc(time.Until(time.Unix(0, info.Expires)), func() { v.tokenExpired(t) })
	if old != nil {
		old.expiry.Stop()
	}
	v.toks.mu.Unlock()
	if old != nil {
		v.unbind(old, t)
		v.forgetRights(old.ident.uid)
	}
	v.forgetRights(t.ident.uid)
	v.startReintegration() // updates logged for this user may go now
	v.log.Info("tokens set", "uid", local, "user", info.User, "expires", time.Unix(0, info.Expires).Format(time.RFC3339))
	return t.status(time.Now()), nil
}

// Tokens returns the token of local uid local, if venus holds one.
func (v *Venus) Tokens(local uint32) (TokenStatus, bool) {
	v.toks.mu.Lock()
	defer v.toks.mu.Unlock()
	t := v.toks.byUID[local]
	if t == nil {
		return TokenStatus{}, false
	}
	return t.status(time.Now()), true
}

// DropTokens discards the token of local uid local (cunlog); its requests
// act anonymously from now on.
func (v *Venus) DropTokens(local uint32) bool {
	v.toks.mu.Lock()
	t := v.toks.byUID[local]
	delete(v.toks.byUID, local)
	if t != nil {
		t.expiry.Stop()
	}
	v.toks.mu.Unlock()
	if t == nil {
		return false
	}
	v.unbind(t, nil)
	v.forgetRights(t.ident.uid)
	v.log.Info("tokens discarded", "uid", local, "user", t.info.User)
	return true
}

// tokenExpired announces that t, still local uid's token, expired: what
// that user logged waits until clog.
func (v *Venus) tokenExpired(t *token) {
	v.toks.mu.Lock()
	current := v.toks.byUID[t.local] == t
	v.toks.mu.Unlock()
	if !current {
		return
	}
	c := Caller{UID: t.local}
	v.event(&c, EventTokenExpired, proto.FID{}, fmt.Sprintf("the token of local uid %d (%s) expired: run clog; updates it logged wait for it", t.local, t.info.User))
}

func (t *token) status(now time.Time) TokenStatus {
	return TokenStatus{LocalUID: t.local, UserID: t.info.UserID, User: t.info.User,
		Expires: time.Unix(0, t.info.Expires), Expired: t.expired(now)}
}

// unbind releases t's slot on the connections it is bound on that its
// successor next (nil: none) does not use, in the background (a dead
// connection forgets it anyway).
func (v *Venus) unbind(t, next *token) {
	v.toks.mu.Lock()
	var conns []*rpc.Conn
	for conn := range t.bound {
		if next == nil || next.slot != t.slot || !next.bound[conn] {
			conns = append(conns, conn)
		}
	}
	t.bound = nil
	v.toks.mu.Unlock()
	for _, conn := range conns {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), v.opts.CallTimeout)
			defer cancel()
			_ = conn.Call(ctx, proto.OpBindToken, &proto.BindToken{Slot: t.slot}, &proto.Identity{}, nil)
		}()
	}
}

// bind binds t to its slot on conn and records the identity the server
// gives it.
func (v *Venus) bind(ctx context.Context, conn *rpc.Conn, t *token) error {
	var id proto.Identity
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), v.opts.CallTimeout)
	defer cancel()
	if err := conn.Call(cctx, proto.OpBindToken, &proto.BindToken{Slot: t.slot, Token: t.info.Token}, &id, nil); err != nil {
		return err
	}
	v.toks.mu.Lock()
	if t.bound == nil {
		t.bound = map[*rpc.Conn]bool{}
	}
	for c := range t.bound {
		select {
		case <-c.Done():
			delete(t.bound, c)
		default:
		}
	}
	t.bound[conn] = true
	t.ident = identity{uid: id.UserID, cps: id.CPS, admin: slices.Contains(id.CPS, proto.AdministratorsID)}
	// What the server read in the sealed token wins over the unsealed
	// copy that came with it (a token file can be edited).
	t.info.UserID, t.info.User, t.info.Expires = id.UserID, id.User, id.Expires
	v.toks.mu.Unlock()
	return nil
}

// identityOf returns the identity local uid c.UID acts with now, and its
// token (nil when it acts anonymously). An expired token is logged once.
func (v *Venus) identityOf(c Caller) (identity, *token) {
	v.toks.mu.Lock()
	defer v.toks.mu.Unlock()
	t := v.toks.byUID[c.UID]
	if t == nil {
		return anonymous, nil
	}
	if now := time.Now(); t.expired(now) {
		if !t.warned {
			t.warned = true
			v.log.Warn(fmt.Sprintf("tokens for uid %d (%s) expired at %s; acting as System:AnyUser until the next clog",
				c.UID, localName(c.UID), time.Unix(0, t.info.Expires).Format(time.RFC3339)))
		}
		return anonymous, nil
	}
	if t.refused {
		return anonymous, nil
	}
	return t.ident, t
}

// slotFor returns the identity slot c's requests carry on conn (0:
// anonymous), binding c's token there first if needed, and the Coda user
// id the request acts as. A token the server refuses (expired by its clock,
// its user deleted) is logged and the request goes anonymously.
func (v *Venus) slotFor(ctx context.Context, conn *rpc.Conn, c Caller) (uint32, int32) {
	id, t := v.identityOf(c)
	if t == nil {
		return 0, 0
	}
	v.toks.mu.Lock()
	bound := t.bound[conn]
	v.toks.mu.Unlock()
	if !bound {
		if err := v.bind(ctx, conn, t); err != nil {
			var ce *rpc.ConnError
			if !errors.As(err, &ce) {
				v.toks.mu.Lock()
				warn := !t.warned
				t.warned, t.refused = true, true
				v.toks.mu.Unlock()
				if warn {
					v.log.Warn(fmt.Sprintf("tokens for uid %d (%s) refused by the server: %v; acting as System:AnyUser until the next clog",
						c.UID, localName(c.UID), err))
				}
			}
			return 0, 0
		}
		id, _ = v.identityOf(c)
	}
	return t.slot, id.uid
}

// localName is the local user name of uid, or its number.
func localName(uid uint32) string {
	if u, err := user.LookupId(strconv.FormatUint(uint64(uid), 10)); err == nil {
		return u.Username
	}
	return strconv.FormatUint(uint64(uid), 10)
}

// Token returns the sealed token of local uid local (for the uid's own
// admin tools, which bind it on their connection to the SCM).
func (v *Venus) Token(local uint32) (proto.TokenInfo, bool) {
	v.toks.mu.Lock()
	defer v.toks.mu.Unlock()
	t := v.toks.byUID[local]
	if t == nil || t.expired(time.Now()) {
		return proto.TokenInfo{}, false
	}
	return t.info, true
}

// Realm is the realm venus serves; Servers its servers.
func (v *Venus) Realm() string     { return v.opts.Realm }
func (v *Venus) Servers() []string { return slices.Clone(v.opts.Servers) }
