package venus

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/coda-fs/coda/server/proto"
)

// fileStat is what tells whether a container changed: size and times in ns
// (any write changes mtime and ctime) and the file's inode.
type fileStat struct {
	Size, Mtime, Ctime int64
	Ino                uint64
}

func (s *fileStat) encode(e *proto.Encoder) {
	e.I64(s.Size)
	e.I64(s.Mtime)
	e.I64(s.Ctime)
	e.U64(s.Ino)
}
func (s *fileStat) decode(d *proto.Decoder) {
	s.Size, s.Mtime, s.Ctime, s.Ino = d.I64(), d.I64(), d.I64(), d.U64()
}

// fstat returns f's fileStat and allocated bytes.
func fstat(f *os.File) (fileStat, int64, error) {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return fileStat{}, 0, fmt.Errorf("stat container %s: %w", f.Name(), err)
	}
	return fileStat{Size: st.Size, Mtime: st.Mtim.Nano(), Ctime: st.Ctim.Nano(), Ino: st.Ino},
		st.Blocks * 512, nil
}

// containers manages the container files in one directory. Names are 16 hex
// digits from a counter seeded with the clock, so they are not reused across
// restarts; files being written end in ".tmp".
//
// Because a name is never reused, the container of a removed file can be
// unlinked in the background (removeLater): unlinking a file with data costs a journal commit's
// share of time (tens of µs on ext4) that an rm through the mount would
// otherwise wait for. One that a crash leaves behind is an orphan, which
// cleanOrphans removes at the next start.
type containers struct {
	dir   string
	seq   atomic.Uint64
	first uint64 // seq's start: names above it are this process's

	mu     sync.RWMutex
	closed bool
	rm     chan string // names to unlink in the background
	rmDone chan struct{}
	// spare names empty containers made ahead, so that a create through
	// the mount does not wait for the file system to make one (ext4's
	// inode allocation costs 10–350 µs a file; opening one a few). The
	// maker keeps target of them, a target that doubles whenever a create
	// finds none (a disconnected client unpacking a tree); want wakes it
	// when one is taken, stop ends it. Spares stay on disk across
	// restarts: cleanOrphans adopts them, and their number is the target.
	spare     chan string
	target    atomic.Int64
	lastTake  atomic.Int64 // when a create last took a spare (Unix ns)
	want      chan struct{}
	stop      chan struct{}
	spareDone chan struct{}
}

// The number of spare containers kept ready: minSpares at first, up to
// maxSpares (an empty file costs an inode and no data block).
const (
	minSpares = 64
	maxSpares = 4096
	spareIdle = 20 * time.Millisecond // refills wait this long after a take, above a quarter full
)

func newContainers(dir string) (*containers, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("cache: %w", err)
	}
	c := &containers{dir: dir, rm: make(chan string, 4096), rmDone: make(chan struct{}),
		spare: make(chan string, maxSpares), want: make(chan struct{}, 1), stop: make(chan struct{}), spareDone: make(chan struct{})}
	c.target.Store(minSpares)
	c.first = uint64(time.Now().UnixNano())
	c.seq.Store(c.first)
	go c.remover()
	go c.makeSpares()
	return c, nil
}

// makeSpares keeps spare full of empty containers until close. (One that
// a crash leaves unused is an orphan, removed at the next start.)
func (c *containers) makeSpares() {
	defer close(c.spareDone)
	for {
		have, target := int64(len(c.spare)), c.target.Load()
		if have >= target {
			select {
			case <-c.want:
				continue
			case <-c.stop:
				return
			}
		}
		// While creates are taking spares and a quarter of the pool is
		// left, wait for a pause: making a file costs the file system
		// time the creates would share.
		if since := time.Since(time.Unix(0, c.lastTake.Load())); since < spareIdle && have >= target/4 {
			select {
			case <-time.After(spareIdle - since):
				continue
			case <-c.stop:
				return
			}
		}
		f, name, err := c.newEmpty()
		if err == nil {
			err = f.Close()
		}
		if err != nil {
			select { // a full disk, say: createEmpty reports it
			case <-c.stop:
				return
			case <-time.After(time.Second):
				continue
			}
		}
		select {
		case c.spare <- name:
		case <-c.stop:
			os.Remove(c.path(name))
			return
		}
	}
}

func (c *containers) remover() {
	defer close(c.rmDone)
	for name := range c.rm {
		os.Remove(c.path(name))
	}
}

// close finishes the background removals.
func (c *containers) close() {
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		close(c.rm)
		close(c.stop)
	}
	c.mu.Unlock()
	<-c.rmDone
	<-c.spareDone // the spares stay, for the next start to adopt
}

