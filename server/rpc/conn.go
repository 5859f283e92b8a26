package rpc

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coda-fs/coda/server/proto"
)

// ioBufSize is the size of a connection's read and write buffers.
const ioBufSize = 256 << 10

// connImpl is the machinery of a Conn: one reader goroutine (readLoop),
// one writer goroutine (writeLoop), one timer goroutine (timerLoop) for
// probes, keepalives and death, and a goroutine per served request.
//
// Locking: mu guards the maps and the handler queue; it is a leaf lock
// except that inStream and outStream locks are never taken while holding
// it. The writer has its own lock (writer.mu).
type connImpl struct {
	conn   *Conn
	cfg    Config
	log    *slog.Logger
	mux    *Mux
	raw    net.Conn
	br     *bufio.Reader
	w      writer
	pool   bufPool
	addr   string
	client bool
	offset int64 // server clock minus ours, in ns (0 on the server side)

	nextID   atomic.Uint64
	pingSeq  atomic.Uint64
	epoch    time.Time
	lastRecv atomic.Int64 // ns since epoch of the last frame received

	mu          sync.Mutex
	dead        bool
	calls       map[uint64]*pendingCall
	in          map[uint64]*inStream  // incoming data: uploads to us, our downloads
	out         map[uint64]*outStream // outgoing data waiting for credit
	serving     map[uint64]*serving   // requests admitted and not yet answered
	queue       []*serving            // admitted, waiting for a handler slot
	queuedBytes int64                 // their queueCost
	running     int                   // handler goroutines
	pings       map[uint64]chan struct{}

	done   chan struct{} // closed when the connection dies
	err    error         // why; set before done is closed
	once   sync.Once
	ctx    context.Context // cancelled when the connection dies
	cancel context.CancelFunc
	ioWG   sync.WaitGroup // reader, writer, timer
	wg     sync.WaitGroup // handler goroutines
	rbuf   []byte         // the reader's buffer for small bodies
	// counted: start counted this connection in cfg.Stats.Conns.
	counted atomic.Bool
}

