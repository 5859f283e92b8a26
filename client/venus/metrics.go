package venus

import (
	"github.com/coda-fs/coda/server/metrics"
	"github.com/coda-fs/coda/server/proto"
)

// Collect writes venus's metrics: requests sent by op, file data fetched
// and stored, cache hits, misses and evictions, the cache's size, each
// volume's log (records, bytes), state and conflicts, reintegration and
// resolution counts, and which servers are down.
func (v *Venus) Collect(w *metrics.Writer) {
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
	type volStat struct {
		id               uint32
		name, state      string
		records          int
		bytes            int64
		conflicts, stale int
	}
	var vols []volStat
	for _, vol := range v.vols {
		s := cmlStatus(vol)
		state := "connected"
		switch {
		case vol.wd.on:
			state = "write-disconnected"
		case vol.reintegrating:
			state = "reintegrating"
		}
		vols = append(vols, volStat{id: vol.id, name: vol.label(), state: state, records: s.Records, bytes: s.Bytes,
			conflicts: len(vol.conflicts), stale: len(vol.outOfDate)})
	}
	v.mu.Unlock()
	for i := range vols {
		if v.disconnected(vols[i].id) {
			vols[i].state = "disconnected"
		}
	}
	w.Gauge("coda_venus_cache_bytes", "Bytes of file data cached.", float64(cached))
	w.Gauge("coda_venus_objects", "Objects venus knows.", float64(objects))
	w.Gauge("coda_venus_open_files", "Files open through the mount.", float64(open))
	for _, s := range vols {
		l := metrics.L("volume", s.name)
		w.Gauge("coda_venus_cml_records", "Updates logged and not yet reintegrated, by volume.", float64(s.records), l...)
		w.Gauge("coda_venus_cml_bytes", "Bytes the logged updates will send, by volume.", float64(s.bytes), l...)
		w.Gauge("coda_venus_conflicts", "Objects in conflict, by volume.", float64(s.conflicts), l...)
		w.Gauge("coda_venus_out_of_date", "Objects whose replicas differ and are not resolved, by volume.", float64(s.stale), l...)
		w.Gauge("coda_venus_volume_state", "1 for the volume's state (connected, disconnected, write-disconnected, …).", 1,
			append(l, metrics.Label{Name: "state", Value: s.state})...)
	}
	for _, addr := range v.opts.Servers {
		down := 0.0
		if v.link.isDown(addr) {
			down = 1
		}
		w.Gauge("coda_venus_server_down", "1 when venus cannot reach the server.", down, metrics.L("server", addr)...)
	}
}
