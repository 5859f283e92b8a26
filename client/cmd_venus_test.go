package client

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

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

func TestParseVenusConfig(t *testing.T) {
	conf, err := parseVenusConfig(strings.NewReader(`# venus.conf
realm = example.org
Servers=10.0.0.1:2432,10.0.0.2
  mountpoint="/coda"

cachesize=2G   
# cachedir=/nowhere
rvmtype=UFS
`))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"realm": "example.org", "servers": "10.0.0.1:2432,10.0.0.2",
		"mountpoint": "/coda", "cachesize": "2G", "rvmtype": "UFS"}
	if len(conf) != len(want) {
		t.Errorf("conf = %v, want %v", conf, want)
	}
	for k, v := range want {
		if conf[k] != v {
			t.Errorf("conf[%s] = %q, want %q", k, conf[k], v)
		}
	}
	if _, err := parseVenusConfig(strings.NewReader("realm=r\njunk line\n")); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("a line without = : err %v, want one naming line 2", err)
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

	got, err := venusFlags(map[string]string{"config": path, "realm": "flag.org", "cache-size": "512M"}).venusOptions()
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
	got, err := venusFlags(map[string]string{"config": "/dev/null", "realm": "r", "servers": " a:1 , ,b "}).venusOptions()
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
		if _, err := venusFlags(tc.set).venusOptions(); err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%v: err %v, want %q", tc.set, err, tc.msg)
		}
	}
	o := venusFlags(map[string]string{"config": "/dev/null", "realm": "r", "servers": "a"})
	o.Force = true
	if _, err := o.venusOptions(); err == nil || !strings.Contains(err.Error(), "--force goes with --init") {
		t.Errorf("--force alone: err %v", err)
	}
	o.Init = true
	if opts, err := o.venusOptions(); err != nil || !opts.InitCache || !opts.ForceInit {
		t.Errorf("--init --force: %+v, %v", opts, err)
	}
}

func TestMissingDefaultConfigIsFine(t *testing.T) {
	conf, err := readVenusConfig(filepath.Join(t.TempDir(), "venus.conf"), true)
	if err != nil || len(conf) != 0 {
		t.Fatalf("readVenusConfig = %v, %v", conf, err)
	}
}
