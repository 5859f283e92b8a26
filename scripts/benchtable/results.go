package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// knownPhases is fsbench.sh's phase order; phases it may add later are
// appended in the order they are first seen.
var knownPhases = [...]string{
	"untar", "find_stat", "grep", "small_create", "small_delete",
	"dd_write", "dd_read", "rm_rf",
}

// runResult is one fsbench.sh execution on one target.
type runResult struct {
	secs    map[string]float64
	failed  map[string]bool // phase printed "(rc=N)"
	order   []string
	summary string // text of the "# …" line, without the '#'
	ignored []string
}

// target is one column: its runs, or why it has none.
type target struct {
	name string
	runs []runResult
	na   string
}

type results struct {
	targets []target
	phases  []string
	notes   []string
}

// parseRun reads fsbench.sh output. Lines it does not understand are kept
// in ignored so the caller can show them instead of silently dropping data.
func parseRun(r io.Reader) (runResult, error) {
	ru := runResult{secs: map[string]float64{}, failed: map[string]bool{}}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "":
			continue
		case strings.HasPrefix(line, "#"):
			ru.summary = strings.TrimSpace(line[1:])
			continue
		}
		f := strings.Fields(line)
		if len(f) < 2 {
			ru.ignored = append(ru.ignored, line)
			continue
		}
		secs, err := strconv.ParseFloat(f[1], 64)
		if err != nil || secs < 0 {
			ru.ignored = append(ru.ignored, line)
			continue
		}
		if _, dup := ru.secs[f[0]]; !dup {
			ru.order = append(ru.order, f[0])
		}
		ru.secs[f[0]] = secs
		if len(f) >= 3 && strings.HasPrefix(f[2], "(rc=") {
			ru.failed[f[0]] = true
		}
	}
	return ru, sc.Err()
}

// loadResults reads dir/<name>/{na,run-N.out} for each target name.
func loadResults(dir string, names []string) (*results, error) {
	if len(names) == 0 {
		return nil, errors.New("no targets given")
	}
	res := &results{}
	for _, name := range names {
		t, err := loadTarget(filepath.Join(dir, name), name)
		if err != nil {
			return nil, err
		}
		res.targets = append(res.targets, t)
	}
	notes, err := os.ReadFile(filepath.Join(dir, "notes.txt"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read notes: %w", err)
	}
	for _, l := range strings.Split(string(notes), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			res.notes = append(res.notes, l)
		}
	}
	res.phases = phaseOrder(res.targets)
	return res, nil
}

func loadTarget(dir, name string) (target, error) {
	t := target{name: name}
	if b, err := os.ReadFile(filepath.Join(dir, "na")); err == nil {
		t.na = strings.TrimSpace(string(b))
		if t.na == "" {
			t.na = "not measured"
		}
		return t, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return t, fmt.Errorf("read %s: %w", name, err)
	}
	files, err := filepath.Glob(filepath.Join(dir, "run-*.out"))
	if err != nil {
		return t, err
	}
	sort.Slice(files, func(i, j int) bool { return runIndex(files[i]) < runIndex(files[j]) })
	for _, fn := range files {
		ru, err := parseFile(fn)
		if err != nil {
			return t, fmt.Errorf("read %s: %w", fn, err)
		}
		t.runs = append(t.runs, ru)
	}
	if len(t.runs) == 0 {
		t.na = "no runs recorded"
	}
	return t, nil
}

func parseFile(fn string) (runResult, error) {
	f, err := os.Open(fn)
	if err != nil {
		return runResult{}, err
	}
	defer f.Close()
	return parseRun(f)
}

// runIndex extracts N from run-N.out so run-10 sorts after run-9.
func runIndex(fn string) int {
	base := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(fn), "run-"), ".out")
	n, err := strconv.Atoi(base)
	if err != nil {
		return 1 << 30
	}
	return n
}

func phaseOrder(ts []target) []string {
	seen := map[string]bool{}
	var out []string
	for _, p := range knownPhases {
		seen[p] = true
		out = append(out, p)
	}
	for _, t := range ts {
		for _, ru := range t.runs {
			for _, p := range ru.order {
				if !seen[p] {
					seen[p] = true
					out = append(out, p)
				}
			}
		}
	}
	return out
}

// median of a non-empty slice; the mean of the middle two when even.
func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