// wake has the spare maker look again.
func (c *containers) wake() {
	select {
	case c.want <- struct{}{}:
	default:
	}
}

// grow doubles the number of spares kept, up to maxSpares.
func (c *containers) grow() {
	for {
		t := c.target.Load()
		if t >= maxSpares || c.target.CompareAndSwap(t, min(2*t, maxSpares)) {
			c.wake()
			return
		}
	}
}

func (c *containers) path(name string) string { return filepath.Join(c.dir, name) }

// create starts a new container under a temporary name.
func (c *containers) create() (f *os.File, name string, err error) {
	name = fmt.Sprintf("%016x", c.seq.Add(1))
	f, err = os.OpenFile(c.path(name)+".tmp", os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, "", fmt.Errorf("cache: new container: %w", err)
	}
	return f, name, nil
}

// createEmpty returns a new empty container under its final name.
func (c *containers) createEmpty() (f *os.File, name string, err error) {
	for {
		select {
		case name := <-c.spare:
			c.lastTake.Store(time.Now().UnixNano())
			c.wake()
			if f, err := os.OpenFile(c.path(name), os.O_RDWR, 0); err == nil {
				return f, name, nil
			}
		default:
			c.grow()
			return c.newEmpty()
		}
	}
}

// newEmpty makes a new empty container under its final name.
func (c *containers) newEmpty() (f *os.File, name string, err error) {
	name = fmt.Sprintf("%016x", c.seq.Add(1))
	f, err = os.OpenFile(c.path(name), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, "", fmt.Errorf("cache: new container: %w", err)
	}
	return f, name, nil
}

// commit gives a container its final name. Its data is synced later
// (syncName), before any record names it.
func (c *containers) commit(f *os.File, name string) error {
	if err := os.Rename(c.path(name)+".tmp", c.path(name)); err != nil {
		return fmt.Errorf("cache: %w", err)
	}
	return nil
}

// syncName syncs the data of the committed container name.
func (c *containers) syncName(name string) error {
	f, err := os.Open(c.path(name))
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.Fdatasync(int(f.Fd()))
}

// abort removes a container that was never committed.
func (c *containers) abort(f *os.File, name string) {
	f.Close()
	os.Remove(c.path(name) + ".tmp")
}

func (c *containers) open(name string) (*os.File, error) {
	return os.OpenFile(c.path(name), os.O_RDWR, 0)
}

func (c *containers) remove(name string) {
	if name != "" {
		os.Remove(c.path(name))
	}
}

// removeLater unlinks container name in the background. Eviction does not
// use it: the cache's size bound counts on the space being free.
func (c *containers) removeLater(name string) {
	if name == "" {
		return
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	if !c.closed {
		select {
		case c.rm <- name:
			return
		default: // a backlog: remove it now
		}
	}
	os.Remove(c.path(name))
}

// check returns the stat of a committed container, or an error when it is
// missing or unreadable.
func (c *containers) check(name string) (fileStat, int64, error) {
	f, err := os.Open(c.path(name))
	if err != nil {
		return fileStat{}, 0, err
	}
	defer f.Close()
	return fstat(f)
}

// cleanOrphans removes temporary containers and those keep does not know,
// except empty ones, which become spares while there is room (the last
// run's spares above all); as many are kept ready from now on.
func (c *containers) cleanOrphans(keep map[string]bool) (removed, adopted int, err error) {
	ents, err := os.ReadDir(c.dir)
	if err != nil {
		return 0, 0, fmt.Errorf("cache: %w", err)
	}
	for _, e := range ents {
		name := e.Name()
		tmp := strings.HasSuffix(name, ".tmp")
		if keep[name] && !tmp {
			continue
		}
		if n, err := strconv.ParseUint(strings.TrimSuffix(name, ".tmp"), 16, 64); err == nil && n > c.first {
			continue // made by this process (a spare, one being written)
		}
		if info, err := e.Info(); err == nil && !tmp && info.Mode().IsRegular() && info.Size() == 0 {
			select {
			case c.spare <- name:
				adopted++
				continue
			default:
			}
		}
		if os.Remove(c.path(name)) == nil {
			removed++
		}
	}
	if int64(adopted) > c.target.Load() {
		c.target.Store(int64(adopted))
	}
	return removed, adopted, nil
}

// Magic numbers of stacked file systems, on which a FUSE passthrough
// backing file cannot live (the stacking depth is exceeded).
var stackedFS = map[int64]string{
	0x794c7630: "overlayfs",
	0x65735546: "fuse",
	0xf15f:     "ecryptfs",
}

// StackedFS returns the name of the stacked file system dir is on, or "".
func StackedFS(dir string) string {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return ""
	}
	return stackedFS[int64(st.Type)]
}
