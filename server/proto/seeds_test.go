package proto

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

var writeSeeds = flag.Bool("write-seeds", false, "rewrite the fuzz seed corpora under testdata/fuzz")

// TestWriteFuzzSeeds regenerates testdata/fuzz/* from frameSeeds and
// messageSamples when run with -write-seeds; otherwise it checks that the
// committed corpora exist.
func TestWriteFuzzSeeds(t *testing.T) {
	var msgs [][]byte
	for i, m := range messageSamples() {
		msgs = append(msgs, append([]byte{byte(i)}, Marshal(m)...))
	}
	sets := map[string][][]byte{"FuzzReadFrame": frameSeeds(), "FuzzDecodeMessages": msgs}
	for name, seeds := range sets {
		dir := filepath.Join("testdata", "fuzz", name)
		if !*writeSeeds {
			if ents, err := os.ReadDir(dir); err != nil || len(ents) == 0 {
				t.Errorf("no seed corpus in %s (run go test -run TestWriteFuzzSeeds -write-seeds)", dir)
			}
			continue
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for i, s := range seeds {
			body := "go test fuzz v1\n[]byte(" + strconv.Quote(string(s)) + ")\n"
			p := filepath.Join(dir, fmt.Sprintf("seed-%02d", i))
			if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
