package man

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// groffOrSkip returns the groff binary; without one the test skips, unless
// CODA_TEST_DISALLOW_SKIP is set (make test installs groff-base first).
func groffOrSkip(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("groff")
	if err != nil {
		if os.Getenv("CODA_TEST_DISALLOW_SKIP") != "" {
			t.Fatal("groff is not installed (apt-get install groff-base; make test does it)")
		}
		t.Skip("groff is not installed")
	}
	return p
}

// renderWarnings renders a page with every warning on and returns what
// groff said.
func renderWarnings(t *testing.T, groff, path string) string {
	t.Helper()
	var stderr bytes.Buffer
	cmd := exec.Command(groff, "-ww", "-man", "-Tutf8", "-z", path)
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return "groff failed: " + err.Error() + ": " + stderr.String()
	}
	return stderr.String()
}

func TestEveryPageRendersWithoutWarnings(t *testing.T) {
	groff := groffOrSkip(t)
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if !IsPageName(e.Name()) {
			continue
		}
		n++
		if w := renderWarnings(t, groff, e.Name()); w != "" {
			t.Errorf("%s: groff -ww -man: %s", e.Name(), w)
		}
	}
	for _, required := range []string{"coda.1", "coda-server.8", "venus.8", "coda-proto.7"} {
		if _, err := os.Stat(required); err != nil {
			t.Errorf("required page %s is missing", required)
		}
	}
	if n == 0 {
		t.Fatal("no man pages found")
	}
}

func TestGroffCheckCatchesABrokenPage(t *testing.T) {
	groff := groffOrSkip(t)
	path := filepath.Join(t.TempDir(), "broken.1")
	if err := os.WriteFile(path, []byte(".TH BROKEN 1\n.SH NAME\nbroken\n.XX unknown request\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if w := renderWarnings(t, groff, path); w == "" {
		t.Fatal("groff -ww reported nothing for an unknown request")
	}
}

func testApp() *cli.App {
	return &cli.App{
		Name:      "tool",
		Usage:     "a test tool",
		UsageText: "tool MODE",
		Commands: []*cli.Command{{
			Name:      "run",
			Usage:     "run a thing",
			UsageText: "tool run [--dir DIR] NAME\ntool run --list",
			Description: `Runs a thing.

.Dotted line and a back\slash stay text.

EXAMPLES:
   tool run --dir /tmp x`,
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "dir", Value: "/var", EnvVars: []string{"TOOL_DIR"}, Usage: "work in `DIR`"},
				&cli.BoolFlag{Name: "list", Usage: "list things"},
				&cli.StringFlag{Name: "secret", Hidden: true, Usage: "hidden"},
			},
			Subcommands: []*cli.Command{{Name: "sub", Usage: "a subcommand", UsageText: "tool run sub"}},
		}},
	}
}

func TestRenderCommandPage(t *testing.T) {
	pages := []Page{{Name: "tool", Section: 1}, {Command: "run", Name: "tool-run", Section: 8}}
	b, err := Render(testApp(), pages[1], pages, []string{"tool-proto(7)"})
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	for _, want := range []string{
		GeneratedMarker + "\n.TH TOOL\\-RUN 8 ",
		".SH NAME\ntool\\-run \\- run a thing\n",
		".SH SYNOPSIS\n.nf\ntool run [\\-\\-dir DIR] NAME\ntool run \\-\\-list\n.fi\n",
		".PP\n\\&.Dotted line and a back\\eslash stay text.\n",
		"\\fB\\-\\-dir\\fR \\fIDIR\\fR\nwork in DIR (default: /var) (environment: TOOL_DIR)\n",
		"\\fB\\-\\-list\\fR\nlist things\n",
		".SS sub\n",
		".SH EXAMPLES\n.PP\n.RS 4\n.nf\ntool run \\-\\-dir /tmp x\n.fi\n.RE\n",
		".SH SEE ALSO\n.BR tool (1),\n.BR tool\\-proto (7)\n",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q:\n%s", want, page)
		}
	}
	if strings.Contains(page, "secret") {
		t.Error("a hidden flag is documented")
	}
	if _, err := Render(testApp(), Page{Command: "nosuch", Name: "x", Section: 1}, nil, nil); err == nil {
		t.Error("Render of an unknown command succeeded")
	}
}

func TestWriteAllReplacesOnlyGeneratedPages(t *testing.T) {
	dir := t.TempDir()
	hand := filepath.Join(dir, "tool-proto.7")
	stale := filepath.Join(dir, "old.8")
	os.WriteFile(hand, []byte(".TH TOOL-PROTO 7\n"), 0o644)
	os.WriteFile(stale, []byte(GeneratedMarker+"\n.TH OLD 8\n"), 0o644)
	pages := []Page{{Name: "tool", Section: 1}, {Command: "run", Name: "tool-run", Section: 8}}
	if err := WriteAll(dir, testApp(), pages, nil); err != nil {
		t.Fatal(err)
	}
	got, err := Generated(dir)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, " ") != "tool-run.8 tool.1" {
		t.Errorf("generated pages %v", got)
	}
	if _, err := os.Stat(hand); err != nil {
		t.Error("hand-written page removed")
	}
	if _, err := os.Stat(stale); err == nil {
		t.Error("stale generated page kept")
	}
	if groff, err := exec.LookPath("groff"); err == nil {
		for _, name := range got {
			if w := renderWarnings(t, groff, filepath.Join(dir, name)); w != "" {
				t.Errorf("%s: %s", name, w)
			}
		}
	}
}
