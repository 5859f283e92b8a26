package authserver

import (
	"errors"
	"fmt"
	"maps"
	"strconv"
	"strings"

	"github.com/coda-fs/coda/auth/acl"
	"github.com/coda-fs/coda/auth/pdb"
	"github.com/coda-fs/coda/server/proto"
)

// pdbCmd is one pdbtool command.
type pdbCmd struct {
	usage   string // arguments, for the usage message
	nargs   int
	mutates bool // SCM only
	run     func(s *Service, args []string) (string, error)
}

var pdbCmds = map[string]pdbCmd{
	"nu":     {"NAME", 1, true, (*Service).pdbNewUser},
	"nui":    {"NAME ID", 2, true, (*Service).pdbNewUser},
	"ng":     {"GROUP OWNER", 2, true, (*Service).pdbNewGroup},
	"ag":     {"GROUP MEMBER", 2, true, (*Service).pdbAddMember},
	"rg":     {"GROUP MEMBER", 2, true, (*Service).pdbRemoveMember},
	"d":      {"NAME|ID", 1, true, (*Service).pdbDelete},
	"i":      {"NAME|ID", 1, false, (*Service).pdbInfo},
	"list":   {"", 0, false, (*Service).pdbList},
	"export": {"", 0, false, (*Service).pdbExport},
	"import": {"TEXT", 1, true, (*Service).pdbImport},
}

// PDB runs one pdbtool command (args[0] is its name) and returns what
// `coda pdbtool` prints. Mutations run only on the SCM; the caller checks
// that the requester is an administrator. Errors are *proto.Error with a
// one-line message.
func (s *Service) PDB(args []string) (string, error) {
	if len(args) == 0 {
		return "", proto.Errorf(proto.CodeInvalid, "no pdbtool command (want nu, nui, ng, ag, rg, d, i, list, export or import)")
	}
	cmd, ok := pdbCmds[args[0]]
	if !ok {
		return "", proto.Errorf(proto.CodeInvalid,
			fmt.Sprintf("unknown pdbtool command %q (want nu, nui, ng, ag, rg, d, i, list, export or import)", clip(args[0])))
	}
	if len(args)-1 != cmd.nargs {
		return "", proto.Errorf(proto.CodeInvalid, strings.TrimSpace("usage: pdbtool "+args[0]+" "+cmd.usage))
	}
	if cmd.mutates && !s.cfg.SCM {
		return "", s.readOnly("the protection database changes")
	}
	out, err := cmd.run(s, args[1:])
	if err != nil {
		return "", err
	}
	if cmd.mutates {
		s.log.Info("protection database changed", "command", args[0], "version", s.pdb.Version())
	}
	return out, nil
}

func (s *Service) pdbNewUser(args []string) (out string, err error) {
	var want int32
	if len(args) == 2 {
		n, perr := strconv.ParseInt(args[1], 10, 32)
		if perr != nil || n <= 0 {
			return "", proto.Errorf(proto.CodeInvalid, fmt.Sprintf("user id %q: want a positive number", clip(args[1])))
		}
		want = int32(n)
	}
	err = s.mutate(func(c *change) error {
		p, err := c.pdbCopy()
		if err != nil {
			return err
		}
		id, err := p.AddUser(args[0], want)
		if err != nil {
			return pdbError(err)
		}
		out = fmt.Sprintf("created user %s (id %d)\n", args[0], id)
		return nil
	})
	return out, err
}

func (s *Service) pdbNewGroup(args []string) (out string, err error) {
	err = s.mutate(func(c *change) error {
		p, err := c.pdbCopy()
		if err != nil {
			return err
		}
		owner, err := resolve(p, args[1])
		if err != nil {
			return err
		}
		id, err := p.AddGroup(args[0], owner.ID)
		if err != nil {
			return pdbError(err)
		}
		out = fmt.Sprintf("created group %s (id %d) owned by %s\n", args[0], id, owner.Name)
		return nil
	})
	return out, err
}

func (s *Service) pdbAddMember(args []string) (string, error) {
	return s.pdbMembership(args, "added %s to %s\n", (*pdb.DB).AddMember)
}

