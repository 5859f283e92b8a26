package control

import (
	"fmt"
	"net"

	"golang.org/x/sys/unix"
)

// Peer is the process at the other end of a connection, as the kernel
// reported it (SO_PEERCRED) when that process connected. PID is in the
// server's PID namespace (0 when the peer is in none the server can see).
type Peer struct {
	UID uint32
	GID uint32
	PID uint32
}

// String is "uid U gid G pid P", for logs.
func (p Peer) String() string {
	return fmt.Sprintf("uid %d gid %d pid %d", p.UID, p.GID, p.PID)
}

// peerCred returns the credentials the kernel recorded for the process that
// connected c.
func peerCred(c *net.UnixConn) (Peer, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return Peer{}, fmt.Errorf("peer credentials: %w", err)
	}
	var cred *unix.Ucred
	var credErr error
	if err := raw.Control(func(fd uintptr) {
		cred, credErr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return Peer{}, fmt.Errorf("peer credentials: %w", err)
	}
	if credErr != nil {
		return Peer{}, fmt.Errorf("peer credentials: %w", credErr)
	}
	return Peer{UID: cred.Uid, GID: cred.Gid, PID: uint32(cred.Pid)}, nil
}
