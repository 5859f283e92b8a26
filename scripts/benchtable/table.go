package main

import (
	"fmt"
	"strings"
)

// cell is one (phase, target) figure.
type cell struct {
	ok      bool    // a value exists
	secs    float64 // median seconds
	failed  bool    // some run printed (rc=N) for this phase
	partial bool    // some runs lack this phase (or, for total, a phase)
	na      bool    // the whole target is n/a
}

type table struct {
	phases  []string // rows, "total" last
	targets []string // columns
	cells   [][]cell // [row][col]
	notes   []string
}

const localTarget = "local"

func buildTable(res *results) *table {
	t := &table{phases: append(append([]string(nil), res.phases...), "total")}
	for _, tg := range res.targets {
		t.targets = append(t.targets, tg.name)
	}
	t.cells = make([][]cell, len(t.phases))
	for i, p := range res.phases {
		for _, tg := range res.targets {
			t.cells[i] = append(t.cells[i], phaseCell(tg, p))
		}
	}
	last := len(t.phases) - 1
	for _, tg := range res.targets {
		t.cells[last] = append(t.cells[last], totalCell(tg, res.phases))
	}
	t.notes = tableNotes(res, t)
	return t
}

func phaseCell(tg target, phase string) cell {
	if tg.na != "" {
		return cell{na: true}
	}
	var c cell
	var xs []float64
	for _, ru := range tg.runs {
		v, ok := ru.secs[phase]
		if !ok {
			c.partial = true
			continue
		}
		xs = append(xs, v)
		c.failed = c.failed || ru.failed[phase]
	}
	if len(xs) > 0 {
		c.ok, c.secs = true, median(xs)
	}
	return c
}

// totalCell is the median of per-run totals over the runs that have every
// phase; runs missing a phase are left out and the cell is marked partial.
func totalCell(tg target, phases []string) cell {
	if tg.na != "" {
		return cell{na: true}
	}
	var c cell
	var xs []float64
	for _, ru := range tg.runs {
		sum, complete, failed := 0.0, true, false
		for _, p := range phases {
			v, ok := ru.secs[p]
			if !ok {
				complete = false
				break
			}
			sum += v
			failed = failed || ru.failed[p]
		}
		if !complete {
			c.partial = true
			continue
		}
		xs = append(xs, sum)
		c.failed = c.failed || failed
	}
	if len(xs) > 0 {
		c.ok, c.secs = true, median(xs)
	}
	return c
}

func (t *table) localCol() int {
	for j, name := range t.targets {
		if name == localTarget {
			return j
		}
	}
	return -1
}

// format renders one cell: "12.30 (2.0x)", with ! for a failed phase and
// * for a figure missing from some runs.
func (t *table) format(i, j int) string {
	c := t.cells[i][j]
	if c.na {
		return "n/a"
	}
	s := "-"
	if c.ok {
		s = fmt.Sprintf("%.2f", c.secs)
	}
	if lc := t.localCol(); c.ok && lc >= 0 && lc != j {
		if base := t.cells[i][lc]; base.ok && base.secs > 0 {
			s += fmt.Sprintf(" (%.1fx)", c.secs/base.secs)
		}
	}
	if c.failed {
		s += "!"
	}
	if c.partial {
		s += "*"
	}
	return s
}

func tableNotes(res *results, t *table) []string {
	notes := append([]string(nil), res.notes...)
	var bang, star bool
	for i := range t.cells {
		for _, c := range t.cells[i] {
			bang, star = bang || c.failed, star || c.partial
		}
	}
	for _, tg := range res.targets {
		if tg.na != "" {
			notes = append(notes, fmt.Sprintf("%s: n/a (%s)", tg.name, tg.na))
			continue
		}
		notes = append(notes, fmt.Sprintf("%s: %d run(s); %s", tg.name, len(tg.runs), tg.runs[len(tg.runs)-1].summary))
		for k, ru := range tg.runs {
			for _, l := range ru.ignored {
				notes = append(notes, fmt.Sprintf("%s run %d: ignored output line %q", tg.name, k+1, l))
			}
		}
	}
	if bang {
		notes = append(notes, "! = the phase exited non-zero in at least one run")
	}
	if star {
		notes = append(notes, "* = some runs lack this figure (the run stopped early); median of the others")
	}
	return notes
}

func (t *table) header() []string {
	h := []string{"phase"}
	for _, name := range t.targets {
		h = append(h, name+" (s)")
	}
	return h
}

func (t *table) row(i int) []string {
	r := []string{t.phases[i]}
	for j := range t.targets {
		r = append(r, t.format(i, j))
	}
	return r
}

func (t *table) text() string {
	rows := [][]string{t.header()}
	for i := range t.phases {
		rows = append(rows, t.row(i))
	}
	width := make([]int, len(rows[0]))
	for _, r := range rows {
		for j, s := range r {
			width[j] = max(width[j], len(s))
		}
	}
	var b strings.Builder
	for k, r := range rows {
		for j, s := range r {
			if j == 0 {
				fmt.Fprintf(&b, "%-*s", width[j], s)
			} else {
				fmt.Fprintf(&b, "  %*s", width[j], s)
			}
		}
		b.WriteByte('\n')
		if k == 0 {
			total := len(rows[0]) - 1
			for _, w := range width {
				total += w + 1
			}
			b.WriteString(strings.Repeat("-", total) + "\n")
		}
	}
	for _, n := range t.notes {
		b.WriteString("  " + n + "\n")
	}
	return b.String()
}

func (t *table) markdown(title string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\n", title)
	b.WriteString("| " + strings.Join(t.header(), " | ") + " |\n")
	b.WriteString("|---" + strings.Repeat("|---:", len(t.targets)) + "|\n")
	for i := range t.phases {
		r := t.row(i)
		if t.phases[i] == "total" {
			for j := range r {
				r[j] = "**" + r[j] + "**"
			}
		}
		b.WriteString("| " + strings.Join(r, " | ") + " |\n")
	}
	if len(t.notes) > 0 {
		b.WriteString("\n")
		for _, n := range t.notes {
			b.WriteString("- " + strings.ReplaceAll(n, "*", `\*`) + "\n")
		}
	}
	return b.String()
}
