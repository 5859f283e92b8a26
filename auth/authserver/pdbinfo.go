package authserver

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/coda-fs/coda/auth/pdb"
)

// pdbInfo prints one user or group (pdbtool i):
//
//	user bob (id 3)
//	  groups:   alice:friends (-205)
//	  cps:      bob (3), alice:all (-206), alice:friends (-205), System:AnyUser (-101)
//	  owns:     -
//
// A group shows owner and members instead of owns. groups are the direct
// memberships, cps the protection set (the id itself, every group it
// belongs to transitively, System:AnyUser).
func (s *Service) pdbInfo(args []string) (string, error) {
	p := s.pdb.Value()
	e, err := resolve(p, args[0])
	if err != nil {
		return "", err
	}
	all := p.List()
	var direct, owns []int32
	for _, g := range all {
		if !g.IsGroup() {
			continue
		}
		if slices.Contains(g.Members, e.ID) {
			direct = append(direct, g.ID)
		}
		if g.Owner == e.ID {
			owns = append(owns, g.ID)
		}
	}
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	if e.IsGroup() {
		fmt.Fprintf(&b, "group %s (id %d)\n", e.Name, e.ID)
		fmt.Fprintf(w, "  owner:\t%s\n", names(p, []int32{e.Owner}))
		fmt.Fprintf(w, "  members:\t%s\n", names(p, e.Members))
	} else {
		fmt.Fprintf(&b, "user %s (id %d)\n", e.Name, e.ID)
	}
	fmt.Fprintf(w, "  groups:\t%s\n", names(p, direct))
	cps := p.IDs(e.ID)
	if e.IsGroup() {
		cps = cps[1:]
	}
	fmt.Fprintf(w, "  cps:\t%s\n", names(p, cps))
	if !e.IsGroup() {
		fmt.Fprintf(w, "  owns:\t%s\n", names(p, owns))
	}
	w.Flush()
	return b.String(), nil
}

// names formats ids as "name (id), …", or "-" for none.
func names(p *pdb.DB, ids []int32) string {
	if len(ids) == 0 {
		return "-"
	}
	parts := make([]string, len(ids))
	for i, id := range ids {
		name, ok := p.Name(id)
		if !ok {
			name = "?"
		}
		parts[i] = fmt.Sprintf("%s (%d)", name, id)
	}
	return strings.Join(parts, ", ")
}

// pdbList prints one line per user, then per group (pdbtool list):
//
//	user   1     admin
//	group  -204  System:Administrators  owner admin  members admin
func (s *Service) pdbList([]string) (string, error) {
	p := s.pdb.Value()
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	for _, e := range p.List() {
		if !e.IsGroup() {
			fmt.Fprintf(w, "user\t%d\t%s\n", e.ID, e.Name)
			continue
		}
		owner, _ := p.Name(e.Owner)
		line := fmt.Sprintf("group\t%d\t%s\towner %s", e.ID, e.Name, owner)
		if len(e.Members) > 0 {
			ms := make([]string, len(e.Members))
			for i, m := range e.Members {
				ms[i], _ = p.Name(m)
			}
			line += "\tmembers " + strings.Join(ms, ",")
		}
		fmt.Fprintln(w, line)
	}
	w.Flush()
	return b.String(), nil
}

// pdbExport returns the export text (pdbtool export), which import reads.
func (s *Service) pdbExport([]string) (string, error) {
	var b bytes.Buffer
	if err := s.pdb.Value().Export(&b); err != nil {
		return "", err
	}
	return b.String(), nil
}
