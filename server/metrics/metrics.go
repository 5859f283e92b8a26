// Package metrics serves a daemon's counters in Prometheus's text format
// (version 0.0.4) at /metrics, written directly rather than through the
// Prometheus client library (a few hundred lines against a large
// dependency). A daemon registers collectors, functions that write the
// current values; nothing is cached between scrapes.
package metrics

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Writer writes metrics in the text format; the HELP and TYPE lines of a
// name go out once, before its first sample.
type Writer struct {
	b    bytes.Buffer
	seen map[string]bool
}

// Label is one name="value" pair.
type Label struct{ Name, Value string }

// L makes labels from name, value, name, value, ….
func L(nv ...string) []Label {
	out := make([]Label, 0, len(nv)/2)
	for i := 0; i+1 < len(nv); i += 2 {
		out = append(out, Label{nv[i], nv[i+1]})
	}
	return out
}

func (w *Writer) head(name, typ, help string) {
	if w.seen == nil {
		w.seen = map[string]bool{}
	}
	if w.seen[name] {
		return
	}
	w.seen[name] = true
	fmt.Fprintf(&w.b, "# HELP %s %s\n# TYPE %s %s\n", name, strings.ReplaceAll(help, "\n", " "), name, typ)
}

func (w *Writer) sample(name string, labels []Label, v float64) {
	w.b.WriteString(name)
	if len(labels) > 0 {
		w.b.WriteByte('{')
		for i, l := range labels {
			if i > 0 {
				w.b.WriteByte(',')
			}
			w.b.WriteString(l.Name)
			w.b.WriteString(`="`)
			w.b.WriteString(escape(l.Value))
			w.b.WriteByte('"')
		}
		w.b.WriteByte('}')
	}
	w.b.WriteByte(' ')
	w.b.WriteString(formatFloat(v))
	w.b.WriteByte('\n')
}

func escape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s)
}

func formatFloat(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case v == math.Trunc(v) && math.Abs(v) < 1e15:
		return strconv.FormatInt(int64(v), 10)
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// Counter writes one sample of a counter.
func (w *Writer) Counter(name, help string, v float64, labels ...Label) {
	w.head(name, "counter", help)
	w.sample(name, labels, v)
}

// Gauge writes one sample of a gauge.
func (w *Writer) Gauge(name, help string, v float64, labels ...Label) {
	w.head(name, "gauge", help)
	w.sample(name, labels, v)
}

// Histogram writes h (its buckets, sum and count) under name.
func (w *Writer) Histogram(name, help string, h *Histogram, labels ...Label) {
	w.head(name, "histogram", help)
	counts, sum, total := h.snapshot()
	var cum uint64
	for i, le := range h.bounds {
		cum += counts[i]
		w.sample(name+"_bucket", append(labels[:len(labels):len(labels)], Label{"le", formatFloat(le)}), float64(cum))
	}
	w.sample(name+"_bucket", append(labels[:len(labels):len(labels)], Label{"le", "+Inf"}), float64(total))
	w.sample(name+"_sum", labels, sum)
	w.sample(name+"_count", labels, float64(total))
}

// LatencyBuckets are the upper bounds (seconds) of a request latency
// histogram: 100 µs to 10 s.
var LatencyBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// Histogram counts observations into buckets; safe for concurrent use.
type Histogram struct {
	bounds []float64
	counts []atomic.Uint64 // per bucket (not cumulative); the last is beyond every bound
	sumNs  atomic.Int64    // observations are durations: the sum in ns
}

// NewHistogram returns a histogram with the given upper bounds (sorted).
func NewHistogram(bounds []float64) *Histogram {
	return &Histogram{bounds: bounds, counts: make([]atomic.Uint64, len(bounds)+1)}
}

// Observe records a duration.
func (h *Histogram) Observe(d time.Duration) {
	s := d.Seconds()
	i := sort.SearchFloat64s(h.bounds, s)
	h.counts[i].Add(1)
	h.sumNs.Add(int64(d))
}

func (h *Histogram) snapshot() (counts []uint64, sum float64, total uint64) {
	counts = make([]uint64, len(h.counts))
	for i := range h.counts {
		counts[i] = h.counts[i].Load()
		total += counts[i]
	}
	return counts, float64(h.sumNs.Load()) / 1e9, total
}

// Registry holds a daemon's collectors.
type Registry struct {
	mu         sync.Mutex
	collectors []func(*Writer)
}

// Register adds a collector, called on every scrape.
func (r *Registry) Register(f func(*Writer)) {
	r.mu.Lock()
	r.collectors = append(r.collectors, f)
	r.mu.Unlock()
}

// Render writes every collector's metrics.
func (r *Registry) Render() []byte {
	r.mu.Lock()
	cs := append([]func(*Writer){}, r.collectors...)
	r.mu.Unlock()
	var w Writer
	for _, c := range cs {
		c(&w)
	}
	return w.b.Bytes()
}

// ServeHTTP answers GET /metrics.
func (r *Registry) ServeHTTP(rw http.ResponseWriter, req *http.Request) {
	if req.URL.Path != "/metrics" {
		http.NotFound(rw, req)
		return
	}
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		http.Error(rw, "GET only", http.StatusMethodNotAllowed)
		return
	}
	rw.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	rw.Write(r.Render())
}

// Serve serves r at https://addr/metrics with cfg (the daemon's
// certificate) until ctx ends. It returns once listening: a listen error
// is returned, later errors are logged.
func Serve(ctx context.Context, addr string, cfg *tls.Config, r *Registry, log *slog.Logger) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	srv := &http.Server{Handler: r, TLSConfig: cfg.Clone(), ReadHeaderTimeout: 10 * time.Second}
	srv.TLSConfig.ClientAuth = tls.NoClientCert // counters only: any scraper that trusts the realm CA
	go func() {
		if err := srv.ServeTLS(l, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics endpoint stopped", "err", err)
		}
	}()
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	log.Info("metrics served", "url", "https://"+l.Addr().String()+"/metrics")
	return nil
}
