package venus

import (
	"os"

	"golang.org/x/sys/unix"
)

// syncAllAbove: with more unsynced containers than this, one syncfs of the
// cache's file system is cheaper than an fdatasync each.
const syncAllAbove = 32

// markUnsynced notes that o's container was written and its data is not
// synced: until syncContainers has synced it, records leave it out (see
// encodeRecord). Callers hold v.mu.
func (v *Venus) markUnsynced(o *object) {
	o.unsynced = true
	o.syncGen++
	v.unsynced[o] = struct{}{}
}

// syncContainers syncs the data of the containers written since the last
// call, then records them. Called by the flusher and at Close; the sync
// is off the path of every file system call.
func (v *Venus) syncContainers() {
	type item struct {
		o    *object
		name string
		gen  uint64
	}
	v.mu.Lock()
	todo := make([]item, 0, len(v.unsynced))
	for o := range v.unsynced {
		if o.cont != "" && o.unsynced {
			todo = append(todo, item{o, o.cont, o.syncGen})
		}
	}
	clear(v.unsynced)
	v.mu.Unlock()
	if len(todo) == 0 {
		return
	}
	synced := make([]bool, len(todo))
	if len(todo) > syncAllAbove && v.syncfs() == nil {
		for i := range synced {
			synced[i] = true
		}
	} else {
		for i, it := range todo {
			synced[i] = v.conts.syncName(it.name) == nil
		}
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	for i, it := range todo {
		o := it.o
		switch {
		case o.cont != it.name || o.syncGen != it.gen:
			// Replaced or written again meanwhile: the next round.
			if o.unsynced && o.cont != "" {
				v.unsynced[o] = struct{}{}
			}
		case synced[i]:
			o.unsynced = false
			v.meta.putObject(o)
		default:
			v.unsynced[o] = struct{}{}
		}
	}
}

// syncfs syncs the file system holding the containers.
func (v *Venus) syncfs() error {
	d, err := os.Open(v.conts.dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return unix.Syncfs(int(d.Fd()))
}
