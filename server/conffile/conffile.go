// Package conffile reads coda's configuration files (/etc/coda/server.conf,
// /etc/coda/venus.conf): key=value lines, # comments, blank lines, values
// optionally double-quoted; keys are case-insensitive. A file sets the
// flags of a command that the command line (or the flag's CODA_*
// environment variable) did not set; an unknown key is warned about and
// ignored; a bad value fails with the file, the line and the reason.
package conffile

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/urfave/cli/v2"
)

// Entry is one key=value line.
type Entry struct {
	Key, Value string
	Line       int
}

// File is a parsed configuration file.
type File struct {
	Path    string
	Entries []Entry
}

// Read reads the file at path. A missing file is an empty one when
// missingOK (a default path), an error otherwise.
func Read(path string, missingOK bool) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		if missingOK && errors.Is(err, fs.ErrNotExist) {
			return &File{Path: path}, nil
		}
		return nil, err // *fs.PathError: names the file
	}
	defer f.Close()
	return Parse(path, f)
}

// Parse parses a configuration file read from r; path names it in errors.
func Parse(path string, r io.Reader) (*File, error) {
	cf := &File{Path: path}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		key, val, ok := strings.Cut(line, "=")
		key = strings.ToLower(strings.TrimSpace(key))
		if !ok || key == "" {
			return nil, fmt.Errorf("%s:%d: want key=value", path, n)
		}
		val = strings.TrimSpace(val)
		if len(val) >= 2 && val[0] == '"' && val[len(val)-1] == '"' {
			val = val[1 : len(val)-1]
		}
		cf.Entries = append(cf.Entries, Entry{Key: key, Value: val, Line: n})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return cf, nil
}

// Map returns the values by key (the last line of a key wins).
func (cf *File) Map() map[string]Entry {
	m := map[string]Entry{}
	for _, e := range cf.Entries {
		m[e.Key] = e
	}
	return m
}

// Errorf returns an error naming the file and e's line.
func (cf *File) Errorf(e Entry, format string, args ...any) error {
	return fmt.Errorf("%s:%d: %s: %s", cf.Path, e.Line, e.Key, fmt.Sprintf(format, args...))
}

// Key is what a configuration key sets: a flag, and optionally a check
// of the value beyond the flag's own parsing.
type Key struct {
	Flag  string
	Check func(string) error
}

// Apply sets the flags of c that keys names from the file, unless set on
// the command line or by environment; the flag parses the value (and Check
// checks it), and a bad one fails with the file, line and reason. Keys the
// file has that keys lacks go to warn.
func (cf *File) Apply(c *cli.Context, keys map[string]Key, warn func(string)) error {
	return cf.ApplyTo(keys, c.IsSet, c.Set, warn)
}

// ApplyTo is Apply for flags kept elsewhere than in a cli.Context: isSet
// says whether the command line (or environment) set a flag, set sets one
// from the file.
func (cf *File) ApplyTo(keys map[string]Key, isSet func(flag string) bool, set func(flag, value string) error, warn func(string)) error {
	for _, e := range cf.Entries {
		k, ok := keys[e.Key]
		if !ok {
			warn(fmt.Sprintf("%s:%d: unknown key %q ignored", cf.Path, e.Line, e.Key))
			continue
		}
		if isSet(k.Flag) {
			continue
		}
		if k.Check != nil {
			if err := k.Check(e.Value); err != nil {
				return cf.Errorf(e, "bad value %q: %v", e.Value, err)
			}
		}
		if err := set(k.Flag, e.Value); err != nil {
			return cf.Errorf(e, "bad value %q: %v", e.Value, err)
		}
	}
	return nil
}
