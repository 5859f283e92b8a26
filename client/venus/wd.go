package venus

import (
	"context"
	"encoding/binary"
	"time"

	"github.com/coda-fs/coda/server/store"
)

// Write-disconnected operation (cfs wd), for a weak link: venus keeps
// reading from the servers but logs every update, as if disconnected, and
// trickles the log back in the background: records older than age, for
// about chunk at a time. cfs strong (its old name: cfs wr) makes updates
// synchronous again and sends what is logged; cfs fr sends the log now.
// The setting is kept in the cache database across restarts.

// prefWD keys a volume's write-disconnected setting: W volume → age, chunk.
const prefWD = 'W'

// wdSettings is a volume's write-disconnected mode.
type wdSettings struct {
	on         bool
	age, chunk time.Duration
	// adaptive: on follows the link's measured bandwidth (adaptive.go).
	adaptive bool
}

// trickleEvery is how often the trickler looks at write-disconnected
// volumes.
const trickleEvery = 250 * time.Millisecond

func wdKey(id uint32) []byte { return binary.BigEndian.AppendUint32([]byte{prefWD}, id) }

// WriteDisconnect puts the volumes holding inos (every volume venus knows
// when none) in write-disconnected mode, or out of it (on false: cfs
// strong, which also sends the log before it returns). It returns how
// many volumes it set.
func (v *Venus) WriteDisconnect(inos []uint64, on bool, age, chunk time.Duration) (int, error) {
	return v.setWD(inos, wdSettings{on: on, age: age, chunk: chunk})
}

// Adaptive puts the volumes holding inos (every volume venus knows when
// none) in adaptive mode: write-disconnected while the measured link is
// weak, strongly connected while it is not (cfs adaptive).
func (v *Venus) Adaptive(inos []uint64) (int, error) {
	return v.setWD(inos, wdSettings{on: v.weakLink(), chunk: adaptiveChunk, adaptive: true})
}

// setWD gives the volumes holding inos the write-disconnected setting s,
// kept across restarts. Ending it sends the log before it returns.
func (v *Venus) setWD(inos []uint64, s wdSettings) (int, error) {
	ids, err := v.volumesOf(inos)
	if err != nil {
		return 0, err
	}
	on := s.on
	v.mu.Lock()
	for _, id := range ids {
		vol := v.volumeFor(id)
		vol.wd = s
		if s.on || s.adaptive {
			var b [17]byte
			binary.BigEndian.PutUint64(b[:], uint64(s.age))
			binary.BigEndian.PutUint64(b[8:], uint64(s.chunk))
			if s.adaptive {
				b[16] = 1
			}
			v.meta.write(func(bt *store.Batch) { bt.Set(wdKey(id), b[:]) })
		} else {
			v.meta.write(func(bt *store.Batch) { bt.Delete(wdKey(id)) })
		}
	}
	v.cmlCommit()
	v.mu.Unlock()
	if !on {
		for _, id := range ids {
			v.reintegrateMode(id, true) // what is logged goes before strong returns
		}
	}
	return len(ids), nil
}

// ForceReintegrate sends the logs of the volumes holding inos (all when
// none) now, whatever their age, and returns how many records are left.
func (v *Venus) ForceReintegrate(ctx context.Context, inos []uint64) (int, error) {
	ids, err := v.volumesOf(inos)
	if err != nil {
		return 0, err
	}
	left := 0
	for _, id := range ids {
		v.reintegrateMode(id, true)
		v.mu.Lock()
		left += len(v.volumeFor(id).cml)
		v.mu.Unlock()
	}
	return left, nil
}

// volumesOf lists the volumes holding inos, or every volume venus knows.
func (v *Venus) volumesOf(inos []uint64) ([]uint32, error) {
	var ids []uint32
	if len(inos) == 0 {
		v.mu.Lock()
		for id, vol := range v.vols {
			if vol.repsKnown || len(vol.cml) > 0 {
				ids = append(ids, id)
			}
		}
		v.mu.Unlock()
		return ids, nil
	}
	for _, ino := range inos {
		o, err := v.object(ino)
		if err != nil {
			return nil, err
		}
		ids = append(ids, o.fid.Volume)
	}
	return ids, nil
}

// loadWD restores the write-disconnected settings.
func (v *Venus) loadWD() error {
	return v.meta.scan(prefWD, func(k, val []byte) error {
		if len(k) != 5 || len(val) != 16 && len(val) != 17 {
			return nil // not ours to judge: ignored
		}
		vol := v.volumeFor(binary.BigEndian.Uint32(k[1:]))
		vol.wd = wdSettings{on: true, age: time.Duration(binary.BigEndian.Uint64(val)), chunk: time.Duration(binary.BigEndian.Uint64(val[8:]))}
		if len(val) == 17 && val[16] == 1 {
			vol.wd.adaptive, vol.wd.on = true, false // strong until a transfer says otherwise
		}
		return nil
	})
}

// trickle adapts the adaptive volumes to the link and sends what is due
// of the write-disconnected volumes' logs (run every trickleEvery in the
// background).
func (v *Venus) trickle() {
	v.adapt()
	v.mu.Lock()
	var ids []uint32
	for id, vol := range v.vols {
		if vol.wd.on && len(vol.cml) > 0 && !vol.reintegrating {
			ids = append(ids, id)
		}
	}
	v.mu.Unlock()
	for _, id := range ids {
		v.reintegrateMode(id, false)
	}
}

// due reports whether rec may go now under vol's write-disconnected
// setting, reintegration having started at start. Callers hold v.mu.
func (vol *volume) due(rec *cmlRecord, start time.Time) bool {
	if !vol.wd.on {
		return true
	}
	if time.Since(time.Unix(0, rec.made)) < vol.wd.age {
		return false
	}
	return vol.wd.chunk <= 0 || time.Since(start) < vol.wd.chunk
}
