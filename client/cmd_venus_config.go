package client

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"strconv"
	"strings"
)

// DefaultVenusConfig is the configuration file venus reads when --config
// is not given. A missing default file is fine.
const DefaultVenusConfig = "/etc/coda/venus.conf"

// readVenusConfig reads a venus.conf: key=value lines, # comments, blank
// lines; values may be double-quoted. Keys are returned lower-case; unknown
// keys are kept (Coda's venus.conf has many we do not use). A missing file
// is an error unless missingOK.
func readVenusConfig(path string, missingOK bool) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		if missingOK && errors.Is(err, fs.ErrNotExist) {
			return map[string]string{}, nil
		}
		return nil, fmt.Errorf("venus config: %w", err)
	}
	defer f.Close()
	conf, err := parseVenusConfig(f)
	if err != nil {
		return nil, fmt.Errorf("venus config %s: %w", path, err)
	}
	return conf, nil
}

func parseVenusConfig(r io.Reader) (map[string]string, error) {
	conf := map[string]string{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		key, val, ok := strings.Cut(line, "=")
		key = strings.ToLower(strings.TrimSpace(key))
		if !ok || key == "" {
			return nil, fmt.Errorf("line %d: want key=value", n)
		}
		val = strings.TrimSpace(val)
		if len(val) >= 2 && val[0] == '"' && val[len(val)-1] == '"' {
			val = val[1 : len(val)-1]
		}
		conf[key] = val
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return conf, nil
}

// parseSize parses a byte count with an optional K, M, G or T suffix
// (powers of 1024; a trailing B or iB is allowed): "2G", "512M", "4096".
// Unlike Coda's cachesize, a bare number is bytes, not kilobytes.
func parseSize(s string) (int64, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	t = strings.TrimSuffix(strings.TrimSuffix(t, "B"), "I")
	shift := 0
	if n := len(t); n > 0 {
		if i := strings.IndexByte("KMGT", t[n-1]); i >= 0 {
			shift = 10 * (i + 1)
			t = t[:n-1]
		}
	}
	v, err := strconv.ParseInt(t, 10, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("bad size %q: want a number with an optional K, M, G or T suffix", s)
	}
	if v > math.MaxInt64>>shift {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	return v << shift, nil
}
