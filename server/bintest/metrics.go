package bintest

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// Scrape reads https://addr/metrics, trusting caPEM (the realm CA, or a
// venus's metrics.pem), checks the Prometheus content type and returns the
// text.
func Scrape(t testing.TB, addr string, caPEM []byte) string {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := client.Get("https://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Fatalf("scrape of %s: %s, %q", addr, resp.Status, resp.Header.Get("Content-Type"))
	}
	return string(b)
}

// MetricValue returns the value of one series (name with its labels, as
// written) in a scrape's text, 0 when absent.
func MetricValue(text, series string) float64 {
	m := regexp.MustCompile("(?m)^" + regexp.QuoteMeta(series) + " ([0-9.e+]+)$").FindStringSubmatch(text)
	if m == nil {
		return 0
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}
