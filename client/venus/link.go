package venus

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/coda-fs/coda/server/proto"
	"github.com/coda-fs/coda/server/rpc"
)

// link is venus's connection to the realm's servers: one live connection at
// a time, dialled on demand. After a failed dial, calls fail at once with
// ErrTimeout until RetryAfter has passed, so a dead server never hangs a
// caller for longer than one bounded dial.
type link struct {
	v *Venus

	mu          sync.Mutex
	conn        *rpc.Conn
	gen         uint64 // promise generation of conn
	downUntil   time.Time
	lastErr     error
	dialing     chan struct{} // closed when the dial in progress ends
	incarnation uint64
	addr        string // the server conn is to

	// Servers cut off by cfs disconnect (a client-side partition): never
	// dialled until cfs reconnect; cutAll cuts every server.
	cut    map[string]bool
	cutAll bool
}

// errCut is why no server is dialled while they are all cut off.
var errCut = errors.New("cut off from the servers by cfs disconnect (cfs reconnect undoes it)")

// isCut reports whether addr is cut off. Called with l.mu held.
func (l *link) isCut(addr string) bool { return l.cutAll || l.cut[addr] }

// errUnreachable wraps the cause of a failed dial so that it maps to
// ETIMEDOUT.
type errUnreachable struct{ err error }

func (e *errUnreachable) Error() string   { return e.err.Error() }
func (e *errUnreachable) Unwrap() []error { return []error{proto.ErrTimeout, e.err} }

// errShutdown: venus is closing.
var errShutdown = &errUnreachable{errors.New("venus is shutting down")}

// get returns the live connection and its promise generation, dialling if
// there is none.
func (l *link) get(ctx context.Context) (*rpc.Conn, uint64, error) {
	select {
	case <-l.v.closing:
		return nil, 0, errShutdown
	default:
	}
	l.mu.Lock()
	for {
		if l.conn != nil {
			c, g := l.conn, l.gen
			l.mu.Unlock()
			return c, g, nil
		}
		if time.Now().Before(l.downUntil) {
			err := l.lastErr
			l.mu.Unlock()
			return nil, 0, err
		}
		if ch := l.dialing; ch != nil {
			l.mu.Unlock()
			select {
			case <-ch:
			case <-ctx.Done():
				return nil, 0, &errUnreachable{ctx.Err()}
			}
			l.mu.Lock()
			continue
		}
		l.dialing = make(chan struct{})
		var addrs []string
		for _, a := range l.v.opts.Servers {
			if !l.isCut(a) {
				addrs = append(addrs, a)
			}
		}
		l.mu.Unlock()
		conn, addr, err := l.v.dial(ctx, addrs)
		l.mu.Lock()
		close(l.dialing)
		l.dialing = nil
		if err != nil {
			l.lastErr = &errUnreachable{err}
			l.downUntil = time.Now().Add(l.v.opts.RetryAfter)
			l.mu.Unlock()
			return nil, 0, l.lastErr
		}
		if l.isCut(addr) { // cut off while we dialled
			conn.Close()
			continue
		}
		l.attach(conn, addr)
	}
}

// disconnect cuts venus off from addrs (all servers when empty): the live
// connection goes if its server is among them, and they are not dialled
// until reconnect.
func (l *link) disconnect(addrs []string) {
	l.mu.Lock()
	if len(addrs) == 0 {
		l.cutAll = true
	}
	if l.cut == nil {
		l.cut = map[string]bool{}
	}
	for _, a := range addrs {
		l.cut[a] = true
	}
	conn := l.conn
	drop := conn != nil && l.isCut(l.addr)
	l.mu.Unlock()
	if drop {
		l.drop(conn, errCut)
	}
}

// reconnect undoes disconnect for addrs (all when empty); the next call
// dials at once.
func (l *link) reconnect(addrs []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(addrs) == 0 {
		l.cutAll, l.cut = false, nil
	}
	for _, a := range addrs {
		delete(l.cut, a)
	}
	l.downUntil = time.Time{}
}

