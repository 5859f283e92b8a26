package authserver

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/coda-fs/coda/auth/password"
	"github.com/coda-fs/coda/auth/pdb"
	"github.com/coda-fs/coda/server/realmdb"
)

// passwdHeader opens the password database's payload, one entry a line
// after it:
//
//	coda-passwd 1
//	ID NAME HASH
//
// ID is the user's pdb id, NAME its name when the password was set (an
// entry counts only while the pdb still gives ID that name, so an id
// reused after an import never inherits a password) and HASH the argon2id
// PHC string of package password. Lines are sorted by id.
const passwdHeader = "coda-passwd 1"

// passwords maps a user id to its password entry. A published value is
// never modified; a change works on a clone.
type passwords map[int32]pwEntry

type pwEntry struct {
	name string
	hash string
}

// lookup returns user's hash, if p holds one for user's id and name.
func (p passwords) lookup(id int32, user string) (string, bool) {
	e, ok := p[id]
	if !ok || e.name != user {
		return "", false
	}
	return e.hash, true
}

// prune drops the entries that no user of db matches and returns how
// many it dropped.
func (p passwords) prune(db *pdb.DB) int {
	n := 0
	for id, e := range p {
		if name, ok := db.Name(id); !ok || name != e.name {
			delete(p, id)
			n++
		}
	}
	return n
}

var passwdCodec = realmdb.Codec[passwords]{Encode: encodePasswords, Decode: decodePasswords}

func encodePasswords(p passwords) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(passwdHeader + "\n")
	for _, id := range slices.Sorted(maps.Keys(p)) {
		fmt.Fprintf(&b, "%d %s %s\n", id, p[id].name, p[id].hash)
	}
	return b.Bytes(), nil
}

func decodePasswords(data []byte) (passwords, error) {
	p := passwords{}
	if len(data) == 0 {
		return p, nil
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 4096)
	if !sc.Scan() || sc.Text() != passwdHeader {
		return nil, fmt.Errorf("passwd: want header %q", passwdHeader)
	}
	for n := 2; sc.Scan(); n++ {
		id, e, err := parsePasswdLine(sc.Text())
		if err != nil {
			return nil, fmt.Errorf("passwd: line %d: %w", n, err)
		}
		if _, dup := p[id]; dup {
			return nil, fmt.Errorf("passwd: line %d: duplicate id %d", n, id)
		}
		p[id] = e
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("passwd: %w", err)
	}
	return p, nil
}

func parsePasswdLine(line string) (int32, pwEntry, error) {
	f := strings.Split(line, " ")
	if len(f) != 3 {
		return 0, pwEntry{}, errors.New("want ID NAME HASH")
	}
	id, err := strconv.ParseInt(f[0], 10, 32)
	if err != nil || id <= 0 {
		return 0, pwEntry{}, fmt.Errorf("bad user id")
	}
	if err := pdb.ValidUser(f[1]); err != nil {
		return 0, pwEntry{}, err
	}
	if _, _, _, err := password.Decode(f[2]); err != nil {
		return 0, pwEntry{}, err
	}
	return int32(id), pwEntry{name: f[1], hash: f[2]}, nil
}
