package venus

import (
	"slices"
	"strings"

	"github.com/coda-fs/coda/server/metrics"
	"github.com/coda-fs/coda/server/proto"
)

// Collect writes venus's metrics: requests sent by op, file data fetched
// and stored, cache hits, misses and evictions, the cache's size, each
// volume's log (records, bytes), state and conflicts, reintegration and
// resolution counts, and which servers are down.
func (v *Venus) Collect(w *metrics.Writer) {
	v.rpcStats.Collect(w, "coda_venus")
	for op := range v.stats.rpc {
		if n := v.stats.rpc[op].Load(); n != 0 {
			w.Counter("coda_venus_rpc_requests_total", "Requests sent to the servers, by operation.", float64(n),
				metrics.L("op", proto.Op(op).String())...)
		}
	}
	w.Counter("coda_venus_fetched_bytes_total", "File data fetched from the servers.", float64(v.stats.fetchedBytes.Load()))
	w.Counter("coda_venus_stored_bytes_total", "File data stored to the servers.", float64(v.stats.storedBytes.Load()))
	w.Counter("coda_venus_cache_hits_total", "Opens served from the cache.", float64(v.stats.openHits.Load()))
	w.Counter("coda_venus_cache_misses_total", "Opens that fetched the file.", float64(v.stats.openMisses.Load()))
	w.Counter("coda_venus_cache_evictions_total", "Files evicted from the cache.", float64(v.stats.evictions.Load()))
	w.Counter("coda_venus_updates_logged_total", "Updates logged for reintegration (disconnected or write-disconnected).", float64(v.stats.emulated.Load()))
	w.Counter("coda_venus_updates_reintegrated_total", "Logged updates the servers took.", float64(v.stats.reintegrated.Load()))
	w.Counter("coda_venus_resolutions_total", "Objects venus asked the servers to resolve.", float64(v.stats.resolves.Load()))
	v.mu.Lock()
	cached, objects, open := v.cachedBytes, len(v.objs), v.openFiles
	v.mu.Unlock()
	vols := v.VolumeSummaries()
	w.Gauge("coda_venus_cache_bytes", "Bytes of file data cached.", float64(cached))
	w.Gauge("coda_venus_objects", "Objects venus knows.", float64(objects))
	w.Gauge("coda_venus_open_files", "Files open through the mount.", float64(open))
	for _, s := range vols {
		l := metrics.L("volume", s.Name)
		w.Gauge("coda_venus_cml_records", "Updates logged and not yet reintegrated, by volume.", float64(s.CML.Records), l...)
		w.Gauge("coda_venus_cml_bytes", "Bytes the logged updates will send, by volume.", float64(s.CML.Bytes), l...)
		w.Gauge("coda_venus_conflicts", "Objects in conflict, by volume.", float64(s.Conflicts), l...)
		w.Gauge("coda_venus_out_of_date", "Objects whose replicas differ and are not resolved, by volume.", float64(s.OutOfDate), l...)
		w.Gauge("coda_venus_volume_state", "1 for the volume's state (connected, disconnected, write-disconnected, …).", 1,
			append(l, metrics.Label{Name: "state", Value: s.State})...)
	}
	for _, srv := range v.ServersUp() {
		down := 0.0
		if !srv.Up {
			down = 1
		}
		w.Gauge("coda_venus_server_down", "1 when venus cannot reach the server.", down, metrics.L("server", srv.Addr)...)
	}
}

// VolumeSummary is a volume at a glance (cfs status, metrics).
type VolumeSummary struct {
	Name      string    `json:"name"`
	ID        uint32    `json:"id"`
	State     string    `json:"state"` // connected, disconnected, write-disconnected, reintegrating
	CML       CMLStatus `json:"cml"`
	Conflicts int       `json:"conflicts"`
	OutOfDate int       `json:"out_of_date"`
	Waiting   string    `json:"waiting,omitempty"` // why reintegration waits
}

// VolumeSummaries summarises every volume venus knows, by name.
func (v *Venus) VolumeSummaries() []VolumeSummary {
	v.mu.Lock()
	var out []VolumeSummary
	for _, vol := range v.vols {
		state := "connected"
		switch {
		case vol.wd.on:
			state = "write-disconnected"
		case vol.reintegrating:
			state = "reintegrating"
		}
		out = append(out, VolumeSummary{Name: vol.label(), ID: vol.id, State: state, CML: cmlStatus(vol),
			Conflicts: len(vol.conflicts), OutOfDate: len(vol.outOfDate), Waiting: vol.waitReason})
	}
	v.mu.Unlock()
	for i := range out {
		if v.disconnected(out[i].ID) {
			out[i].State = "disconnected"
		}
	}
	slices.SortFunc(out, func(a, b VolumeSummary) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// ServerUp says whether venus reaches a server.
type ServerUp struct {
	Addr string `json:"addr"`
	Up   bool   `json:"up"`
}

// ServersUp lists the realm's servers and whether venus reaches each (as
// it last found: no probe is sent).
func (v *Venus) ServersUp() []ServerUp {
	var out []ServerUp
	for _, addr := range v.opts.Servers {
		out = append(out, ServerUp{Addr: addr, Up: !v.link.isDown(addr)})
	}
	return out
}

// WalkProgress is how far a running hoard walk has come.
type WalkProgress struct {
	Running bool  `json:"running"`
	Fetched int64 `json:"fetched"` // bytes fetched since it began
}

// HoardWalkProgress reports the hoard walk running, if any.
func (v *Venus) HoardWalkProgress() WalkProgress {
	if !v.walking.Load() {
		return WalkProgress{}
	}
	return WalkProgress{Running: true, Fetched: v.stats.fetchedBytes.Load() - v.walkBase.Load()}
}
