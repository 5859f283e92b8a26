package venus

import (
	"context"
	"errors"
	"syscall"

	"github.com/coda-fs/coda/server/proto"
)

// The mount root (RootIno) is a small synthetic directory holding one name,
// the realm. The realm is the root directory of the realm's root volume, or
// an empty synthetic directory (EmptyRealmIno) while there is none.

func (v *Venus) syntheticAttr(ino uint64) Attr {
	t := v.started.UnixNano()
	return Attr{Ino: ino, Mode: syscall.S_IFDIR | 0o755, Nlink: 2, Mtime: t, Ctime: t, Atime: t}
}

func isSynthetic(ino uint64) bool { return ino == RootIno || ino == EmptyRealmIno }

// realmEntry answers the lookup of the realm's name in the mount root.
func (v *Venus) realmEntry(ctx context.Context, c Caller) (Entry, error) {
	fid, err := v.rootFID(ctx, c)
	if errors.Is(err, errNoRootVolume) {
		v.logNoRoot()
		return Entry{Attr: v.syntheticAttr(EmptyRealmIno)}, nil
	}
	if err != nil {
		return Entry{}, err
	}
	v.mu.Lock()
	o := v.objectFor(fid)
	v.mu.Unlock()
	if err := v.ensureValid(ctx, c, o); err != nil {
		return Entry{}, err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if !o.isDir() {
		return Entry{}, proto.ErrNotDir
	}
	a := v.attrOf(o)
	return Entry{Attr: a, EntryTimeout: v.opts.CacheTimeout}, nil
}

func (v *Venus) logNoRoot() {
	v.mu.Lock()
	first := !v.root.warned
	v.root.warned = true
	v.mu.Unlock()
	if first {
		v.log.Warn("the realm has no root volume yet; showing it empty until one is created "+
			"(coda createvol_rep coda.root SERVER)", "realm", v.opts.Realm)
	}
}

// syntheticLookup looks name up in a synthetic directory.
func (v *Venus) syntheticLookup(ctx context.Context, c Caller, ino uint64, name string) (Entry, error) {
	if ino == RootIno && name == v.opts.Realm {
		return v.realmEntry(ctx, c)
	}
	return Entry{}, proto.ErrNotFound
}

// syntheticReadDir lists a synthetic directory.
func (v *Venus) syntheticReadDir(ctx context.Context, c Caller, ino uint64) ([]DirEntry, error) {
	if ino != RootIno {
		return nil, nil
	}
	e, err := v.realmEntry(ctx, c)
	if err != nil {
		return nil, err
	}
	return []DirEntry{{Name: v.opts.Realm, Ino: e.Ino, Mode: syscall.S_IFDIR}}, nil
}
