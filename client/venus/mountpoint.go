package venus

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/coda-fs/coda/auth/acl"
	"github.com/coda-fs/coda/server/proto"
)

// A volume is mounted in the tree by a mount point: as in Coda, a symbolic
// link of mode 0644 whose target is "#NAME." (cfs mkmount makes one). Venus
// shows the root directory of volume NAME in its place; cfs lsmount reads
// it, cfs rmmount removes it (the volume stays).

// mountMode is the mode that marks a symbolic link as a mount point.
const mountMode = 0o644

// ErrNotMountPoint: cfs lsmount or rmmount of something else.
var ErrNotMountPoint = errors.New("not a mount point")

// mountTarget is the target of a mount point for volume name.
func mountTarget(name string) string { return "#" + name + "." }

// mountedVolume returns the volume a mount point's target names.
func mountedVolume(target string) (string, bool) {
	name, ok := strings.CutPrefix(target, "#")
	if !ok {
		return "", false
	}
	name, ok = strings.CutSuffix(name, ".")
	return name, ok && name != "" && len(name) <= proto.MaxVolName
}

// maybeMountPoint reports whether a's object may be a mount point (its
// target says for sure).
func maybeMountPoint(a *proto.Attr) bool {
	return a.Type == proto.TypeSymlink && a.Mode&0o7777 == mountMode
}

// crossMount returns the root of the volume mounted at o when o is a mount
// point, else o. The root's parent is d, the mount point's directory.
func (v *Venus) crossMount(ctx context.Context, c Caller, d, o *object) (*object, error) {
	v.mu.Lock()
	mp := maybeMountPoint(&o.attr) && !v.inConflict(o.fid)
	v.mu.Unlock()
	if !mp {
		return o, nil
	}
	target, err := v.Readlink(ctx, c, o.ino)
	if err != nil {
		return nil, err
	}
	name, ok := mountedVolume(target)
	if !ok {
		return o, nil
	}
	root, err := v.volumeRoot(ctx, c, name)
	if err != nil {
		return nil, fmt.Errorf("mount point for volume %s: %w", name, err)
	}
	v.mu.Lock()
	ro := v.objectFor(root)
	ro.parent = d.fid
	v.mu.Unlock()
	if err := v.ensureValid(ctx, c, ro); err != nil {
		return nil, err
	}
	return ro, nil
}

// volumeRoot returns the root directory of the volume named name, asking
// any server the first time.
func (v *Venus) volumeRoot(ctx context.Context, c Caller, name string) (proto.FID, error) {
	v.mu.Lock()
	root, ok := v.roots[name]
	v.mu.Unlock()
	if ok {
		return root, nil
	}
	var info proto.VolumeInfo
	if _, err := v.call(ctx, c, proto.OpGetVolumeInfo, &proto.VolumeRef{Name: name}, &info, nil); err != nil {
		return proto.FID{}, err
	}
	v.learnVolume(&info)
	v.mu.Lock()
	v.roots[name] = info.Root
	v.mu.Unlock()
	return info.Root, nil
}

// MakeMount makes name in directory parent a mount point for volume vol
// (cfs mkmount): the volume must exist; c needs the insert right.
func (v *Venus) MakeMount(ctx context.Context, c Caller, parent uint64, name, vol string) error {
	if _, ok := mountedVolume(mountTarget(vol)); !ok || strings.ContainsAny(vol, "/#") {
		return proto.Errorf(proto.CodeInvalid, fmt.Sprintf("bad volume name %q", vol))
	}
	d, err := v.prepChange(ctx, c, parent, name, acl.Insert)
	if err != nil {
		return err
	}
	if _, found, err := v.resolve(ctx, c, d, name); err != nil || found {
		if err == nil {
			err = proto.ErrExists
		}
		return err
	}
	if _, err := v.volumeRoot(ctx, c, vol); err != nil {
		return fmt.Errorf("volume %s: %w", vol, err)
	}
	_, _, err = v.makeChild(ctx, c, d, proto.OpSymlink, name, mountMode, mountTarget(vol))
	return err
}

// MountPoint returns the volume mounted at name in directory parent (cfs
// lsmount), or ErrNotMountPoint.
func (v *Venus) MountPoint(ctx context.Context, c Caller, parent uint64, name string) (string, error) {
	d, err := v.dirObject(parent)
	if err != nil {
		return "", err
	}
	a, found, err := v.childAttr(ctx, c, d, name)
	if err != nil {
		return "", err
	}
	if !found {
		return "", proto.ErrNotFound
	}
	if !maybeMountPoint(&a) {
		return "", ErrNotMountPoint
	}
	v.mu.Lock()
	ino := v.inoFor(a.FID)
	v.mu.Unlock()
	target, err := v.Readlink(ctx, c, ino)
	if err != nil {
		return "", err
	}
	vol, ok := mountedVolume(target)
	if !ok {
		return "", ErrNotMountPoint
	}
	return vol, nil
}

// RemoveMount removes the mount point name in directory parent (cfs
// rmmount); the volume stays.
func (v *Venus) RemoveMount(ctx context.Context, c Caller, parent uint64, name string) error {
	if _, err := v.MountPoint(ctx, c, parent, name); err != nil {
		return err
	}
	err := v.remove(ctx, c, parent, name, proto.OpRemove)
	v.notify(kernelNotes{children: []uint64{parent}}, notifyWait)
	return err
}
