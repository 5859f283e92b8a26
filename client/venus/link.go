package venus

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coda-fs/coda/server/proto"
	"github.com/coda-fs/coda/server/rpc"
)

// link is venus's connections to the realm's servers: at most one per
// server, dialled on first use. A server whose connection died or whose
// dial failed is down: calls skip it while another replica can serve them,
// and a prober dials it again every RetryAfter in the background, so a
// dead or hung server never stalls a caller for longer than the
// connection's liveness bound. Only when no other server is left is a down
// server dialled inline (at most once per RetryAfter).
type link struct {
	v *Venus

	mu    sync.Mutex
	peers map[string]*peer
	// wake is closed (and replaced) to make the probers try at once
	// (cfs checkservers, cfs reconnect).
	wake chan struct{}

	// Servers cut off by cfs disconnect (a client-side partition): never
	// dialled until cfs reconnect; cutAll cuts every server.
	cut    map[string]bool
	cutAll bool

	// now is which servers are down or cut, published on every change,
	// for readers that may not take mu (they hold Venus.mu).
	now atomic.Pointer[linkState]
}

// linkState is a snapshot of which servers cannot be reached.
type linkState struct {
	cutAll bool
	down   map[string]bool
}

// publish snapshots the servers that are down or cut. Called with l.mu
// held, after every change of either.
func (l *link) publish() {
	s := &linkState{cutAll: l.cutAll, down: map[string]bool{}}
	for a := range l.cut {
		s.down[a] = true
	}
	for a, p := range l.peers {
		if p.conn == nil && p.down {
			s.down[a] = true
		}
	}
	l.now.Store(s)
	l.v.volumeStates()
}

// isDownNow is isDown from the last published snapshot, without l.mu.
func (l *link) isDownNow(addr string) bool {
	s := l.now.Load()
	return s != nil && (s.cutAll || s.down[addr])
}