// newConn wraps an established TLS connection whose handshake and Hello
// exchange are done. br is the reader used for the Hello (it may hold
// buffered bytes). Call start to run it.
func newConn(raw net.Conn, tc *tls.Conn, br *bufio.Reader, cfg Config, mux *Mux, client bool, offset int64) *connImpl {
	c := &connImpl{
		cfg: cfg, log: cfg.Logger, mux: mux, raw: raw, br: br,
		addr: raw.RemoteAddr().String(), client: client, offset: offset,
		epoch:   time.Now(),
		calls:   map[uint64]*pendingCall{},
		in:      map[uint64]*inStream{},
		out:     map[uint64]*outStream{},
		serving: map[uint64]*serving{},
		pings:   map[uint64]chan struct{}{},
		done:    make(chan struct{}),
		rbuf:    make([]byte, 0, 64<<10),
	}
	c.w.wake = make(chan struct{}, 1)
	c.w.bw = bufio.NewWriterSize(tc, ioBufSize)
	if lc, ok := raw.(*liveConn); ok {
		c.w.live = lc // batching from start on: the Hello's answer goes out at once
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	if client {
		c.nextID.Store(1) // the Hello was 1; then 3, 5, …
	}
	c.conn = &Conn{impl: c}
	return c
}

// start runs the connection's goroutines.
func (c *connImpl) start() {
	c.touch()
	if st := c.cfg.Stats; st != nil {
		st.Conns.Add(1)
		c.counted.Store(true)
	}
	if c.w.live != nil {
		c.w.live.startBatching()
	}
	c.ioWG.Add(3)
	go c.readLoop()
	go c.writeLoop()
	go c.timerLoop()
}

// newID returns a fresh request id: odd when we are the client, even when
// we are the server, so the two directions never collide.
func (c *connImpl) newID() uint64 { return c.nextID.Add(2) }

// peerID reports whether id is of the peer's parity.
func (c *connImpl) peerID(id uint64) bool {
	if c.client {
		return id != 0 && id%2 == 0
	}
	return id%2 == 1
}

func (c *connImpl) touch() { c.lastRecv.Store(int64(time.Since(c.epoch))) }

// sinceRecv is how long ago the peer was last heard: a frame, or bytes of
// one still arriving.
func (c *connImpl) sinceRecv() time.Duration {
	idle := time.Since(c.epoch) - time.Duration(c.lastRecv.Load())
	if lc, ok := c.raw.(*liveConn); ok {
		idle = min(idle, lc.sinceRead())
	}
	return idle
}

// liveConn is the TCP connection under TLS. It notes when bytes last
// arrived: a large frame coming slowly over a weak link keeps its
// connection alive, where only whole frames would let it look dead. Once
// the connection is set up (batch), it also gathers TLS's writes: TLS
// writes each 16 KiB record with its own system call, which on a fast
// link costs more than the encryption; gathered, a stream goes out in
// ioBufSize writes, and the connection's writer flushes whenever its
// queue runs empty. Reads are buffered likewise (TLS reads about one
// record per call).
type liveConn struct {
	net.Conn
	epoch    time.Time
	lastRead atomic.Int64 // ns since epoch of the last read that returned bytes
	r        *bufio.Reader

	wmu   sync.Mutex // TLS writes under its own lock; flush comes from the writer
	batch bool
	wbuf  []byte
}

func newLiveConn(c net.Conn) *liveConn {
	l := &liveConn{Conn: c, epoch: time.Now()}
	l.r = bufio.NewReaderSize(readCounter{l}, ioBufSize)
	return l
}

// readCounter reads the TCP connection for the buffer, noting arrivals.
type readCounter struct{ l *liveConn }

func (rc readCounter) Read(p []byte) (int, error) {
	n, err := rc.l.Conn.Read(p)
	if n > 0 {
		rc.l.lastRead.Store(int64(time.Since(rc.l.epoch)))
	}
	return n, err
}

func (l *liveConn) Read(p []byte) (int, error) { return l.r.Read(p) }

// startBatching makes writes gather until flush (or a full buffer).
func (l *liveConn) startBatching() {
	l.wmu.Lock()
	l.batch, l.wbuf = true, make([]byte, 0, ioBufSize)
	l.wmu.Unlock()
}

func (l *liveConn) Write(p []byte) (int, error) {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	if !l.batch {
		return l.Conn.Write(p)
	}
	if len(l.wbuf)+len(p) > cap(l.wbuf) {
		if err := l.flushLocked(); err != nil {
			return 0, err
		}
		if len(p) >= cap(l.wbuf) {
			return l.Conn.Write(p)
		}
	}
	l.wbuf = append(l.wbuf, p...)
	return len(p), nil
}

// pending reports whether gathered bytes wait for flush.
func (l *liveConn) pending() bool {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	return len(l.wbuf) > 0
}

// flush writes what Write gathered.
func (l *liveConn) flush() error {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	return l.flushLocked()
}

func (l *liveConn) flushLocked() error {
	if len(l.wbuf) == 0 {
		return nil
	}
	_, err := l.Conn.Write(l.wbuf)
	l.wbuf = l.wbuf[:0]
	return err
}

func (l *liveConn) sinceRead() time.Duration {
	return time.Since(l.epoch) - time.Duration(l.lastRead.Load())
}

// die closes the connection once: every pending call, stream and probe
// fails with a *ConnError, handlers' contexts are cancelled.
func (c *connImpl) die(reason string, cause error) {
	c.once.Do(func() {
		if cause != nil {
			reason = fmt.Sprintf("%s: %v", reason, cause)
		}
		c.mu.Lock()
		c.dead = true
		c.err = &ConnError{Addr: c.addr, Reason: reason, Err: cause}
		c.mu.Unlock()
		close(c.done)
		c.cancel()
		_ = c.raw.Close()
		if c.counted.Load() {
			c.cfg.Stats.Conns.Add(-1)
		}
		for _, f := range c.w.kill() {
			c.recycle(&f)
		}
		c.log.Debug("rpc connection closed", "peer", c.addr, "reason", reason)
	})
}

// failure returns the error of a dead connection.
func (c *connImpl) failure() error {
	<-c.done
	return c.err
}

func (c *connImpl) alive() bool {
	select {
	case <-c.done:
		return false
	default:
		return true
	}
}

// Close closes the connection. Pending calls fail with a *ConnError; it
// returns once the connection's reader, writer and timer have stopped
// (handlers may still be finishing).
func (c *Conn) Close() error {
	c.impl.die("closed", nil)
	c.impl.ioWG.Wait()
	return nil
}

// Done is closed when the connection dies.
func (c *Conn) Done() <-chan struct{} { return c.impl.done }

// Err returns why the connection died, or nil while it is alive. The
// error matches proto.ErrTimeout.
func (c *Conn) Err() error {
	if c.impl.alive() {
		return nil
	}
	return c.impl.err
}

// RemoteAddr returns the peer's address.
func (c *Conn) RemoteAddr() string { return c.impl.addr }

// ClockOffset returns the server's clock minus ours as measured at the
// handshake (zero on the server side).
func (c *Conn) ClockOffset() time.Duration { return time.Duration(c.impl.offset) }

// Ping sends a probe and waits for its answer; it returns the round trip
// time. Pongs are answered by the peer's reader, which does no disk I/O,
// so a busy server still answers promptly.
func (c *Conn) Ping(ctx context.Context) (time.Duration, error) {
	ci := c.impl
	seq := ci.pingSeq.Add(1)
	ch := make(chan struct{})
	ci.mu.Lock()
	if ci.dead {
		ci.mu.Unlock()
		return 0, ci.failure()
	}
	ci.pings[seq] = ch
	ci.mu.Unlock()
	start := time.Now()
	ci.sendCtrl(proto.FramePing, proto.OpPing, seq)
	select {
	case <-ch:
		return time.Since(start), nil
	case <-ci.done:
		return 0, ci.err
	case <-ctx.Done():
		ci.mu.Lock()
		delete(ci.pings, seq)
		ci.mu.Unlock()
		return 0, ctx.Err()
	}
}
