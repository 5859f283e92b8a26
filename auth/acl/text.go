package acl

import (
	"bufio"
	"fmt"
	"strconv"
	"strings"
)

// Resolver maps principal names to ids and back (the protection
// database; *pdb.DB satisfies it).
type Resolver interface {
	Lookup(name string) (int32, bool)
	Name(id int32) (string, bool)
}

// NegativeHeader introduces the negative entries in the text form.
const NegativeHeader = "Negative rights:"

// maxText bounds the text form ParseText reads.
const maxText = 1 << 20

// Text returns the `cfs la` form of a: one "  NAME RIGHTS" line per
// positive entry, then, if there are negative entries, NegativeHeader and
// their lines. An id the resolver does not know is printed as a number.
func Text(a ACL, r Resolver) string {
	var b strings.Builder
	line := func(e Entry) {
		name, ok := r.Name(e.ID)
		if !ok {
			name = strconv.Itoa(int(e.ID))
		}
		fmt.Fprintf(&b, "  %s  %s\n", name, e.Rights)
	}
	for _, e := range a.Positive {
		line(e)
	}
	if len(a.Negative) > 0 {
		b.WriteString(NegativeHeader + "\n")
		for _, e := range a.Negative {
			line(e)
		}
	}
	return b.String()
}

// ParseText parses the text form. Blank lines are ignored; a line
// "Normal rights:" or "Positive rights:" switches to positive entries and
// NegativeHeader to negative ones. A name the resolver does not know is
// accepted if it is a decimal id. Rights are as for ParseRights; "none"
// entries are dropped; naming one principal twice on a side is an error.
func ParseText(s string, r Resolver) (ACL, error) {
	if len(s) > maxText {
		return ACL{}, fmt.Errorf("%w: text longer than %d bytes", ErrMalformed, maxText)
	}
	var a ACL
	negative := false
	seen := [2]map[int32]bool{{}, {}}
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(make([]byte, 0, 4096), maxText)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch line {
		case "":
			continue
		case NegativeHeader:
			negative = true
			continue
		case "Normal rights:", "Positive rights:":
			negative = false
			continue
		}
		f := strings.Fields(line)
		if len(f) != 2 {
			return ACL{}, fmt.Errorf("%w: line %d: want NAME RIGHTS", ErrMalformed, n)
		}
		id, ok := r.Lookup(f[0])
		if !ok {
			v, err := strconv.ParseInt(f[0], 10, 32)
			if err != nil || v == 0 {
				return ACL{}, fmt.Errorf("%w: line %d: unknown user or group %q", ErrMalformed, n, f[0])
			}
			id = int32(v)
		}
		rights, err := ParseRights(f[1])
		if err != nil {
			return ACL{}, fmt.Errorf("line %d: %w", n, err)
		}
		side := 0
		if negative {
			side = 1
		}
		if seen[side][id] {
			return ACL{}, fmt.Errorf("%w: line %d: %s listed twice", ErrMalformed, n, f[0])
		}
		seen[side][id] = true
		if err := a.Set(id, rights, negative); err != nil {
			return ACL{}, fmt.Errorf("%w: line %d: %v", ErrMalformed, n, err)
		}
	}
	if err := sc.Err(); err != nil {
		return ACL{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return a, nil
}
