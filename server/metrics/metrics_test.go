package metrics

import (
	"net/http/httptest"
	"testing"
	"time"
)

func TestTextFormat(t *testing.T) {
	var r Registry
	h := NewHistogram([]float64{.001, .01})
	h.Observe(500 * time.Microsecond)
	h.Observe(5 * time.Millisecond)
	h.Observe(time.Second)
	r.Register(func(w *Writer) {
		w.Counter("x_total", "Things.", 3, L("op", `a"b`)...)
		w.Counter("x_total", "Things.", 4, L("op", "c")...)
		w.Gauge("y", "A gauge.", 1.5)
		w.Histogram("lat_seconds", "Latency.", h, L("op", "f")...)
	})
	want := `# HELP x_total Things.
# TYPE x_total counter
x_total{op="a\"b"} 3
x_total{op="c"} 4
# HELP y A gauge.
# TYPE y gauge
y 1.5
# HELP lat_seconds Latency.
# TYPE lat_seconds histogram
lat_seconds_bucket{op="f",le="0.001"} 1
lat_seconds_bucket{op="f",le="0.01"} 2
lat_seconds_bucket{op="f",le="+Inf"} 3
lat_seconds_sum{op="f"} 1.0055
lat_seconds_count{op="f"} 3
`
	if got := string(r.Render()); got != want {
		t.Fatalf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestServeHTTP(t *testing.T) {
	var r Registry
	r.Register(func(w *Writer) { w.Gauge("up", "Up.", 1) })
	for _, tc := range []struct {
		method, path string
		code         int
	}{{"GET", "/metrics", 200}, {"HEAD", "/metrics", 200}, {"GET", "/other", 404}, {"POST", "/metrics", 405}} {
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
		if rec.Code != tc.code {
			t.Errorf("%s %s: %d, want %d", tc.method, tc.path, rec.Code, tc.code)
		}
	}
}
