package backup

import (
	"archive/tar"
	"bufio"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/coda-fs/coda/auth/acl"
	"github.com/coda-fs/coda/server/proto"
)

// Names of the files dump2tar adds under the root.
const (
	ACLFile      = "..CodaACLs.yaml" // every directory's ACL
	ManifestFile = "..CodaManifest"  // incrementals: every path present
	LostFound    = "lost+found"      // objects whose directory is unknown
)

// TarStats is what ToTar wrote.
type TarStats struct {
	Header                *Header
	Dirs, Files, Symlinks int
	HardLinks             int
	DataBytes             int64
}

// ToTar converts the dump read from r into a POSIX (PAX) tar archive on
// w, every entry under root: directories (all of a full dump; those that
// changed in an incremental), files with their data (sparse files as PAX
// sparse entries), hard links for further names, symlinks; objects whose
// directory is unknown under root/lost+found; the directories' ACLs in
// root/..CodaACLs.yaml and, for an incremental, every path present in
// root/..CodaManifest (what a restore of the chain keeps). Memory grows
// with the directories, not with the files. On an error the archive is
// left without its end, so it does not read as complete. An empty root is
// the name of the dumped clone's volume (web for web.backup).
func ToTar(r io.Reader, w io.Writer, root string) (TarStats, error) {
	if root != "" {
		if err := checkRoot(root); err != nil {
			return TarStats{}, err
		}
	}
	rd, err := NewReader(r)
	if err != nil {
		return TarStats{}, err
	}
	defer rd.Close()
	bw := bufio.NewWriterSize(w, 1<<20)
	t := &tarrer{root: root, raw: bw, tw: tar.NewWriter(bw), dirPath: map[uint32]string{},
		childName: map[uint32]string{}, paths: map[string]bool{}}
	defer t.cleanup()
	if err := t.run(rd); err != nil {
		bw.Flush() // what was converted, without the archive's end
		return t.stats, err
	}
	if err := t.tw.Close(); err != nil {
		return t.stats, err
	}
	return t.stats, bw.Flush()
}

// checkRoot refuses a root that would put entries outside the directory
// tar extracts into.
func checkRoot(root string) error {
	if root == "" || root == "." || path.IsAbs(root) || path.Clean(root) != root || root == ".." || strings.HasPrefix(root, "../") {
		return fmt.Errorf("dump2tar: the root name %q must be a relative path without .. (like web or backups/web)", root)
	}
	return nil
}

type tarrer struct {
	root      string
	raw       *bufio.Writer
	tw        *tar.Writer
	h         *Header
	dirPath   map[uint32]string // directory vnode → path
	childName map[uint32]string // directory vnode → its name, from its parent's entries
	paths     map[string]bool   // directory paths: no file or link may take one
	aclIDs    []aclLine         // the ACLs, written at the end (the names come after the directories)
	names     Names
	manifest  *os.File
	lostMade  bool
	stats     TarStats

	// the current file
	file      *File
	primary   string
	sparse    bool
	sparseLen int64 // the data bytes of a sparse file, for its padding
}

func (t *tarrer) cleanup() {
	if t.manifest != nil {
		t.manifest.Close()
		os.Remove(t.manifest.Name())
	}
}

func (t *tarrer) run(rd *Reader) error {
	for {
		rec, err := rd.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		switch x := rec.(type) {
		case *Header:
			t.h, t.stats.Header = x, x
			if t.root == "" {
				t.root = x.Source
				if t.root == "" {
					t.root = x.Volume
				}
				if err := checkRoot(t.root); err != nil {
					return err
				}
			}
			if !x.Full() {
				if t.manifest, err = os.CreateTemp("", "coda-manifest-*"); err != nil {
					return err
				}
			}
		case *Dir:
			err = t.dir(x)
		case *File:
			err = t.startFile(x)
		case *Extent:
			err = t.extent(x)
		case *EndFile:
			err = t.endFile()
		case *Symlink:
			err = t.symlink(x)
		case Names:
			t.names = x
		case *Removed:
			// an incremental's manifest says what is present
		case *Trailer:
			err = t.finish()
		}
		if err != nil {
			return err
		}
	}
}

