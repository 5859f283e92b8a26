package control

import (
	"strings"
	"testing"
)

// sampleMountinfo has nested venus mounts, escaped names, optional fields
// of every count, and non-coda mounts with confusable names.
const sampleMountinfo = `22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
40 22 0:39 / /coda rw,nosuid,nodev,relatime shared:5 master:2 - fuse.coda coda rw,user_id=0,group_id=0,allow_other
41 40 0:40 / /coda/nested rw,nosuid,nodev,relatime - fuse.coda coda rw,user_id=0,group_id=0
42 22 0:41 / /mnt/my\040coda rw,nosuid,nodev shared:7 - fuse.coda coda rw,user_id=0,group_id=0
43 22 0:42 / /codax rw - tmpfs tmpfs rw
44 22 0:43 / /mnt/other rw - fuse.sshfs host:/ rw
45 22 0:44 / /mnt/back\134slash\011tab rw - fuse.coda coda rw
46 40 0:45 / /coda/tmp rw - tmpfs tmp\040fs rw
`

func TestParseMountinfo(t *testing.T) {
	ms, err := parseMountinfo(sampleMountinfo)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 8 {
		t.Fatalf("%d mounts, want 8", len(ms))
	}
	want := map[int]mount{
		1: {"/coda", "fuse.coda", "coda"},
		3: {"/mnt/my coda", "fuse.coda", "coda"},
		6: {"/mnt/back\\slash\ttab", "fuse.coda", "coda"},
		7: {"/coda/tmp", "tmpfs", "tmp fs"},
	}
	for i, w := range want {
		if ms[i] != w {
			t.Errorf("mount %d = %+v, want %+v", i, ms[i], w)
		}
	}
}

func TestInnermostCodaMount(t *testing.T) {
	ms, err := parseMountinfo(sampleMountinfo)
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		"/coda":                     "/coda",
		"/coda/realm/dir/f":         "/coda",
		"/coda/nested":              "/coda/nested",
		"/coda/nested/a/b":          "/coda/nested",
		"/coda/nestedx":             "/coda",
		"/coda/tmp/f":               "/coda", // a foreign mount inside: the venus above still serves the tree
		"/codax/f":                  "",
		"/mnt/my coda/f":            "/mnt/my coda",
		"/mnt/my":                   "",
		"/mnt/other/x":              "",
		"/mnt/back\\slash\ttab/x":   "/mnt/back\\slash\ttab",
		"/":                         "",
		"/mnt/my\\040coda/not-real": "",
	} {
		got, ok := innermostCoda(ms, path)
		if got != want || ok != (want != "") {
			t.Errorf("innermostCoda(%q) = %q, %v; want %q", path, got, ok, want)
		}
	}
}

func TestParseMountinfoRejectsMalformedLines(t *testing.T) {
	for _, text := range []string{
		"22 1 8:1 / / rw,relatime shared:1 ext4 /dev/sda1 rw\n", // no separator
		"22 1 8:1 / / rw - ext4\n",                              // no source
		"22 1 8:1 /\n",
	} {
		if _, err := parseMountinfo(text); err == nil || !strings.Contains(err.Error(), "line 1 is malformed") {
			t.Errorf("parseMountinfo(%q): %v", text, err)
		}
	}
}

func TestUnescapeOctal(t *testing.T) {
	for in, want := range map[string]string{
		`plain`:        "plain",
		`a\040b`:       "a b",
		`\134`:         `\`,
		`trail\04`:     `trail\04`,
		`bad\089`:      `bad\089`,
		`\400`:         `\400`,
		`\012\011\040`: "\n\t ",
	} {
		if got := unescapeOctal(in); got != want {
			t.Errorf("unescapeOctal(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzParseMountinfo(f *testing.F) {
	f.Add(sampleMountinfo)
	f.Add("1 2 3 4 5 6 - a b c")
	f.Fuzz(func(t *testing.T, text string) {
		ms, err := parseMountinfo(text)
		if err != nil {
			return
		}
		for _, m := range ms {
			innermostCoda([]mount{m}, "/coda/x")
		}
	})
}