func (s *Service) pdbRemoveMember(args []string) (string, error) {
	return s.pdbMembership(args, "removed %s from %s\n", (*pdb.DB).RemoveMember)
}

// pdbMembership runs ag or rg: op(group, member) with both resolved.
func (s *Service) pdbMembership(args []string, format string, op func(*pdb.DB, int32, int32) error) (out string, err error) {
	err = s.mutate(func(c *change) error {
		p, err := c.pdbCopy()
		if err != nil {
			return err
		}
		g, err := resolve(p, args[0])
		if err != nil {
			return err
		}
		m, err := resolve(p, args[1])
		if err != nil {
			return err
		}
		if err := op(p, g.ID, m.ID); err != nil {
			return pdbError(err)
		}
		out = fmt.Sprintf(format, m.Name, g.Name)
		return nil
	})
	return out, err
}

// pdbDelete deletes a user (and its password) or a group.
func (s *Service) pdbDelete(args []string) (out string, err error) {
	err = s.mutate(func(c *change) error {
		p, err := c.pdbCopy()
		if err != nil {
			return err
		}
		e, err := resolve(p, args[0])
		if err != nil {
			return err
		}
		if err := p.Delete(e.ID); err != nil {
			return pdbError(err)
		}
		kind := "group"
		if !e.IsGroup() {
			kind = "user"
			if _, ok := s.pw.Value()[e.ID]; ok {
				delete(c.passwords(), e.ID)
			}
		}
		out = fmt.Sprintf("deleted %s %s (id %d)\n", kind, e.Name, e.ID)
		return nil
	})
	return out, err
}

// pdbImport replaces the whole database with the export text args[0].
// Passwords of users that do not survive (same id and name) are dropped.
func (s *Service) pdbImport(args []string) (out string, err error) {
	p, err := pdb.Import(strings.NewReader(args[0]))
	if err != nil {
		return "", pdbError(err)
	}
	for _, want := range []struct {
		id   int32
		name string
	}{{acl.AnyUser, "System:AnyUser"}, {acl.Administrators, "System:Administrators"}, {acl.AdminUser, "admin"}} {
		if got, ok := p.Name(want.id); !ok || got != want.name {
			return "", proto.Errorf(proto.CodeInvalid, fmt.Sprintf("import: the database must hold %s with id %d", want.name, want.id))
		}
	}
	err = s.mutate(func(c *change) error {
		c.p = p
		if pw := maps.Clone(s.pw.Value()); pw.prune(p) > 0 {
			c.pw = pw
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	users, groups := 0, 0
	for _, e := range p.List() {
		if e.IsGroup() {
			groups++
		} else {
			users++
		}
	}
	return fmt.Sprintf("imported %d users and %d groups\n", users, groups), nil
}

// resolve finds a user or group by id or by name (names are never all
// digits, so a number is always an id).
func resolve(p *pdb.DB, s string) (pdb.Entry, error) {
	if n, err := strconv.ParseInt(s, 10, 32); err == nil {
		if e, ok := p.Get(int32(n)); ok {
			return e, nil
		}
		return pdb.Entry{}, proto.Errorf(proto.CodeNotFound, fmt.Sprintf("no user or group with id %d", n))
	}
	if id, ok := p.Lookup(s); ok {
		if e, ok := p.Get(id); ok {
			return e, nil
		}
	}
	return pdb.Entry{}, proto.Errorf(proto.CodeNotFound, fmt.Sprintf("no user or group named %q", clip(s)))
}

// pdbError maps a pdb error to its wire error, keeping its message.
func pdbError(err error) error {
	code := proto.CodeInvalid
	switch {
	case errors.Is(err, pdb.ErrExists):
		code = proto.CodeExists
	case errors.Is(err, pdb.ErrNotFound):
		code = proto.CodeNotFound
	case errors.Is(err, pdb.ErrBuiltin):
		code = proto.CodePerm
	}
	msg, _, _ := strings.Cut(err.Error(), "\n")
	return proto.Errorf(code, msg)
}
