package pdb

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/coda-fs/coda/auth/acl"
)

// Errors.
var (
	ErrExists    = errors.New("pdb: already exists")
	ErrNotFound  = errors.New("pdb: no such user or group")
	ErrBadName   = errors.New("pdb: invalid name")
	ErrCycle     = errors.New("pdb: membership would form a cycle")
	ErrInUse     = errors.New("pdb: still in use")
	ErrBuiltin   = errors.New("pdb: built-in principal")
	ErrMalformed = errors.New("pdb: malformed database text")
)

// MaxName is the longest user name or group name part.
const MaxName = 64

// Entry describes one user or group.
type Entry struct {
	ID      int32
	Name    string
	Owner   int32   // groups: the owning user's id; users: 0
	Members []int32 // groups: direct members, sorted; users: nil
}

// IsGroup reports whether e is a group.
func (e Entry) IsGroup() bool { return e.ID < 0 }

// DB is a protection database.
type DB struct {
	mu      sync.RWMutex
	byID    map[int32]*Entry
	byName  map[string]int32
	version uint64
}

// New returns an empty database.
func New() *DB {
	return &DB{byID: map[int32]*Entry{}, byName: map[string]int32{}}
}

// NewRealm returns a database holding the built-in principals: user
// admin (id 1), System:AnyUser and System:Administrators (owned by
// admin, with admin as member).
func NewRealm() *DB {
	d := New()
	d.put(&Entry{ID: acl.AdminUser, Name: "admin"})
	d.put(&Entry{ID: acl.AnyUser, Name: "System:AnyUser", Owner: acl.AdminUser})
	d.put(&Entry{ID: acl.Administrators, Name: "System:Administrators", Owner: acl.AdminUser,
		Members: []int32{acl.AdminUser}})
	return d
}

func (d *DB) put(e *Entry) {
	d.byID[e.ID] = e
	d.byName[e.Name] = e.ID
	d.version++
}

func builtin(id int32) bool {
	return id == acl.AnyUser || id == acl.Administrators || id == acl.AdminUser
}

// Version returns the number of mutations applied so far.
func (d *DB) Version() uint64 {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.version
}

// AddUser adds user name with id, or with the next free user id when id
// is 0, and returns the id.
func (d *DB) AddUser(name string, id int32) (int32, error) {
	if err := ValidUser(name); err != nil {
		return 0, err
	}
	if id < 0 {
		return 0, fmt.Errorf("%w: user id %d must be positive", ErrBadName, id)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.byName[name]; ok {
		return 0, fmt.Errorf("%w: %s", ErrExists, name)
	}
	if id == 0 {
		id = d.nextID(1)
		if id <= 0 {
			return 0, fmt.Errorf("pdb: user ids exhausted")
		}
	} else if _, ok := d.byID[id]; ok {
		return 0, fmt.Errorf("%w: id %d", ErrExists, id)
	}
	d.put(&Entry{ID: id, Name: name})
	return id, nil
}

// AddGroup adds group name (OWNER:NAME) owned by user owner and returns
// its new id.
func (d *DB) AddGroup(name string, owner int32) (int32, error) {
	if err := ValidGroup(name); err != nil {
		return 0, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.byName[name]; ok {
		return 0, fmt.Errorf("%w: %s", ErrExists, name)
	}
	if err := d.checkOwner(name, owner); err != nil {
		return 0, err
	}
	id := d.nextID(-1)
	if id >= 0 {
		return 0, fmt.Errorf("pdb: group ids exhausted")
	}
	d.put(&Entry{ID: id, Name: name, Owner: owner})
	return id, nil
}

// checkOwner checks that owner is a user and that group name's prefix is
// the owner's name or "System". Callers hold d.mu.
func (d *DB) checkOwner(name string, owner int32) error {
	o, ok := d.byID[owner]
	if !ok || o.IsGroup() {
		return fmt.Errorf("%w: owner %d of %s is not a user", ErrNotFound, owner, name)
	}
	prefix, _, _ := strings.Cut(name, ":")
	if prefix != o.Name && prefix != "System" {
		return fmt.Errorf("%w: group %s must be named %s:NAME", ErrBadName, name, o.Name)
	}
	return nil
}

// nextID returns the id after the extreme id in direction dir (+1 users,
// -1 groups), or an id of the wrong sign on overflow.
func (d *DB) nextID(dir int32) int32 {
	var ext int32
	for id := range d.byID {
		if (dir > 0 && id > ext) || (dir < 0 && id < ext) {
			ext = id
		}
	}
	if dir < 0 && ext > acl.AnyUser {
		// Leave the range above System:AnyUser to built-ins, as Coda does.
		ext = acl.AnyUser
	}
	return ext + dir
}

// AddMember adds member (a user or group) to group.
func (d *DB) AddMember(group, member int32) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	g, err := d.group(group)
	if err != nil {
		return err
	}
	if _, ok := d.byID[member]; !ok {
		return fmt.Errorf("%w: id %d", ErrNotFound, member)
	}
	if member == group || (member < 0 && slices.Contains(d.closure(group), member)) {
		return fmt.Errorf("%w: %s into %s", ErrCycle, d.byID[member].Name, g.Name)
	}
	i, found := slices.BinarySearch(g.Members, member)
	if found {
		return fmt.Errorf("%w: %s is already in %s", ErrExists, d.byID[member].Name, g.Name)
	}
	g.Members = slices.Insert(g.Members, i, member)
	d.version++
	return nil
}

// RemoveMember removes member from group's direct members.
func (d *DB) RemoveMember(group, member int32) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	g, err := d.group(group)
	if err != nil {
		return err
	}
	i, found := slices.BinarySearch(g.Members, member)
	if !found {
		return fmt.Errorf("%w: %d is not a member of %s", ErrNotFound, member, g.Name)
	}
	g.Members = slices.Delete(g.Members, i, i+1)
	d.version++
	return nil
}