// attach makes conn, to the server at addr, the live connection. Called
// with l.mu held.
func (l *link) attach(conn *rpc.Conn, addr string) {
	l.conn, l.addr = conn, addr
	l.gen = l.v.newGen()
	l.lastErr, l.downUntil = nil, time.Time{}
	inc := conn.HelloReply.Incarnation
	if l.incarnation != 0 && inc != l.incarnation {
		l.v.log.Info("server restarted; revalidating the cache", "incarnation", inc)
	}
	l.incarnation = inc
	go l.watch(conn)
}

// watch waits for conn to die and then drops every promise it carried.
func (l *link) watch(conn *rpc.Conn) {
	select {
	case <-conn.Done():
	case <-l.v.closing:
		return
	}
	l.drop(conn, conn.Err())
}

// drop forgets conn if it is still the live connection.
func (l *link) drop(conn *rpc.Conn, why error) {
	l.mu.Lock()
	if l.conn != conn {
		l.mu.Unlock()
		return
	}
	l.conn = nil
	l.mu.Unlock()
	conn.Close()
	l.v.log.Warn("connection to server lost; callbacks dropped", "err", why)
	l.v.promisesLost()
}

func (l *link) close() {
	l.mu.Lock()
	c := l.conn
	l.conn = nil
	l.mu.Unlock()
	if c != nil {
		c.Close()
	}
}

// dial connects to the first of addrs that answers, each attempt bounded
// by DialTimeout.
func (v *Venus) dial(ctx context.Context, addrs []string) (*rpc.Conn, string, error) {
	if len(addrs) == 0 {
		return nil, "", errCut
	}
	hello := proto.Hello{Version: proto.Version, Realm: v.opts.Realm, ClientID: v.clientID, Name: v.opts.Name}
	cfg := rpc.Config{TLS: v.tls, Logger: v.log}
	var errs []error
	for _, addr := range addrs {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), v.opts.DialTimeout)
		conn, err := rpc.Dial(dctx, addr, hello, cfg, v.mux)
		cancel()
		if err == nil {
			return conn, addr, nil
		}
		errs = append(errs, v.explainDial(addr, err))
	}
	return nil, "", fmt.Errorf("no server of realm %s reachable: %w", v.opts.Realm, oneLine(errs))
}

// oneLine joins errs into one error whose message is one line ("a; b"),
// still matching each of them with errors.Is and errors.As.
func oneLine(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	return joined(errs)
}

type joined []error

func (j joined) Error() string {
	msgs := make([]string, len(j))
	for i, e := range j {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "; ")
}

func (j joined) Unwrap() []error { return j }

// Disconnect cuts venus off from servers (all when none are named), as a
// partition would: cfs disconnect. Reconnect undoes it.
func (v *Venus) Disconnect(servers []string) { v.link.disconnect(servers) }

// Reconnect undoes Disconnect for servers (all when none are named).
func (v *Venus) Reconnect(servers []string) { v.link.reconnect(servers) }

// call sends one request on the live connection and returns the stamp under
// which it was sent (see promiseOK). The FUSE request's cancellation is not
// passed on: an interrupted caller must not leave a half-applied update.
func (v *Venus) call(ctx context.Context, c Caller, op proto.Op, req, resp proto.Message, opts *rpc.CallOpts) (stamp, error) {
	conn, gen, err := v.link.get(ctx)
	if err != nil {
		return stamp{}, err
	}
	v.mu.Lock()
	st := stamp{gen: gen, seq: v.breaks.seq}
	v.mu.Unlock()
	timeout := v.opts.CallTimeout
	if opts == nil {
		opts = &rpc.CallOpts{}
	}
	if opts.Upload != nil || opts.Download != nil {
		timeout = v.opts.DataTimeout
	}
	opts.Ident, st.who = v.slotFor(ctx, conn, c)
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	v.stats.countRPC(op)
	err = conn.Call(cctx, op, req, resp, opts)
	var ce *rpc.ConnError
	if errors.As(err, &ce) {
		v.link.drop(conn, err)
	}
	return st, err
}

// Connected reports whether venus holds a live connection to a server.
func (v *Venus) Connected() bool {
	v.link.mu.Lock()
	defer v.link.mu.Unlock()
	return v.link.conn != nil
}
