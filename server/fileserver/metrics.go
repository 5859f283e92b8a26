package fileserver

import (
	"github.com/coda-fs/coda/server/metrics"
	"github.com/coda-fs/coda/server/proto"
)

// resolveOutcomes names the outcomes of resolution for metrics.
var resolveOutcomes = map[uint8]string{
	proto.ResolveEqual: "equal", proto.ResolveDone: "done", proto.ResolveConflict: "conflict",
	proto.ResolveIncomplete: "incomplete", proto.ResolveNamesInConflict: "names_in_conflict",
}

// Collect writes the file server's metrics: its volumes, the callback
// promises it holds, the resolutions clients asked for by outcome and the
// conflicts found.
func (s *Server) Collect(w *metrics.Writer) {
	for _, vi := range s.cfg.Volumes.List() {
		l := metrics.L("volume", vi.Name, "type", vi.Type.String())
		w.Gauge("coda_server_volume_files", "Objects in a volume replica.", float64(vi.Files), l...)
		w.Gauge("coda_server_volume_bytes", "Bytes of file data a volume replica holds.", float64(vi.Bytes), l...)
	}
	w.Gauge("coda_server_callbacks", "Callback promises held by clients, one per object and client.", float64(s.cb.Count()))
	for o, name := range resolveOutcomes {
		w.Counter("coda_server_resolutions_total", "Objects clients asked to resolve, by outcome.", float64(s.resolved[o].Load()), metrics.L("outcome", name)...)
	}
	n := 0
	s.announced.Range(func(any, any) bool { n++; return true })
	w.Counter("coda_server_conflicts_total", "Conflicts found by resolution since the server started.", float64(n))
}
