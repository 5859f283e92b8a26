package store

import (
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// Iter walks keys in order within its bounds. The slices returned by Key
// and Value are valid only until the next positioning call or Close; copy
// them to keep them. Positioning calls return whether the Iter is Valid.
// After iteration, check Error (Close returns it too).
type Iter struct {
	it  *pebble.Iterator
	err error
}

func iterOptions(lower, upper []byte) *pebble.IterOptions {
	return &pebble.IterOptions{LowerBound: lower, UpperBound: upper}
}

func newIter(it *pebble.Iterator, err error) (*Iter, error) {
	if err != nil {
		return nil, fmt.Errorf("store: new iterator: %w", err)
	}
	return &Iter{it: it}, nil
}

// First moves to the first key.
func (i *Iter) First() bool { return i.it.First() }

// Last moves to the last key.
func (i *Iter) Last() bool { return i.it.Last() }

// Next moves to the next key.
func (i *Iter) Next() bool { return i.it.Next() }

// Prev moves to the previous key.
func (i *Iter) Prev() bool { return i.it.Prev() }

// SeekGE moves to the first key >= key.
func (i *Iter) SeekGE(key []byte) bool { return i.it.SeekGE(key) }

// SeekLT moves to the last key < key.
func (i *Iter) SeekLT(key []byte) bool { return i.it.SeekLT(key) }

// Valid reports whether the Iter is positioned at a key.
func (i *Iter) Valid() bool { return i.err == nil && i.it.Valid() }

// Key is the current key (see the Iter doc for how long it stays valid).
func (i *Iter) Key() []byte { return i.it.Key() }

// Value is the current value (see the Iter doc for how long it stays
// valid). A read error makes it nil and is reported by Error.
func (i *Iter) Value() []byte {
	v, err := i.it.ValueAndErr()
	if err != nil {
		i.err = err
		return nil
	}
	return v
}

// Error returns the first error the Iter met.
func (i *Iter) Error() error {
	if i.err != nil {
		return fmt.Errorf("store: iterator: %w", i.err)
	}
	if err := i.it.Error(); err != nil {
		return fmt.Errorf("store: iterator: %w", err)
	}
	return nil
}

// Close releases the Iter and returns its error, if any. It is idempotent.
func (i *Iter) Close() error {
	if i.it == nil {
		return nil
	}
	err := i.Error()
	cerr := i.it.Close()
	i.it = nil
	if err != nil {
		return err
	}
	if cerr != nil {
		return fmt.Errorf("store: iterator: %w", cerr)
	}
	return nil
}
