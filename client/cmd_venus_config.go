package client

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/coda-fs/coda/server/conffile"
	"github.com/coda-fs/coda/server/logging"
)

// DefaultVenusConfig is the configuration file venus reads when --config
// is not given. A missing default file is fine.
const DefaultVenusConfig = "/etc/coda/venus.conf"

// venusConfigKeys are venus.conf's keys (Coda's names) and the flags they
// stand for; man/venus.conf.5 documents each (a test checks that it does).
// Other keys of Coda's venus.conf are warned about and ignored.
var venusConfigKeys = map[string]conffile.Key{
	"realm": {Flag: "realm"}, "servers": {Flag: "servers"}, "mountpoint": {Flag: "mount"}, "cachedir": {Flag: "cache"},
	"cachesize": {Flag: "cache-size", Check: func(v string) error { _, err := parseSize(v); return err }},
	"ca":        {Flag: "ca"}, "control": {Flag: "control"},
	"log-level": {Flag: "log-level", Check: logging.CheckLevel}, "log-file": {Flag: "log-file"},
	"log-format": {Flag: "log-format", Check: logging.CheckFormat}, "metrics": {Flag: "metrics"},
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