// peer is venus's state of one server.
type peer struct {
	addr        string
	conn        *rpc.Conn
	down        bool      // the last dial failed or the connection died
	downAt      time.Time // when it was last found down
	lastErr     error
	dialing     chan struct{} // closed when the dial in progress ends
	probing     bool          // a prober goroutine owns re-dialling
	incarnation uint64
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

// connFailure reports whether err says the server could not be reached or
// the connection died (the request's outcome is unknown), as opposed to an
// answer from the server.
func connFailure(err error) bool {
	var ce *rpc.ConnError
	var ue *errUnreachable
	return errors.As(err, &ce) || errors.As(err, &ue)
}

// peerFor returns the state of the server at addr. Called with l.mu held.
func (l *link) peerFor(addr string) *peer {
	if l.peers == nil {
		l.peers = map[string]*peer{}
	}
	p := l.peers[addr]
	if p == nil {
		p = &peer{addr: addr}
		l.peers[addr] = p
	}
	return p
}

// isDown reports whether addr is known down or cut off.
func (l *link) isDown(addr string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.isCut(addr) {
		return true
	}
	p := l.peers[addr]
	return p != nil && p.conn == nil && p.down
}

// to returns the connection to the server at addr, dialling it when there
// is none. A down server is dialled only when inline is set and RetryAfter
// has passed since it was found down; else the call fails at once.
func (l *link) to(ctx context.Context, addr string, inline bool) (*rpc.Conn, error) {
	select {
	case <-l.v.closing:
		return nil, errShutdown
	default:
	}
	l.mu.Lock()
	for {
		if l.isCut(addr) {
			l.mu.Unlock()
			return nil, &errUnreachable{fmt.Errorf("server %s: %w", addr, errCut)}
		}
		p := l.peerFor(addr)
		if p.conn != nil {
			c := p.conn
			l.mu.Unlock()
			return c, nil
		}
		if ch := p.dialing; ch != nil {
			l.mu.Unlock()
			select {
			case <-ch:
			case <-ctx.Done():
				return nil, &errUnreachable{ctx.Err()}
			}
			l.mu.Lock()
			if p.conn == nil && p.down {
				err := p.lastErr
				l.mu.Unlock()
				return nil, err
			}
			continue
		}
		if p.down && (!inline || time.Since(p.downAt) < l.v.opts.RetryAfter) {
			err := p.lastErr
			l.mu.Unlock()
			return nil, err
		}
		l.mu.Unlock()
		l.dial(ctx, p)
		l.mu.Lock()
	}
}

// dial connects to p once and records the outcome.
func (l *link) dial(ctx context.Context, p *peer) {
	l.mu.Lock()
	if p.dialing != nil || p.conn != nil {
		l.mu.Unlock()
		return
	}
	ch := make(chan struct{})
	p.dialing = ch
	l.mu.Unlock()
	conn, err := l.v.dial(ctx, p.addr)
	l.mu.Lock()
	p.dialing = nil
	close(ch)
	switch {
	case err != nil:
		l.markDown(p, &errUnreachable{err})
	case l.isCut(p.addr): // cut off while we dialled
		conn.Close()
		l.markDown(p, &errUnreachable{fmt.Errorf("server %s: %w", p.addr, errCut)})
	default:
		l.attach(p, conn)
	}
	l.mu.Unlock()
}

// markDown records that p is down and starts its prober. Called with l.mu
// held.
func (l *link) markDown(p *peer, why error) {
	if !p.down {
		l.v.event(nil, EventServerDown, proto.FID{}, fmt.Sprintf("%s: %v", p.addr, why))
	}
	p.down, p.downAt, p.lastErr = true, time.Now(), why
	l.publish()
	select {
	case <-l.v.closing:
		return
	default:
	}
	if !p.probing {
		p.probing = true
		l.v.bg.Add(1)
		go l.probe(p)
	}
}

// probe dials p again every RetryAfter (at once when woken) until it
// answers or venus closes.
func (l *link) probe(p *peer) {
	defer l.v.bg.Done()
	for {
		l.mu.Lock()
		wake := l.wakeChan()
		l.mu.Unlock()
		t := time.NewTimer(l.v.opts.RetryAfter)
		select {
		case <-l.v.closing:
			t.Stop()
			l.mu.Lock()
			p.probing = false
			l.mu.Unlock()
			return
		case <-t.C:
		case <-wake:
			t.Stop()
		}
		l.mu.Lock()
		cut, up := l.isCut(p.addr), p.conn != nil
		if up {
			p.probing = false
			l.mu.Unlock()
			return
		}
		l.mu.Unlock()
		if cut {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), l.v.opts.DialTimeout)
		l.dial(ctx, p)
		cancel()
	}
}

// wakeChan is the channel the probers wait on. Called with l.mu held.
func (l *link) wakeChan() chan struct{} {
	if l.wake == nil {
		l.wake = make(chan struct{})
	}
	return l.wake
}

// kick makes every prober try now.
func (l *link) kick() {
	l.mu.Lock()
	if l.wake != nil {
		close(l.wake)
		l.wake = nil
	}
	l.mu.Unlock()
}

// any returns a connection to some server of the realm, for requests that
// any server answers (the root volume, volume locations, tokens): a live
// one if there is one, else the configured servers are dialled in order.
func (l *link) any(ctx context.Context) (*rpc.Conn, error) {
	l.mu.Lock()
	for _, addr := range l.v.opts.Servers {
		if p := l.peers[addr]; p != nil && p.conn != nil && !l.isCut(addr) {
			c := p.conn
			l.mu.Unlock()
			return c, nil
		}
	}
	for addr, p := range l.peers {
		if p.conn != nil && !l.isCut(addr) {
			c := p.conn
			l.mu.Unlock()
			return c, nil
		}
	}
	l.mu.Unlock()
	var errs []error
	for _, inline := range []bool{false, true} {
		for _, addr := range l.v.opts.Servers {
			c, err := l.to(ctx, addr, inline)
			if err == nil {
				return c, nil
			}
			if !inline {
				errs = append(errs, err)
			}
		}
	}
	if len(errs) == 1 {
		return nil, errs[0]
	}
	return nil, &errUnreachable{fmt.Errorf("no server of realm %s reachable: %w", l.v.opts.Realm, oneLine(errs))}
}

