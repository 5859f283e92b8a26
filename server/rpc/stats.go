package rpc

import (
	"sync/atomic"
	"time"

	"github.com/coda-fs/coda/server/metrics"
	"github.com/coda-fs/coda/server/proto"
)

// Stats counts what the connections of a Config carry, for a daemon's
// metrics: requests served and calls made per op (with their latency and
// errors), data bytes, connections open. Set Config.Stats to collect;
// safe for concurrent use.
type Stats struct {
	DataIn, DataOut atomic.Int64 // payload bytes of data frames received and sent
	Conns           atomic.Int64 // connections open
	ops             [proto.OpMax]opStats
	calls           [proto.OpMax]opStats
}

type opStats struct {
	errs    atomic.Uint64
	latency atomic.Pointer[metrics.Histogram]
}

// served records one request served.
func (s *Stats) served(op proto.Op, d time.Duration, failed bool) {
	if s != nil && op < proto.OpMax {
		s.ops[op].record(d, failed)
	}
}

// called records one call made (the reply, or its failure, came).
func (s *Stats) called(op proto.Op, d time.Duration, failed bool) {
	if s != nil && op < proto.OpMax {
		s.calls[op].record(d, failed)
	}
}

func (o *opStats) record(d time.Duration, failed bool) {
	h := o.latency.Load()
	if h == nil {
		o.latency.CompareAndSwap(nil, metrics.NewHistogram(metrics.LatencyBuckets))
		h = o.latency.Load()
	}
	h.Observe(d)
	if failed {
		o.errs.Add(1)
	}
}

// Collect writes the counters under prefix (e.g. "coda_server").
func (s *Stats) Collect(w *metrics.Writer, prefix string) {
	w.Gauge(prefix+"_connections", "RPC connections open.", float64(s.Conns.Load()))
	w.Counter(prefix+"_data_received_bytes_total", "File data received in RPC data streams (stores, uploads).", float64(s.DataIn.Load()))
	w.Counter(prefix+"_data_sent_bytes_total", "File data sent in RPC data streams (fetches, dumps).", float64(s.DataOut.Load()))
	for op := range proto.Op(proto.OpMax) {
		o := &s.ops[op]
		if h := o.latency.Load(); h != nil {
			w.Histogram(prefix+"_rpc_duration_seconds", "Time to serve a request, by operation.", h, metrics.L("op", op.String())...)
		}
	}
	for op := range proto.Op(proto.OpMax) {
		if o := &s.ops[op]; o.latency.Load() != nil {
			w.Counter(prefix+"_rpc_errors_total", "Requests answered with an error, by operation.", float64(o.errs.Load()), metrics.L("op", op.String())...)
		}
	}
	for op := range proto.Op(proto.OpMax) {
		if h := s.calls[op].latency.Load(); h != nil {
			w.Histogram(prefix+"_rpc_call_duration_seconds", "Time from sending a request to its answer, by operation.", h, metrics.L("op", op.String())...)
		}
	}
	for op := range proto.Op(proto.OpMax) {
		if o := &s.calls[op]; o.latency.Load() != nil {
			w.Counter(prefix+"_rpc_call_errors_total", "Calls that failed (an error answer or a lost connection), by operation.", float64(o.errs.Load()), metrics.L("op", op.String())...)
		}
	}
}
