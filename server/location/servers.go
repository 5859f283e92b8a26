package location

import (
	"bufio"
	"bytes"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/coda-fs/coda/server/realmdb"
	"github.com/coda-fs/coda/server/store"
)

// ServersName is the name of the servers database.
const ServersName = "servers"

const serversHeader = "coda-servers 1"

// Servers maps server ids (1–255) to their HOST:PORT. A published value is
// never modified: With returns a changed copy.
type Servers map[uint32]string

// With returns a copy of s in which server id is at addr.
func (s Servers) With(id uint32, addr string) Servers {
	c := maps.Clone(s)
	if c == nil {
		c = Servers{}
	}
	c[id] = addr
	return c
}

// ByAddr returns the id of the server at addr.
func (s Servers) ByAddr(addr string) (uint32, bool) {
	for id, a := range s {
		if a == addr {
			return id, true
		}
	}
	return 0, false
}

// ServersCodec encodes the servers database as text: a header line, then
// "ID HOST:PORT" lines in id order.
var ServersCodec = realmdb.Codec[Servers]{Encode: encodeServers, Decode: decodeServers}

func encodeServers(s Servers) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(serversHeader + "\n")
	for _, id := range slices.Sorted(maps.Keys(s)) {
		if err := checkServer(id, s[id]); err != nil {
			return nil, err
		}
		fmt.Fprintf(&b, "%d %s\n", id, s[id])
	}
	return b.Bytes(), nil
}

func decodeServers(data []byte) (Servers, error) {
	s := Servers{}
	if len(data) == 0 {
		return s, nil
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if n == 1 {
			if line != serversHeader {
				return nil, fmt.Errorf("servers: line 1: want %q", serversHeader)
			}
			continue
		}
		f := strings.Fields(line)
		if len(f) != 2 {
			return nil, fmt.Errorf("servers: line %d: want ID HOST:PORT", n)
		}
		id, err := strconv.ParseUint(f[0], 10, 8)
		if err != nil {
			return nil, fmt.Errorf("servers: line %d: bad server id %q", n, f[0])
		}
		if err := checkServer(uint32(id), f[1]); err != nil {
			return nil, fmt.Errorf("servers: line %d: %w", n, err)
		}
		if _, dup := s[uint32(id)]; dup {
			return nil, fmt.Errorf("servers: line %d: server %d twice", n, id)
		}
		s[uint32(id)] = f[1]
	}
	return s, sc.Err()
}

func checkServer(id uint32, addr string) error {
	if id < 1 || id > 255 {
		return fmt.Errorf("server id %d: want 1-255", id)
	}
	if addr == "" || strings.ContainsAny(addr, " \t\n") {
		return fmt.Errorf("server %d: bad address %q", id, addr)
	}
	return nil
}

// OpenServers opens the servers database in st.
func OpenServers(st *store.DB, wmu *sync.Mutex) (*realmdb.Database[Servers], error) {
	return realmdb.Open(st, wmu, ServersName, ServersCodec)
}