// disconnect cuts venus off from addrs (all servers when empty): their
// live connections go, and they are not dialled until reconnect.
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
	l.publish()
	var drop []*peer
	for addr, p := range l.peers {
		if p.conn != nil && l.isCut(addr) {
			drop = append(drop, p)
		}
	}
	conns := make([]*rpc.Conn, len(drop))
	for i, p := range drop {
		conns[i] = p.conn
	}
	l.mu.Unlock()
	for i, p := range drop {
		l.drop(p, conns[i], errCut)
	}
}

// reconnect undoes disconnect for addrs (all when empty); down servers are
// dialled again at once.
func (l *link) reconnect(addrs []string) {
	l.mu.Lock()
	if len(addrs) == 0 {
		l.cutAll, l.cut = false, nil
	}
	for _, a := range addrs {
		delete(l.cut, a)
	}
	l.publish()
	for _, p := range l.peers {
		p.downAt = time.Time{}
	}
	l.mu.Unlock()
	l.kick()
}

// attach makes conn p's live connection. Called with l.mu held.
func (l *link) attach(p *peer, conn *rpc.Conn) {
	l.v.event(nil, EventServerUp, proto.FID{}, p.addr)
	l.v.startReintegration() // logged updates go once a replica is back
	p.conn, p.down, p.lastErr = conn, false, nil
	l.publish()
	l.v.newGen()
	if l.v.offlineGrants.Swap(false) {
		// The kernel cached entries while the volume was disconnected
		// (offline): they are checked again from now on.
		go l.v.notify(kernelNotes{all: true}, 0)
	}
	inc := conn.HelloReply.Incarnation
	if p.incarnation != 0 && inc != p.incarnation {
		l.v.log.Info("server restarted; revalidating the cache", "server", p.addr, "incarnation", inc)
	}
	p.incarnation = inc
	go l.watch(p, conn)
}

// watch waits for conn to die and then drops every promise it carried.
func (l *link) watch(p *peer, conn *rpc.Conn) {
	select {
	case <-conn.Done():
	case <-l.v.closing:
		return
	}
	l.drop(p, conn, conn.Err())
}

// drop forgets conn if it is still p's live connection: p is down, and
// every promise venus holds is revalidated before it is used again.
func (l *link) drop(p *peer, conn *rpc.Conn, why error) {
	l.mu.Lock()
	if p.conn != conn {
		l.mu.Unlock()
		return
	}
	p.conn = nil
	l.markDown(p, &errUnreachable{fmt.Errorf("server %s: %w", p.addr, why)})
	l.mu.Unlock()
	conn.Close()
	l.v.log.Warn("connection to server lost; callbacks dropped", "server", p.addr, "err", why)
	l.v.promisesLost()
}

// dropConn drops conn wherever it is the live connection.
func (l *link) dropConn(conn *rpc.Conn, why error) {
	l.mu.Lock()
	var p *peer
	for _, q := range l.peers {
		if q.conn == conn {
			p = q
		}
	}
	l.mu.Unlock()
	if p != nil {
		l.drop(p, conn, why)
	}
}

func (l *link) close() {
	l.mu.Lock()
	var conns []*rpc.Conn
	for _, p := range l.peers {
		if p.conn != nil {
			conns = append(conns, p.conn)
			p.conn = nil
		}
	}
	l.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
}

// upCount returns how many servers venus holds a live connection to.
func (l *link) upCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, p := range l.peers {
		if p.conn != nil {
			n++
		}
	}
	return n
}

