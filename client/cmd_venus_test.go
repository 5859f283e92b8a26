package client

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/coda-fs/coda/server/conffile"
	"github.com/coda-fs/coda/server/logging"
)

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{
		"4096": 4096, "100K": 100 << 10, "512m": 512 << 20, "2G": 2 << 30, "2GB": 2 << 30,
		"2GiB": 2 << 30, "1T": 1 << 40, " 3M ": 3 << 20, "0": 0,
	} {
		got, err := parseSize(in)
		if err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "G", "lots", "-1M", "1.5G", "2X", "9999999999T"} {
		if _, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) accepted", in)
		}
	}
}

// TestVenusConfigFile: Coda's key names, any case, quoted values; flags
// not given take the file's values; an unknown key is warned about with
// its line; a bad value names the file, the line and the reason.
func TestVenusConfigFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "venus.conf")
	os.WriteFile(path, []byte(`# venus.conf
realm = example.org
Servers=10.0.0.1:2432,10.0.0.2
  mountpoint="/coda"

cachesize=2G
# cachedir=/nowhere
rvmtype=UFS
log-format=json
`), 0o644)
	var warnings []string
	got, err := venusFlags(map[string]string{"config": path}).venusOptions(func(m string) { warnings = append(warnings, m) })
	if err != nil {
		t.Fatal(err)
	}
	if got.Realm != "example.org" || strings.Join(got.Servers, ",") != "10.0.0.1:2432,10.0.0.2:2432" || got.Mount != "/coda" || got.CacheSize != 2<<30 {
		t.Errorf("options %+v", got)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], path+":8: unknown key \"rvmtype\"") {
		t.Errorf("warnings %q", warnings)
	}
	for _, tc := range []struct{ conf, msg string }{
		{"realm=r\njunk line\n", ":2: want key=value"},
		{"realm=r\nservers=a\ncachesize=lots\n", ":3: cachesize: bad value \"lots\""},
		{"realm=r\nservers=a\nlog-level=loud\n", ":3: log-level: bad value \"loud\""},
	} {
		os.WriteFile(path, []byte(tc.conf), 0o644)
		if _, err := venusFlags(map[string]string{"config": path}).venusOptions(func(string) {}); err == nil || !strings.Contains(err.Error(), path+tc.msg) {
			t.Errorf("%q: err %v, want %q", tc.conf, err, tc.msg)
		}
	}
}

// venusFlags returns options as NewVenusCommand's defaults leave them,
// with the given flags set on the command line.
func venusFlags(set map[string]string) venusCmdOptions {
	o := venusCmdOptions{Mount: "/coda", Cache: "/var/lib/coda/cache", CacheSize: "2G", Log: logging.Options{Level: "info"}, set: map[string]bool{}}
	fields := map[string]*string{"realm": &o.Realm, "servers": &o.Servers, "mount": &o.Mount,
		"cache": &o.Cache, "cache-size": &o.CacheSize, "ca": &o.CA, "config": &o.Config}
	for k, v := range set {
		*fields[k] = v
		o.set[k] = true
	}
	return o
}

func TestVenusFlagsWinOverTheConfigFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "venus.conf")
	os.WriteFile(path, []byte("realm=file.org\nservers=f1,f2:9\nmountpoint=/fmnt\ncachedir=/fcache\ncachesize=1G\nca=/f/ca.pem\n"), 0o644)

	got, err := venusFlags(map[string]string{"config": path, "realm": "flag.org", "cache-size": "512M"}).venusOptions(func(string) {})
	if err != nil {
		t.Fatal(err)
	}
	if got.Realm != "flag.org" || got.CacheSize != 512<<20 {
		t.Errorf("flags lost: %+v", got)
	}
	if strings.Join(got.Servers, ",") != "f1:2432,f2:9" || got.Mount != "/fmnt" || got.CacheDir != "/fcache" || got.CAFile != "/f/ca.pem" {
		t.Errorf("file settings lost: %+v", got)
	}
}

func TestVenusDevNullConfigLeavesTheDefaults(t *testing.T) {
	got, err := venusFlags(map[string]string{"config": "/dev/null", "realm": "r", "servers": " a:1 , ,b "}).venusOptions(func(string) {})
	if err != nil {
		t.Fatal(err)
	}
	if got.Mount != "/coda" || got.CacheDir != "/var/lib/coda/cache" || got.CacheSize != 2<<30 || got.CAFile != "" {
		t.Errorf("defaults changed: %+v", got)
	}
	if strings.Join(got.Servers, ",") != "a:1,b:2432" {
		t.Errorf("servers %v", got.Servers)
	}
}

func TestVenusOptionErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "none.conf")
	for _, tc := range []struct {
		set map[string]string
		msg string
	}{
		{map[string]string{"config": "/dev/null"}, "no realm"},
		{map[string]string{"config": "/dev/null", "realm": "r"}, "no servers"},
		{map[string]string{"config": "/dev/null", "realm": "r", "servers": "a", "cache-size": "big"}, "bad size"},
		{map[string]string{"config": missing, "realm": "r", "servers": "a"}, "no such file"},
	} {
		if _, err := venusFlags(tc.set).venusOptions(func(string) {}); err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%v: err %v, want %q", tc.set, err, tc.msg)
		}
	}
	o := venusFlags(map[string]string{"config": "/dev/null", "realm": "r", "servers": "a"})
	o.Force = true
	if _, err := o.venusOptions(func(string) {}); err == nil || !strings.Contains(err.Error(), "--force goes with --init") {
		t.Errorf("--force alone: err %v", err)
	}
	o.Init = true
	if opts, err := o.venusOptions(func(string) {}); err != nil || !opts.InitCache || !opts.ForceInit {
		t.Errorf("--init --force: %+v, %v", opts, err)
	}
}

func TestMissingDefaultConfigIsFine(t *testing.T) {
	cf, err := conffile.Read(filepath.Join(t.TempDir(), "venus.conf"), true)
	if err != nil || len(cf.Entries) != 0 {
		t.Fatalf("conffile.Read = %v, %v", cf, err)
	}
}

// TestVenusConfigKeysDocumented: venus.conf(5) documents every key.
func TestVenusConfigKeysDocumented(t *testing.T) {
	page, err := os.ReadFile("../man/venus.conf.5")
	if err != nil {
		t.Fatal(err)
	}
	for key := range venusConfigKeys {
		if !strings.Contains(string(page), ".BI "+strings.ReplaceAll(key, "-", `\-`)+"= ") {
			t.Errorf("venus.conf(5) does not document %s", key)
		}
	}
}
