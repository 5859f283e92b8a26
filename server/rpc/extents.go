package rpc

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// FileExtents returns the data extents of the first size bytes of f, found
// with SEEK_DATA/SEEK_HOLE, so that holes are neither sent nor filled in.
// A file system without hole support reports one extent. It moves f's
// file offset (ReadAt is unaffected).
func FileExtents(f *os.File, size int64) ([]Extent, error) {
	out, err := FdExtents(int(f.Fd()), size)
	if err != nil {
		return nil, fmt.Errorf("finding data in %s: %w", f.Name(), err)
	}
	return out, nil
}

// FdExtents is FileExtents on a file descriptor.
func FdExtents(fd int, size int64) ([]Extent, error) {
	var out []Extent
	for off := int64(0); off < size; {
		data, err := unix.Seek(fd, off, unix.SEEK_DATA)
		if errors.Is(err, unix.ENXIO) {
			break // only a hole from off to the end
		}
		if errors.Is(err, unix.EINVAL) && off == 0 {
			return []Extent{{0, size}}, nil // no SEEK_DATA here
		}
		if err != nil {
			return nil, err
		}
		if data >= size {
			break
		}
		hole, err := unix.Seek(fd, data, unix.SEEK_HOLE)
		if err != nil {
			return nil, err
		}
		hole = min(hole, size)
		if hole <= data {
			hole = size // the file shrank or grew under us: send the rest
		}
		out = append(out, Extent{data, hole - data})
		off = hole
	}
	return out, nil
}
