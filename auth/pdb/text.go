package pdb

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Text format, one entry a line after the header line:
//
//	coda-pdb 1
//	user ID NAME
//	group ID NAME OWNER [MEMBER,MEMBER,...]
//
// Blank lines and lines starting with '#' are ignored.
const header = "coda-pdb 1"

// Import limits.
const (
	maxLine    = 1 << 20
	maxEntries = 1 << 20
)

// Export writes every entry in the text format (users ascending, then
// groups descending).
func (d *DB) Export(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, header)
	for _, e := range d.List() {
		if !e.IsGroup() {
			fmt.Fprintf(bw, "user %d %s\n", e.ID, e.Name)
			continue
		}
		fmt.Fprintf(bw, "group %d %s %d", e.ID, e.Name, e.Owner)
		for i, m := range e.Members {
			sep := ","
			if i == 0 {
				sep = " "
			}
			fmt.Fprintf(bw, "%s%d", sep, m)
		}
		fmt.Fprintln(bw)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("pdb: export: %w", err)
	}
	return nil
}

// Import reads the text format into a new database, checking every rule
// AddUser, AddGroup and AddMember check.
func Import(r io.Reader) (*DB, error) {
	d := New()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxLine)
	type membership struct {
		group   int32
		members []int32
		line    int
	}
	var mems []membership
	sawHeader := false
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if !sawHeader {
			if line != header {
				return nil, fmt.Errorf("%w: line %d: want %q", ErrMalformed, n, header)
			}
			sawHeader = true
			continue
		}
		if len(d.byID) >= maxEntries {
			return nil, fmt.Errorf("%w: more than %d entries", ErrMalformed, maxEntries)
		}
		e, members, err := parseLine(line)
		if err != nil {
			return nil, fmt.Errorf("%w: line %d: %v", ErrMalformed, n, err)
		}
		if _, ok := d.byID[e.ID]; ok {
			return nil, fmt.Errorf("%w: line %d: duplicate id %d", ErrMalformed, n, e.ID)
		}
		if _, ok := d.byName[e.Name]; ok {
			return nil, fmt.Errorf("%w: line %d: duplicate name %s", ErrMalformed, n, e.Name)
		}
		d.put(e)
		if len(members) > 0 {
			mems = append(mems, membership{e.ID, members, n})
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if !sawHeader {
		return nil, fmt.Errorf("%w: missing %q header", ErrMalformed, header)
	}
	for _, e := range d.byID {
		if e.IsGroup() {
			if err := d.checkOwner(e.Name, e.Owner); err != nil {
				return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
			}
		}
	}
	for _, m := range mems {
		for _, id := range m.members {
			if err := d.AddMember(m.group, id); err != nil {
				return nil, fmt.Errorf("%w: line %d: %v", ErrMalformed, m.line, err)
			}
		}
	}
	return d, nil
}

func parseLine(line string) (*Entry, []int32, error) {
	f := strings.Fields(line)
	if len(f) < 3 {
		return nil, nil, fmt.Errorf("too few fields")
	}
	id, err := parseID(f[1])
	if err != nil {
		return nil, nil, err
	}
	e := &Entry{ID: id, Name: f[2]}
	switch {
	case f[0] == "user" && len(f) == 3:
		if id <= 0 {
			return nil, nil, fmt.Errorf("user id %d must be positive", id)
		}
		return e, nil, ValidUser(e.Name)
	case f[0] == "group" && (len(f) == 4 || len(f) == 5):
		if id >= 0 {
			return nil, nil, fmt.Errorf("group id %d must be negative", id)
		}
		if err := ValidGroup(e.Name); err != nil {
			return nil, nil, err
		}
		if e.Owner, err = parseID(f[3]); err != nil {
			return nil, nil, err
		}
		if len(f) == 4 {
			return e, nil, nil
		}
		var members []int32
		for _, s := range strings.Split(f[4], ",") {
			m, err := parseID(s)
			if err != nil {
				return nil, nil, err
			}
			members = append(members, m)
		}
		return e, members, nil
	}
	return nil, nil, fmt.Errorf("want \"user ID NAME\" or \"group ID NAME OWNER [MEMBERS]\"")
}

func parseID(s string) (int32, error) {
	v, err := strconv.ParseInt(s, 10, 32)
	if err != nil || v == 0 {
		return 0, fmt.Errorf("bad id %q", clip(s))
	}
	return int32(v), nil
}