func mtime(ns int64) time.Time { return time.Unix(0, ns) }

func (t *tarrer) dir(d *Dir) error {
	var p string
	switch {
	case d.Vnode == d.Parent:
		p = t.root
	case t.dirPath[d.Parent] != "" && t.childName[d.Vnode] != "":
		p = t.dirPath[d.Parent] + "/" + t.childName[d.Vnode]
	default:
		if err := t.lostFound(); err != nil {
			return err
		}
		p = fmt.Sprintf("%s/%s/#%d.%d", t.root, LostFound, d.Vnode, d.Unique)
	}
	if t.paths[p] {
		return fmt.Errorf("%w: two directories at %s", ErrCorrupt, p)
	}
	t.paths[p], t.dirPath[d.Vnode] = true, p
	for _, e := range d.Entries {
		if e.Type == proto.TypeDir {
			t.childName[e.Vnode] = e.Name
		}
		if t.manifest != nil {
			if _, err := fmt.Fprintf(t.manifest, "%s/%s\n", p, e.Name); err != nil {
				return err
			}
		}
	}
	if len(d.ACL) > 0 {
		a, err := acl.Decode(d.ACL)
		if err != nil {
			return fmt.Errorf("%w: the ACL of %s: %v", ErrCorrupt, p, err)
		}
		t.aclIDs = append(t.aclIDs, aclLine{path: p, acl: a})
	}
	if !t.h.Full() && !d.Changed {
		return nil
	}
	t.stats.Dirs++
	return t.tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: p + "/", Mode: int64(d.Mode & 0o7777),
		Uid: int(d.UID), Gid: int(d.GID), ModTime: mtime(d.Mtime), Format: tar.FormatPAX})
}

// aclLine is a directory's ACL for the sidecar.
type aclLine struct {
	path string
	acl  acl.ACL
}

// principal names id: from the dump's names, else the well-known ids.
func (t *tarrer) principal(id int32) string {
	if n, ok := t.names[id]; ok {
		return n
	}
	switch id {
	case proto.AnyUserID:
		return "System:AnyUser"
	case proto.AdministratorsID:
		return "System:Administrators"
	}
	return ""
}

func (t *tarrer) lostFound() error {
	if t.lostMade {
		return nil
	}
	t.lostMade = true
	p := t.root + "/" + LostFound
	t.paths[p] = true
	return t.tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: p + "/", Mode: 0o700, ModTime: time.Now(), Format: tar.FormatPAX})
}

// pathsOf returns where the names of an object go.
func (t *tarrer) pathsOf(vnode, unique uint32, names []Name) ([]string, error) {
	var out []string
	for _, n := range names {
		dp, ok := t.dirPath[n.Dir]
		if !ok {
			continue
		}
		p := dp + "/" + n.Name
		if t.paths[p] {
			return nil, fmt.Errorf("%w: vnode %d is named %s, a directory's path", ErrCorrupt, vnode, p)
		}
		out = append(out, p)
	}
	if len(out) == 0 {
		if err := t.lostFound(); err != nil {
			return nil, err
		}
		out = append(out, fmt.Sprintf("%s/%s/#%d.%d", t.root, LostFound, vnode, unique))
	}
	sort.Strings(out[1:])
	return out, nil
}

