package man

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"

	"github.com/urfave/cli/v2"
)

// roff accumulates a page in the man macro language.
type roff struct{ b bytes.Buffer }

func (w *roff) line(s string) { w.b.WriteString(s); w.b.WriteByte('\n') }

func (w *roff) linef(format string, args ...any) { w.line(fmt.Sprintf(format, args...)) }

func (w *roff) section(title string) { w.linef(".SH %s", esc(title)) }

// text writes prose as one filled text line (escaped).
func (w *roff) text(s string) {
	if s = strings.Join(strings.Fields(s), " "); s != "" {
		w.line(escLine(s))
	}
}

// verbatim writes lines without filling, indented.
func (w *roff) verbatim(lines []string) {
	w.line(".PP")
	w.line(".RS 4")
	w.line(".nf")
	for _, l := range lines {
		w.line(escLine(l))
	}
	w.line(".fi")
	w.line(".RE")
}

func (w *roff) synopsis(usageText string) {
	if usageText == "" {
		return
	}
	w.section("SYNOPSIS")
	w.line(".nf")
	for _, l := range strings.Split(usageText, "\n") {
		w.line(escLine(strings.TrimSpace(l)))
	}
	w.line(".fi")
}

// textSection is a titled part of a description ("EXAMPLES:" and what
// follows it).
type textSection struct {
	title string
	body  string
}

var heading = regexp.MustCompile(`^([A-Z][A-Z ]*[A-Z]):$`)

// splitSections splits a description at heading lines ("EXAMPLES:"); the
// first part has no title.
func splitSections(desc string) []textSection {
	secs := []textSection{{}}
	for _, l := range strings.Split(desc, "\n") {
		if m := heading.FindStringSubmatch(strings.TrimSpace(l)); m != nil {
			secs = append(secs, textSection{title: m[1]})
			continue
		}
		cur := &secs[len(secs)-1]
		cur.body += l + "\n"
	}
	return secs
}

// description writes the untitled first part of desc (under a
// DESCRIPTION heading when top) and returns the titled parts for later.
func (w *roff) description(desc string, top bool) []textSection {
	secs := splitSections(desc)
	if strings.TrimSpace(secs[0].body) != "" {
		if top {
			w.section("DESCRIPTION")
		}
		w.body(secs[0].body)
	}
	return secs[1:]
}

func (w *roff) extraSections(secs []textSection) {
	for _, s := range secs {
		w.section(s.title)
		w.body(s.body)
	}
}

// body writes paragraphs separated by blank lines; runs of lines indented
// by white space are shown verbatim.
func (w *roff) body(text string) {
	var prose, verb []string
	flush := func() {
		if len(prose) > 0 {
			w.line(".PP")
			w.text(strings.Join(prose, " "))
			prose = nil
		}
		if len(verb) > 0 {
			w.verbatim(verb)
			verb = nil
		}
	}
	for _, l := range strings.Split(text, "\n") {
		switch {
		case strings.TrimSpace(l) == "":
			flush()
		case l[0] == ' ' || l[0] == '\t':
			if len(prose) > 0 {
				flush()
			}
			verb = append(verb, strings.TrimSpace(l))
		default:
			if len(verb) > 0 {
				flush()
			}
			prose = append(prose, l)
		}
	}
	flush()
}

func (w *roff) options(flags []cli.Flag) {
	var docs []flagDoc
	for _, f := range flags {
		if d, ok := docOf(f); ok {
			docs = append(docs, d)
		}
	}
	if len(docs) == 0 {
		return
	}
	w.section("OPTIONS")
	w.flagDocs(docs)
}

// flagList writes the flags of a subcommand inside its subsection.
func (w *roff) flagList(flags []cli.Flag) {
	var docs []flagDoc
	for _, f := range flags {
		if d, ok := docOf(f); ok {
			docs = append(docs, d)
		}
	}
	w.flagDocs(docs)
}

func (w *roff) flagDocs(docs []flagDoc) {
	for _, d := range docs {
		w.line(".TP")
		w.line(d.names)
		u := d.usage
		if d.defaultText != "" {
			u += " (default: " + d.defaultText + ")"
		}
		if len(d.env) > 0 {
			u += " (environment: " + strings.Join(d.env, ", ") + ")"
		}
		w.text(u)
	}
}

func (w *roff) seeAlso(refs []string) {
	if len(refs) == 0 {
		return
	}
	w.section("SEE ALSO")
	for i, r := range refs {
		name, sec, _ := strings.Cut(strings.TrimSuffix(r, ")"), "(")
		sep := ","
		if i == len(refs)-1 {
			sep = ""
		}
		w.linef(".BR %s (%s)%s", esc(name), sec, sep)
	}
}

// esc escapes text for roff: backslashes and hyphens (so that options
// render as minus signs and copy-paste correctly).
func esc(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	s = strings.ReplaceAll(s, "-", `\-`)
	if !isASCII(s) { // groff reads bytes: name other characters by code point
		var b strings.Builder
		for _, r := range s {
			if r < 0x80 {
				b.WriteRune(r)
			} else {
				fmt.Fprintf(&b, `\[u%04X]`, r)
			}
		}
		s = b.String()
	}
	return s
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// escLine escapes a whole output line: a leading dot or quote would be
// read as a request.
func escLine(s string) string {
	s = esc(s)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}
