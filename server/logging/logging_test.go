package logging

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLogFileReopens: after the file is moved away (logrotate), Reopen
// starts a new one at the path and later lines go there; the moved file
// keeps what came before.
func TestLogFileReopens(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "server.log")
	l, lf, err := Open(nil, Options{File: path})
	if err != nil {
		t.Fatal(err)
	}
	defer lf.Close()
	l.Info("before rotation")
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	l.Info("still the old file")
	if err := lf.Reopen(); err != nil {
		t.Fatal(err)
	}
	l.Info("after rotation")
	old, _ := os.ReadFile(path + ".1")
	cur, _ := os.ReadFile(path)
	if !bytes.Contains(old, []byte("before rotation")) || !bytes.Contains(old, []byte("still the old file")) || bytes.Contains(old, []byte("after")) {
		t.Fatalf("the rotated file holds %q", old)
	}
	if !bytes.Contains(cur, []byte("after rotation")) || bytes.Contains(cur, []byte("before")) {
		t.Fatalf("the new file holds %q", cur)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != logMode {
		t.Fatalf("log file mode %v", st.Mode())
	}
}

func TestFormatsAndLevels(t *testing.T) {
	var b bytes.Buffer
	l, lf, err := Open(&b, Options{Format: "json", Level: "warn"})
	if err != nil || lf != nil {
		t.Fatal(err, lf)
	}
	l.Info("hidden")
	l.Warn("server down", "server", 2)
	var rec map[string]any
	if err := json.Unmarshal(b.Bytes(), &rec); err != nil || rec["msg"] != "server down" || rec["server"] != 2.0 {
		t.Fatalf("json log %q: %v", b.String(), err)
	}
	for _, o := range []Options{{Level: "loud"}, {Format: "xml"}, {File: "/nonexistent/dir/log"}} {
		if _, _, err := Open(&b, o); err == nil {
			t.Errorf("%+v accepted", o)
		} else if !strings.Contains(err.Error(), "log") {
			t.Errorf("%+v: unclear error %v", o, err)
		}
	}
}
