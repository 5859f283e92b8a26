package venus

import (
	"fmt"
	"sync"
	"time"

	"github.com/coda-fs/coda/server/proto"
)

// Adaptive mode (cfs adaptive). Venus measures the bandwidth of its link
// to the servers from the file transfers it makes (fetches and stores of
// at least bwMinSample bytes, a moving average). A volume in adaptive mode
// is write-disconnected while the link is weak (below WeakBandwidth:
// updates are logged and trickled back, changes older than 0 s, 15 s at a
// time, as Coda's adaptive does) and strongly connected while it is not
// (the log is sent and updates are synchronous again). Until a transfer
// was measured the link counts as strong.

// WeakBandwidth is the bandwidth (bytes/s) below which a link is weak.
const WeakBandwidth = 50 << 10

// bwMinSample is the smallest transfer that measures the link (smaller
// ones measure its latency).
const bwMinSample = 16 << 10

// adaptiveChunk is how long a round of the trickle of an adaptive volume
// sends for.
const adaptiveChunk = 15 * time.Second

// bandwidth is the link's measured bandwidth.
type bandwidth struct {
	mu      sync.Mutex
	est     float64 // bytes/s; 0: not measured
	samples int
}

// noteTransfer records that n bytes went over the link in d.
func (v *Venus) noteTransfer(n int64, d time.Duration) {
	if n < bwMinSample || d <= 0 {
		return
	}
	sample := float64(n) / d.Seconds()
	b := &v.bw
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.samples == 0 {
		b.est = sample
	} else {
		b.est = 0.7*b.est + 0.3*sample
	}
	b.samples++
}

// Bandwidth is the measured bandwidth of the link in bytes/s (0 when no
// transfer measured it yet).
func (v *Venus) Bandwidth() float64 {
	v.bw.mu.Lock()
	defer v.bw.mu.Unlock()
	return v.bw.est
}

// weakLink reports whether the measured link is weak.
func (v *Venus) weakLink() bool {
	bw := v.Bandwidth()
	return bw > 0 && bw < WeakBandwidth
}

// adapt sets each adaptive volume write-disconnected while the link is
// weak and strongly connected while it is not (run by the trickler).
func (v *Venus) adapt() {
	weak := v.weakLink()
	v.mu.Lock()
	var strong []uint32
	for id, vol := range v.vols {
		if !vol.wd.adaptive || vol.wd.on == weak {
			continue
		}
		vol.wd.on = weak
		msg := fmt.Sprintf("volume %s: the link is strong (%.0f KB/s): updates go to the servers again", vol.label(), v.Bandwidth()/1024)
		if weak {
			msg = fmt.Sprintf("volume %s: the link is weak (%.0f KB/s): updates are logged and trickled back", vol.label(), v.Bandwidth()/1024)
		} else {
			strong = append(strong, id)
		}
		v.event(nil, EventVolume, proto.FID{}, msg)
	}
	v.mu.Unlock()
	for _, id := range strong {
		v.reintegrateMode(id, true) // what was logged goes now
	}
}
