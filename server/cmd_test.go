package server

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/coda-fs/coda/server/proto"
)

func exitCodeOf(err error) int {
	var ec cli.ExitCoder
	if errors.As(err, &ec) {
		return ec.ExitCode()
	}
	if err != nil {
		return 1
	}
	return 0
}

func TestCreatevolArgs(t *testing.T) {
	name, servers, err := createvolArgs([]string{"coda.root", "10.0.0.1"})
	if err != nil || name != "coda.root" || len(servers) != 1 || servers[0] != "10.0.0.1:2432" {
		t.Fatalf("createvolArgs = %q %v %v", name, servers, err)
	}
	nine := []string{"v"}
	for i := 0; i < 9; i++ {
		nine = append(nine, "h")
	}
	cases := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"v"}, 2, "need a volume NAME"},
		{nil, 2, "need a volume NAME"},
		{nine, 2, "at most 8 replicas"},
		{[]string{"a/b", "h"}, 2, "bad volume name"},
		{[]string{strings.Repeat("x", proto.MaxVolName+1), "h"}, 2, "bad volume name"},
		{[]string{"v", ""}, 2, "empty SERVER"},
	}
	for _, tc := range cases {
		_, _, err := createvolArgs(tc.args)
		if exitCodeOf(err) != tc.code || err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("createvolArgs(%q): err %v (exit %d), want exit %d and %q", tc.args, err, exitCodeOf(err), tc.code, tc.msg)
		}
	}
}

func TestVolumeListHasOneAlignedLinePerVolumeByName(t *testing.T) {
	var b bytes.Buffer
	err := writeVolumeList(&b, []proto.VolumeInfo{
		{Name: "www", ID: 0x1000002, Replicas: []proto.Replica{{ServerID: 1, Addr: "10.0.0.1:2432"}, {ServerID: 2}}, Files: 10, Bytes: 12345},
		{Name: "coda.root", ID: 0x1000001, Type: proto.VolBackup, Files: 1, Bytes: 0},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "" +
		"coda.root  1000001  backup  -                      1   0\n" +
		"www        1000002  rw      10.0.0.1:2432,server2  10  12345\n"
	if b.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", b.String(), want)
	}
}

func TestVolumeInfoHasOneFieldPerLine(t *testing.T) {
	var b bytes.Buffer
	err := writeVolumeInfo(&b, &proto.VolumeInfo{
		Name: "coda.root", ID: 0x1000001, Root: proto.FID{Volume: 0x1000001, Vnode: 1, Unique: 1},
		Replicas: []proto.Replica{{ServerID: 1, Addr: "127.0.0.1:2432", ReplicaID: 0x1000001}},
		Files:    3, Bytes: 4096,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "name    coda.root\nid      1000001\ntype    rw\nroot    1000001.1.1\nfiles   3\nbytes   4096\nreplica 1 127.0.0.1:2432 1000001\n"
	if b.String() != want {
		t.Fatalf("got\n%q\nwant\n%q", b.String(), want)
	}
}

func TestParseVolumeID(t *testing.T) {
	for in, want := range map[string]uint32{"0x1000001": 0x1000001, "0X1f": 0x1f} {
		if got, ok := parseVolumeID(in); !ok || got != want {
			t.Errorf("parseVolumeID(%q) = %x, %v", in, got, ok)
		}
	}
	for _, in := range []string{"coda.root", "1000001", "0xzz", "0x100000000"} {
		if _, ok := parseVolumeID(in); ok {
			t.Errorf("parseVolumeID(%q) took a name for an id", in)
		}
	}
}

func TestServerInitOptions(t *testing.T) {
	ok := initCmdOptions{Data: "/d", Realm: "r.org", ID: 3, Listen: "h:1", RootVolume: "coda.root"}
	got, err := ok.initOptions()
	if err != nil || got.DataDir != "/d" || got.Realm != "r.org" || got.ID != 3 || got.Listen != "h:1" || got.RootVolume != "coda.root" {
		t.Fatalf("initOptions = %+v, %v", got, err)
	}
	for _, bad := range []func(o *initCmdOptions){
		func(o *initCmdOptions) { o.Realm = "" },
		func(o *initCmdOptions) { o.Listen = "" },
		func(o *initCmdOptions) { o.ID = 0 },
		func(o *initCmdOptions) { o.ID = 256 },
		func(o *initCmdOptions) { o.Join = "h:2" },
	} {
		o := ok
		bad(&o)
		if _, err := o.initOptions(); err == nil {
			t.Errorf("initOptions(%+v) accepted", o)
		}
	}
}

func TestReadyFileIsWrittenWhole(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ready")
	if err := writeReadyFile(path, "127.0.0.1:2432\n"); err != nil {
		t.Fatal(err)
	}
	if err := writeReadyFile(path, "127.0.0.1:2433\n"); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	entries, _ := os.ReadDir(dir)
	if string(b) != "127.0.0.1:2433\n" || len(entries) != 1 {
		t.Fatalf("ready file %q, %d files in its directory", b, len(entries))
	}
	if err := removeReadyFile(path); err != nil {
		t.Fatal(err)
	}
	if err := removeReadyFile(path); err != nil {
		t.Fatalf("removing a missing ready file: %v", err)
	}
	if err := writeReadyFile(filepath.Join(dir, "no", "such", "dir"), "x"); err == nil {
		t.Fatal("ready file written into a missing directory")
	}
}

func TestLogLevel(t *testing.T) {
	var b bytes.Buffer
	l, err := newLogger(&b, "warn")
	if err != nil {
		t.Fatal(err)
	}
	l.Info("hidden")
	l.Warn("shown")
	if strings.Contains(b.String(), "hidden") || !strings.Contains(b.String(), "shown") {
		t.Fatalf("log output %q", b.String())
	}
	if _, err := newLogger(&b, "loud"); exitCodeOf(err) != 2 {
		t.Fatalf("bad level: err %v", err)
	}
}

// TestServerConfigKeysDocumented: server.conf(5) documents every key.
func TestServerConfigKeysDocumented(t *testing.T) {
	page, err := os.ReadFile("../man/server.conf.5")
	if err != nil {
		t.Fatal(err)
	}
	for key := range serverConfigKeys {
		if !strings.Contains(string(page), ".BI "+strings.ReplaceAll(key, "-", `\-`)+"= ") {
			t.Errorf("server.conf(5) does not document %s", key)
		}
	}
}
