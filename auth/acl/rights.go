package acl

import (
	"errors"
	"fmt"
	"strings"
)

// Rights is a set of Coda access rights.
type Rights uint8

// The seven rights.
const (
	Read Rights = 1 << iota
	Lookup
	Insert
	Delete
	Write
	Lock
	Administer

	None Rights = 0
	All  Rights = Read | Lookup | Insert | Delete | Write | Lock | Administer
)

// letters lists the right letters in canonical order, bit i = letters[i].
const letters = "rlidwka"

// ErrMalformed wraps every parse and decode failure of this package.
var ErrMalformed = errors.New("acl: malformed")

// ParseRights parses a rights string: letters from "rlidwka" in any
// order, or one of all, none, read (rl), write (rlidwk).
func ParseRights(s string) (Rights, error) {
	switch s {
	case "all":
		return All, nil
	case "none":
		return None, nil
	case "read":
		return Read | Lookup, nil
	case "write":
		return All &^ Administer, nil
	case "":
		return None, fmt.Errorf("%w: empty rights", ErrMalformed)
	}
	var r Rights
	for _, c := range s {
		i := strings.IndexRune(letters, c)
		if i < 0 {
			return None, fmt.Errorf("%w: rights %q: unknown right %q (use rlidwka, all, read, write or none)", ErrMalformed, s, c)
		}
		r |= 1 << i
	}
	return r, nil
}

// String returns the rights as letters in "rlidwka" order, or "none".
func (r Rights) String() string {
	if r&All == 0 {
		return "none"
	}
	var b strings.Builder
	for i := range len(letters) {
		if r&(1<<i) != 0 {
			b.WriteByte(letters[i])
		}
	}
	return b.String()
}

// Has reports whether r includes every right in want.
func (r Rights) Has(want Rights) bool { return r&want == want }
