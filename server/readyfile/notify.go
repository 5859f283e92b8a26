package readyfile

import (
	"net"
	"os"
)

// Notify tells systemd (a Type=notify unit) the daemon's state, e.g.
// "READY=1" or "STOPPING=1", on the datagram socket $NOTIFY_SOCKET names
// (a leading @ is the abstract namespace). Without it, it does nothing.
func Notify(state string) error {
	path := os.Getenv("NOTIFY_SOCKET")
	if path == "" {
		return nil
	}
	if path[0] == '@' {
		path = "\x00" + path[1:]
	}
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.Write([]byte(state))
	return err
}