// dial connects to the server at addr, bounded by DialTimeout.
func (v *Venus) dial(ctx context.Context, addr string) (*rpc.Conn, error) {
	hello := proto.Hello{Version: proto.Version, Realm: v.opts.Realm, ClientID: v.clientID, Name: v.opts.Name}
	cfg := rpc.Config{TLS: v.tls, Logger: v.log, DeadAfter: v.opts.DeadAfter, Stats: &v.rpcStats}
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), v.opts.DialTimeout)
	defer cancel()
	conn, err := rpc.Dial(dctx, addr, hello, cfg, v.mux)
	if err != nil {
		return nil, v.explainDial(addr, err)
	}
	return conn, nil
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

// callOn sends one request on conn and returns the stamp under which it was
// sent (see promiseOK). The FUSE request's cancellation is not passed on:
// an interrupted caller must not leave a half-applied update. A connection
// that died is dropped.
func (v *Venus) callOn(ctx context.Context, c Caller, conn *rpc.Conn, op proto.Op, req, resp proto.Message, opts *rpc.CallOpts) (stamp, error) {
	v.mu.Lock()
	st := stamp{gen: v.gen, seq: v.breaks.seq}
	v.mu.Unlock()
	timeout := v.opts.CallTimeout
	var o rpc.CallOpts
	if opts != nil {
		o = *opts
	}
	switch {
	case o.Upload != nil:
		// A lost reply must not cost the data timeout: allow the upload
		// at least minUploadRate, then the metadata timeout.
		timeout = min(v.opts.DataTimeout, v.opts.CallTimeout+time.Duration(o.Upload.Size/minUploadRate)*time.Second)
	case o.Download != nil:
		timeout = v.opts.DataTimeout
	}
	o.Ident, st.who = v.slotFor(ctx, conn, c)
	var err error
	busy := 100 * time.Millisecond
	for attempt := 0; attempt < 2; attempt++ {
		err = v.callOnce(ctx, conn, op, req, resp, &o, timeout)
		if proto.CodeOf(err) == proto.CodeBusy {
			// The volume is locked (volutil lock, a backup) or the
			// server is full: the caller waits, as long as it takes.
			if busy == 100*time.Millisecond {
				v.log.Info("the server is busy (a locked volume?); the request waits", "op", op, "server", conn.RemoteAddr(), "why", err)
			}
			select {
			case <-time.After(busy):
			case <-v.closing:
				return st, err
			}
			busy = min(2*busy, time.Second)
			if r, ok := o.Download.(resetter); ok {
				if rerr := r.Reset(); rerr != nil {
					return st, rerr
				}
			}
			attempt--
			continue
		}
		if !errors.Is(err, context.DeadlineExceeded) {
			break
		}
		// The connection lives but no answer came: the request or its
		// reply was lost. Send it once more: an update carries its store
		// id, so a server that applied it already only answers.
		v.log.Warn("no reply from the server; sending the request again", "op", op, "server", conn.RemoteAddr())
		if r, ok := o.Download.(resetter); ok && attempt == 0 {
			if rerr := r.Reset(); rerr != nil {
				return st, rerr
			}
		}
	}
	return st, err
}

// minUploadRate (bytes/s) is the slowest upload venus waits for before it
// sends a store again.
const minUploadRate = 256 << 10

// callOnce is one attempt of callOn, bounded by timeout.
func (v *Venus) callOnce(ctx context.Context, conn *rpc.Conn, op proto.Op, req, resp proto.Message, o *rpc.CallOpts, timeout time.Duration) error {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	v.stats.countRPC(op)
	err := conn.Call(cctx, op, req, resp, o)
	var ce *rpc.ConnError
	if errors.As(err, &ce) {
		v.link.dropConn(conn, err)
	}
	return err
}

// call sends a request any server answers (volume locations, the root
// volume, paths).
func (v *Venus) call(ctx context.Context, c Caller, op proto.Op, req, resp proto.Message, opts *rpc.CallOpts) (stamp, error) {
	conn, err := v.link.any(ctx)
	if err != nil {
		return stamp{}, err
	}
	return v.callOn(ctx, c, conn, op, req, resp, opts)
}

// Connected reports whether venus holds a live connection to a server.
func (v *Venus) Connected() bool { return v.link.upCount() > 0 }
