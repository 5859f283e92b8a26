package resolve

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/coda-fs/coda/server/proto"
)

// The scenario files in testdata/dir script partitions of one directory and
// state what MergeDir must make of them, in the style of etcd's
// datadriven tests: each case is command lines, "----", and the expected
// output, ended by a blank line. `go test ./resolve -run TestDirScenarios
// -rewrite` writes the outputs the code gives (review the diff).
//
// Commands (R is a replica number, or several joined by commas: one
// update applied by that partition, one StoreID):
//
//	replicas N              N replicas of an empty directory, logs empty
//	base NAME...            files every replica has (before the partition)
//	basedir NAME...         the same, directories
//	on R insert NAME        a new file NAME
//	on R mkdir NAME         a new directory NAME
//	on R delete NAME        NAME removed (the version R saw is recorded)
//	on R update NAME        the object NAME updated (its version moves)
//	on R rename OLD NEW     renamed within the directory
//	on R movein NAME DIR    NAME arrived from directory DIR (a number)
//	on R moveout NAME DIR   NAME left for directory DIR
//	on R setattr            the directory's own attributes changed
//	truncate R              R's log lost its old operations
//	merge                   MergeDir; prints the result
var rewrite = flag.Bool("rewrite", false, "rewrite the expected output of the scenario files")

func TestDirScenarios(t *testing.T) {
	files, err := filepath.Glob("testdata/dir/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenario files: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) { runScenarioFile(t, f) })
	}
}

