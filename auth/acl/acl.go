package acl

import (
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/coda-fs/coda/server/proto"
)

// Well-known principal ids.
const (
	AnyUser        = proto.AnyUserID        // System:AnyUser: every caller, with or without a token
	Administrators = proto.AdministratorsID // System:Administrators
	AdminUser      = proto.AdminUserID      // the "admin" user created by `coda server init`
)

// MaxEntries bounds the entries on each side (positive, negative) of an
// ACL.
const MaxEntries = 1024

// Entry grants (or, in the negative list, denies) Rights to ID.
type Entry struct {
	ID     int32
	Rights Rights
}

// ACL is a directory's access control list. Both lists are sorted by ID,
// hold each ID at most once and never hold empty rights.
type ACL struct {
	Positive []Entry
	Negative []Entry
}

// DefaultRoot returns the ACL of a new volume root.
func DefaultRoot() ACL {
	return ACL{Positive: []Entry{{Administrators, All}, {AnyUser, Read | Lookup}}}
}

// Clone returns a deep copy of a.
func (a ACL) Clone() ACL {
	return ACL{Positive: slices.Clone(a.Positive), Negative: slices.Clone(a.Negative)}
}

// Set sets id's positive (negative=false) or negative rights to r,
// removing the entry when r is None.
func (a *ACL) Set(id int32, r Rights, negative bool) error {
	l := &a.Positive
	if negative {
		l = &a.Negative
	}
	r &= All
	i, found := slices.BinarySearchFunc(*l, id, func(e Entry, id int32) int { return cmpID(e.ID, id) })
	switch {
	case found && r == None:
		*l = slices.Delete(*l, i, i+1)
	case found:
		(*l)[i].Rights = r
	case r != None:
		if len(*l) >= MaxEntries {
			return fmt.Errorf("acl: more than %d entries", MaxEntries)
		}
		*l = slices.Insert(*l, i, Entry{id, r})
	}
	return nil
}

// Get returns id's positive and negative rights.
func (a ACL) Get(id int32) (pos, neg Rights) {
	return find(a.Positive, id), find(a.Negative, id)
}

func find(l []Entry, id int32) Rights {
	for _, e := range l {
		if e.ID == id {
			return e.Rights
		}
	}
	return None
}

func cmpID(a, b int32) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Effective returns the rights a caller holding ids (its own id and its
// transitive groups) has under a: the union of their positive rights
// minus the union of their negative rights. AnyUser is always counted,
// whether or not ids contains it.
func Effective(a ACL, ids []int32) Rights {
	pos, neg := a.Get(AnyUser)
	for _, id := range ids {
		if id == AnyUser {
			continue
		}
		p, n := a.Get(id)
		pos |= p
		neg |= n
	}
	return pos &^ neg
}

// Encode returns the binary form of a. a must be valid (sorted, unique,
// non-empty rights, bounded), as Set and Decode keep it.
func Encode(a ACL) ([]byte, error) {
	if err := a.Validate(); err != nil {
		return nil, err
	}
	b := make([]byte, 0, 5+5*(len(a.Positive)+len(a.Negative)))
	b = append(b, encVersion)
	b = binary.BigEndian.AppendUint16(b, uint16(len(a.Positive)))
	b = binary.BigEndian.AppendUint16(b, uint16(len(a.Negative)))
	for _, l := range [][]Entry{a.Positive, a.Negative} {
		for _, e := range l {
			b = binary.BigEndian.AppendUint32(b, uint32(e.ID))
			b = append(b, byte(e.Rights))
		}
	}
	return b, nil
}

const encVersion = 1

// Validate reports whether a is in canonical form.
func (a ACL) Validate() error {
	for _, l := range [][]Entry{a.Positive, a.Negative} {
		if len(l) > MaxEntries {
			return fmt.Errorf("%w: more than %d entries", ErrMalformed, MaxEntries)
		}
		for i, e := range l {
			if e.Rights == None || e.Rights&^All != 0 {
				return fmt.Errorf("%w: entry %d has rights %#x", ErrMalformed, e.ID, uint8(e.Rights))
			}
			if i > 0 && l[i-1].ID >= e.ID {
				return fmt.Errorf("%w: entries not sorted or duplicated at id %d", ErrMalformed, e.ID)
			}
		}
	}
	return nil
}

// Decode parses the binary form produced by Encode.
func Decode(b []byte) (ACL, error) {
	if len(b) < 5 {
		return ACL{}, fmt.Errorf("%w: short header", ErrMalformed)
	}
	if b[0] != encVersion {
		return ACL{}, fmt.Errorf("%w: unsupported version %d", ErrMalformed, b[0])
	}
	np, nn := int(binary.BigEndian.Uint16(b[1:])), int(binary.BigEndian.Uint16(b[3:]))
	if np > MaxEntries || nn > MaxEntries {
		return ACL{}, fmt.Errorf("%w: more than %d entries", ErrMalformed, MaxEntries)
	}
	if len(b) != 5+5*(np+nn) {
		return ACL{}, fmt.Errorf("%w: length %d does not match %d entries", ErrMalformed, len(b), np+nn)
	}
	read := func(n int, off int) []Entry {
		if n == 0 {
			return nil
		}
		l := make([]Entry, n)
		for i := range l {
			p := off + 5*i
			l[i] = Entry{int32(binary.BigEndian.Uint32(b[p:])), Rights(b[p+4])}
		}
		return l
	}
	a := ACL{Positive: read(np, 5), Negative: read(nn, 5+5*np)}
	if err := a.Validate(); err != nil {
		return ACL{}, err
	}
	return a, nil
}