func (d *DB) group(id int32) (*Entry, error) {
	g, ok := d.byID[id]
	if !ok || !g.IsGroup() {
		return nil, fmt.Errorf("%w: group %d", ErrNotFound, id)
	}
	return g, nil
}

// Delete removes a user or group and every membership of it. Built-in
// principals and users that own groups cannot be deleted.
func (d *DB) Delete(id int32) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	e, ok := d.byID[id]
	if !ok {
		return fmt.Errorf("%w: id %d", ErrNotFound, id)
	}
	if builtin(id) {
		return fmt.Errorf("%w: %s cannot be deleted", ErrBuiltin, e.Name)
	}
	for _, g := range d.byID {
		if g.IsGroup() && g.Owner == id {
			return fmt.Errorf("%w: %s owns group %s", ErrInUse, e.Name, g.Name)
		}
	}
	for _, g := range d.byID {
		if i, found := slices.BinarySearch(g.Members, id); found {
			g.Members = slices.Delete(g.Members, i, i+1)
		}
	}
	delete(d.byID, id)
	delete(d.byName, e.Name)
	d.version++
	return nil
}

// Lookup returns the id of name.
func (d *DB) Lookup(name string) (int32, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	id, ok := d.byName[name]
	return id, ok
}

// Name returns the name of id.
func (d *DB) Name(id int32) (string, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if e, ok := d.byID[id]; ok {
		return e.Name, true
	}
	return "", false
}

// Get returns a copy of id's entry.
func (d *DB) Get(id int32) (Entry, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	e, ok := d.byID[id]
	if !ok {
		return Entry{}, false
	}
	c := *e
	c.Members = slices.Clone(e.Members)
	return c, true
}

// List returns copies of every entry: users by ascending id, then groups
// by descending id.
func (d *DB) List() []Entry {
	d.mu.RLock()
	defer d.mu.RUnlock()
	out := make([]Entry, 0, len(d.byID))
	for _, e := range d.byID {
		c := *e
		c.Members = slices.Clone(e.Members)
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return listLess(out[i].ID, out[j].ID) })
	return out
}

func listLess(a, b int32) bool {
	if (a > 0) != (b > 0) {
		return a > 0
	}
	if a > 0 {
		return a < b
	}
	return a > b
}

// Member reports whether id belongs to group, directly or through nested
// groups. Every principal is a member of System:AnyUser.
func (d *DB) Member(group, id int32) bool {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if _, ok := d.byID[id]; !ok {
		return false
	}
	return group == acl.AnyUser || slices.Contains(d.closure(id), group)
}

// Groups returns, sorted, every group id belongs to transitively, always
// including System:AnyUser; nil if id does not exist.
func (d *DB) Groups(id int32) []int32 {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if _, ok := d.byID[id]; !ok {
		return nil
	}
	gs := d.closure(id)
	if !slices.Contains(gs, acl.AnyUser) {
		gs = append(gs, acl.AnyUser)
	}
	slices.Sort(gs)
	return gs
}

// IDs returns id followed by Groups(id): the ids to pass to acl.Effective.
func (d *DB) IDs(id int32) []int32 {
	gs := d.Groups(id)
	if gs == nil {
		return []int32{acl.AnyUser}
	}
	return append([]int32{id}, gs...)
}

// closure returns the groups that contain id transitively (not id
// itself unless a cycle leads back to it). Callers hold d.mu.
func (d *DB) closure(id int32) []int32 {
	parents := map[int32][]int32{}
	for _, g := range d.byID {
		for _, m := range g.Members {
			parents[m] = append(parents[m], g.ID)
		}
	}
	seen := map[int32]bool{}
	var out []int32
	queue := []int32{id}
	for len(queue) > 0 {
		x := queue[0]
		queue = queue[1:]
		for _, p := range parents[x] {
			if !seen[p] {
				seen[p] = true
				out = append(out, p)
				queue = append(queue, p)
			}
		}
	}
	return out
}

// ValidUser checks a user name against the naming rules.
func ValidUser(name string) error {
	if !validPart(name) {
		return fmt.Errorf("%w: user name %q (1-%d letters, digits, . _ - @; not all digits)", ErrBadName, clip(name), MaxName)
	}
	return nil
}

// ValidGroup checks a group name (OWNER:NAME) against the naming rules.
func ValidGroup(name string) error {
	owner, rest, ok := strings.Cut(name, ":")
	if !ok || !validPart(owner) || !validPart(rest) {
		return fmt.Errorf("%w: group name %q (want OWNER:NAME)", ErrBadName, clip(name))
	}
	return nil
}

func validPart(s string) bool {
	if len(s) == 0 || len(s) > MaxName || s[0] == '-' || s[0] == '.' || s[0] == '@' {
		return false
	}
	digits := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_', c == '.', c == '-', c == '@':
			digits = false
		default:
			return false
		}
	}
	return !digits
}

// clip shortens a name for an error message.
func clip(s string) string {
	if len(s) > MaxName+8 {
		return s[:MaxName] + "..."
	}
	return s
}