func runScenarioFile(t *testing.T, path string) {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	var out []string
	var sim *dirSim
	for i := 0; i < len(lines); {
		// One case: commands up to "----", expected output up to a blank line.
		start := i
		var cmds []string
		for ; i < len(lines) && lines[i] != "----"; i++ {
			cmds = append(cmds, lines[i])
		}
		if i == len(lines) {
			out = append(out, cmds...)
			break
		}
		i++ // "----"
		var want []string
		for ; i < len(lines) && lines[i] != ""; i++ {
			want = append(want, lines[i])
		}
		var got []string
		for _, c := range cmds {
			if c == "" || strings.HasPrefix(c, "#") {
				continue
			}
			if strings.HasPrefix(c, "replicas ") {
				n, _ := strconv.Atoi(strings.TrimPrefix(c, "replicas "))
				sim = newDirSim(n)
				continue
			}
			if sim == nil {
				t.Fatalf("%s:%d: no replicas command before %q", path, start+1, c)
			}
			res, err := sim.do(c)
			if err != nil {
				t.Fatalf("%s: %q: %v", path, c, err)
			}
			got = append(got, res...)
		}
		if !*rewrite && strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s:%d:\n%s\ngot:\n%s\nwant:\n%s", path, start+1, strings.Join(cmds, "\n"),
				strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		out = append(out, cmds...)
		out = append(out, "----")
		out = append(out, got...)
		if i < len(lines) {
			out = append(out, "")
			i++
		}
	}
	if *rewrite {
		if err := os.WriteFile(path, []byte(strings.Join(out, "\n")), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// dirSim simulates the replicas of one directory and its objects.
type dirSim struct {
	reps  []DirReplica
	objs  []map[proto.FID]proto.VV // per replica: the objects' versions
	names map[proto.FID]string     // for printing
	next  uint32
	seq   uint64
}

func newDirSim(n int) *dirSim {
	s := &dirSim{names: map[proto.FID]string{}, next: 2}
	for range n {
		s.reps = append(s.reps, DirReplica{Entries: map[string]Entry{}})
		s.objs = append(s.objs, map[proto.FID]proto.VV{})
	}
	return s
}

func (s *dirSim) newFID(name string) proto.FID {
	f := proto.FID{Volume: 1, Vnode: s.next, Unique: s.next}
	s.next++
	s.names[f] = name
	return f
}

func (s *dirSim) fidName(f proto.FID) string {
	if f.IsZero() {
		return "-"
	}
	return "#" + strconv.Itoa(int(f.Vnode))
}

func (s *dirSim) do(cmd string) ([]string, error) {
	f := strings.Fields(cmd)
	switch f[0] {
	case "base", "basedir":
		typ := proto.TypeFile
		if f[0] == "basedir" {
			typ = proto.TypeDir
		}
		for _, name := range f[1:] {
			fid := s.newFID(name)
			for i := range s.reps {
				s.reps[i].Entries[name] = Entry{FID: fid, Type: typ}
				s.objs[i][fid] = proto.VV{Counters: [proto.MaxReplicas]uint32{1, 1, 1}}
			}
		}
		return nil, nil
	case "truncate":
		r, err := strconv.Atoi(f[1])
		if err != nil {
			return nil, err
		}
		s.reps[r].Log, s.reps[r].Truncated = nil, true
		return nil, nil
	case "merge":
		return s.merge(), nil
	case "on":
		if len(f) < 3 {
			return nil, fmt.Errorf("on R OP …")
		}
		var rs []int
		for _, x := range strings.Split(f[1], ",") {
			r, err := strconv.Atoi(x)
			if err != nil || r < 0 || r >= len(s.reps) {
				return nil, fmt.Errorf("bad replica %q", x)
			}
			rs = append(rs, r)
		}
		s.seq++
		sid := proto.StoreID{Client: 7, Seq: s.seq}
		return nil, s.op(rs, sid, f[2], f[3:])
	}
	return nil, fmt.Errorf("unknown command %q", f[0])
}

func (s *dirSim) op(rs []int, sid proto.StoreID, op string, args []string) error {
	need := func(n int) error {
		if len(args) != n {
			return fmt.Errorf("%s needs %d arguments", op, n)
		}
		return nil
	}
	logAll := func(o LogOp) {
		for _, r := range rs {
			s.reps[r].Log = append(s.reps[r].Log, o)
		}
	}
	bump := func(fid proto.FID) {
		for _, r := range rs {
			v := s.objs[r][fid]
			for _, q := range rs {
				v.Counters[q]++
			}
			v.Store = sid
			s.objs[r][fid] = v
		}
	}
	entry := func(name string) (Entry, error) {
		e, ok := s.reps[rs[0]].Entries[name]
		if !ok {
			return e, fmt.Errorf("replica %d has no %s", rs[0], name)
		}
		return e, nil
	}
	switch op {
	case "insert", "mkdir":
		if err := need(1); err != nil {
			return err
		}
		typ := proto.TypeFile
		if op == "mkdir" {
			typ = proto.TypeDir
		}
		fid := s.newFID(args[0])
		for _, r := range rs {
			s.reps[r].Entries[args[0]] = Entry{FID: fid, Type: typ}
		}
		bump(fid)
		logAll(LogOp{Kind: OpInsert, Store: sid, Name: args[0], FID: fid, Type: typ})
	case "delete":
		if err := need(1); err != nil {
			return err
		}
		e, err := entry(args[0])
		if err != nil {
			return err
		}
		vv := s.objs[rs[0]][e.FID]
		for _, r := range rs {
			delete(s.reps[r].Entries, args[0])
			delete(s.objs[r], e.FID)
		}
		logAll(LogOp{Kind: OpDelete, Store: sid, Name: args[0], FID: e.FID, Type: e.Type, ObjVV: vv})
	case "update":
		if err := need(1); err != nil {
			return err
		}
		e, err := entry(args[0])
		if err != nil {
			return err
		}
		bump(e.FID)
	case "rename":
		if err := need(2); err != nil {
			return err
		}
		e, err := entry(args[0])
		if err != nil {
			return err
		}
		if old, ok := s.reps[rs[0]].Entries[args[1]]; ok { // replaced: a delete first
			logAll(LogOp{Kind: OpDelete, Store: sid, Name: args[1], FID: old.FID, Type: old.Type, ObjVV: s.objs[rs[0]][old.FID]})
			for _, r := range rs {
				delete(s.objs[r], old.FID)
			}
		}
		for _, r := range rs {
			delete(s.reps[r].Entries, args[0])
			s.reps[r].Entries[args[1]] = e
		}
		logAll(LogOp{Kind: OpRenameOut, Store: sid, Name: args[0], FID: e.FID, Type: e.Type, ObjVV: s.objs[rs[0]][e.FID], PeerName: args[1]})
		logAll(LogOp{Kind: OpRenameIn, Store: sid, Name: args[1], FID: e.FID, Type: e.Type, PeerName: args[0]})
	case "movein", "moveout":
		if err := need(2); err != nil {
			return err
		}
		n, err := strconv.Atoi(args[1])
		if err != nil {
			return err
		}
		peer := proto.FID{Volume: 1, Vnode: uint32(1000 + n), Unique: uint32(1000 + n)}
		if op == "movein" {
			fid := s.newFID(args[0])
			for _, r := range rs {
				s.reps[r].Entries[args[0]] = Entry{FID: fid, Type: proto.TypeFile}
				s.objs[r][fid] = proto.VV{Counters: [proto.MaxReplicas]uint32{1, 1, 1}}
			}
			logAll(LogOp{Kind: OpRenameIn, Store: sid, Name: args[0], FID: fid, Type: proto.TypeFile, Peer: peer, PeerName: args[0]})
			return nil
		}
		e, err := entry(args[0])
		if err != nil {
			return err
		}
		for _, r := range rs {
			delete(s.reps[r].Entries, args[0])
		}
		logAll(LogOp{Kind: OpRenameOut, Store: sid, Name: args[0], FID: e.FID, Type: e.Type, ObjVV: s.objs[rs[0]][e.FID], Peer: peer, PeerName: args[0]})
	case "setattr":
		logAll(LogOp{Kind: OpSetAttr, Store: sid})
	default:
		return fmt.Errorf("unknown operation %q", op)
	}
	return nil
}

// merge runs MergeDir, applies its actions and prints the outcome; it
// checks that the replicas end identical apart from the conflicts.
func (s *dirSim) merge() []string {
	objs := func(fid proto.FID) ([]proto.VV, []bool) {
		vvs, ok := make([]proto.VV, len(s.reps)), make([]bool, len(s.reps))
		for i := range s.reps {
			vvs[i], ok[i] = s.objs[i][fid]
		}
		return vvs, ok
	}
	plan := MergeDir(s.reps, objs)
	var out []string
	if plan.Fallback {
		out = append(out, "fallback: logs not usable, entries compared")
	}
	for _, c := range plan.Conflicts {
		var have []string
		for i, e := range c.Have {
			have = append(have, fmt.Sprintf("%d=%s", i, s.fidName(e.FID)))
		}
		if c.Kind == AttrAttr {
			out = append(out, "conflict attr/attr (the directory's attributes)")
			continue
		}
		out = append(out, fmt.Sprintf("conflict %s %s: %s", c.Name, c.Kind, strings.Join(have, " ")))
	}
	for _, f := range plan.Related {
		out = append(out, fmt.Sprintf("related directory %d", f.Vnode-1000))
	}
	conflicted := map[string]bool{}
	for _, c := range plan.Conflicts {
		conflicted[c.Name] = true
	}
	for i := range s.reps {
		for _, a := range plan.Actions[i] {
			if a.Delete {
				delete(s.reps[i].Entries, a.Name)
			} else {
				s.reps[i].Entries[a.Name] = a.Entry
			}
		}
	}
	var lines []string
	for i, r := range s.reps {
		var names []string
		for n, e := range r.Entries {
			if !conflicted[n] {
				names = append(names, n+"="+s.fidName(e.FID))
			}
		}
		sort.Strings(names)
		lines = append(lines, strings.Join(names, " "))
		if i > 0 && lines[i] != lines[0] {
			out = append(out, fmt.Sprintf("MISMATCH: replica %d differs from replica 0", i))
		}
	}
	out = append(out, "merged: "+lines[0])
	// The merged state is the new common base: logs start over.
	for i := range s.reps {
		s.reps[i].Log, s.reps[i].Truncated = nil, false
	}
	return out
}
