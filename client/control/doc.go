// Package control is venus's control channel: the Unix socket through
// which local tools (coda clog, ctokens, cunlog, later cfs, hoard and
// codacon) ask the venus that serves a path to act for the calling user.
//
// # Model
//
// Venus calls Listen with a Handler; tools call Locate to find the socket,
// Dial and Call. A connection carries requests one at a time, each a line
// of JSON (Request{Op, Args}) answered by one line (Reply{Error, Result}).
// The handler receives the operation, its arguments as raw JSON and the
// Peer: the uid, gid and pid of the connecting process.
//
// One venus serves one mount point; its socket is SocketPath(mountpoint),
// RunDir()/venus-<16 hex digits of sha256(mountpoint)>.sock, RunDir being
// $CODA_RUN_DIR or /run/coda. Locate(path) finds the innermost fuse.coda
// mount above path in /proc/self/mountinfo (an empty path means $CODA_MOUNT
// or /coda); $CODA_CONTROL, when set, names the socket directly.
//
// # Security
//
// The caller's identity comes only from SO_PEERCRED, which the kernel
// fills in when the peer connects; nothing in a request can claim a uid.
// Tokens belong to the calling uid, and acting for another uid (clog -as)
// is for Peer.UID 0 only: the handler decides. The socket is mode 0666 so
// that every local user can reach their own tokens. The credentials are
// those of the process that connected; a process that hands its connected
// socket to another keeps acting as itself, as with any open file.
//
// Requests are bounded: MaxRequest bytes each (a longer one is answered
// with an error and the connection closed), and IdleTimeout to send each
// request once the previous reply is written. A handler panic is logged
// and answered as an internal error; venus keeps running.
//
// # Locking
//
// Each connection has its own goroutine; requests of different
// connections run concurrently, so handlers must be safe for concurrent
// use. Server.mu guards the set of connections and the closing flag and is
// never held while a handler runs. Close stops accepting, wakes idle
// connections, cancels the handlers' context, waits for every reply in
// flight and removes the socket. A Client sends one call at a time
// (Client.mu is held for the round trip).
//
// # Persistence
//
// None. Listen removes a stale socket left by a venus that died (nothing
// answers on it) and refuses to start while another venus answers on the
// same path.
//
// # Errors
//
// Errors are one line and name the socket or mount point. Dial's error
// wraps ErrNotRunning when no venus listens ("venus is not running (no
// control socket at …)"). A handler's error reaches the caller as a
// *ReplyError whose text is exactly the handler's message, flattened to
// one line; transport errors, timeouts and cancellations are wrapped with
// the op, and leave the Client unusable. Locate and FindMount fail with
// "no coda mount at or above PATH".
package control