func (t *tarrer) startFile(f *File) error {
	paths, err := t.pathsOf(f.Vnode, f.Unique, f.Names)
	if err != nil {
		return err
	}
	t.file, t.primary = f, paths[0]
	data := f.DataBytes()
	t.sparse = data < f.Size
	t.stats.Files++
	if t.sparse {
		if err := t.sparseHeader(f, paths[0], data); err != nil {
			return err
		}
	} else if err := t.tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: paths[0], Size: f.Size, Mode: int64(f.Mode & 0o7777),
		Uid: int(f.UID), Gid: int(f.GID), ModTime: mtime(f.Mtime), Format: tar.FormatPAX}); err != nil {
		return err
	}
	t.file.Names = nil
	for _, p := range paths[1:] {
		t.file.Names = append(t.file.Names, Name{Name: p})
	}
	return nil
}

func (t *tarrer) extent(x *Extent) error {
	t.stats.DataBytes += int64(len(x.Data))
	if t.sparse {
		_, err := t.raw.Write(x.Data)
		return err
	}
	_, err := t.tw.Write(x.Data)
	return err
}

func (t *tarrer) endFile() error {
	f := t.file
	if t.sparse {
		if pad := (512 - t.sparseLen%512) % 512; pad > 0 {
			if _, err := t.raw.Write(make([]byte, pad)); err != nil {
				return err
			}
		}
	}
	for _, n := range f.Names {
		t.stats.HardLinks++
		if err := t.tw.WriteHeader(&tar.Header{Typeflag: tar.TypeLink, Name: n.Name, Linkname: t.primary,
			Mode: int64(f.Mode & 0o7777), Uid: int(f.UID), Gid: int(f.GID), ModTime: mtime(f.Mtime), Format: tar.FormatPAX}); err != nil {
			return err
		}
	}
	t.file = nil
	return nil
}

func (t *tarrer) symlink(s *Symlink) error {
	paths, err := t.pathsOf(s.Vnode, s.Unique, s.Names)
	if err != nil {
		return err
	}
	t.stats.Symlinks++
	for _, p := range paths {
		if err := t.tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: p, Linkname: s.Target, Mode: 0o777,
			Uid: int(s.UID), Gid: int(s.GID), ModTime: mtime(s.Mtime), Format: tar.FormatPAX}); err != nil {
			return err
		}
	}
	return nil
}

func (t *tarrer) finish() error {
	if len(t.aclIDs) > 0 {
		var b strings.Builder
		b.WriteString("# coda ACLs by directory: ids and names of the realm's protection database, rights as cfs la shows them\n")
		for _, l := range t.aclIDs {
			fmt.Fprintf(&b, "%s:\n", strconv.Quote(l.path))
			for _, side := range []struct {
				key  string
				list []acl.Entry
			}{{"positive", l.acl.Positive}, {"negative", l.acl.Negative}} {
				if len(side.list) == 0 {
					continue
				}
				fmt.Fprintf(&b, "  %s:\n", side.key)
				for _, e := range side.list {
					fmt.Fprintf(&b, "    - {id: %d, name: %s, rights: %s}\n", e.ID, strconv.Quote(t.principal(e.ID)), strconv.Quote(e.Rights.String()))
				}
			}
		}
		if err := t.addFile(t.root+"/"+ACLFile, b.String()); err != nil {
			return err
		}
	}
	if t.manifest != nil {
		size, err := t.manifest.Seek(0, io.SeekCurrent)
		if err != nil {
			return err
		}
		if _, err := t.manifest.Seek(0, io.SeekStart); err != nil {
			return err
		}
		if err := t.tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: t.root + "/" + ManifestFile, Size: size, Mode: 0o644,
			ModTime: mtime(t.h.Frozen), Format: tar.FormatPAX}); err != nil {
			return err
		}
		if _, err := io.Copy(t.tw, t.manifest); err != nil {
			return err
		}
	}
	return nil
}

func (t *tarrer) addFile(name, body string) error {
	if err := t.tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Size: int64(len(body)), Mode: 0o644,
		ModTime: mtime(t.h.Frozen), Format: tar.FormatPAX}); err != nil {
		return err
	}
	_, err := io.WriteString(t.tw, body)
	return err
}
