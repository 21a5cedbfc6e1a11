//go:build fleet

package fleet

import (
	"math"
	"testing"
)

func TestHistogramQuantile(t *testing.T) {
	text := `# HELP x
kubeproxy_network_programming_duration_seconds_bucket{ip_family="IPv4",le="0.1"} 50
kubeproxy_network_programming_duration_seconds_bucket{ip_family="IPv4",le="0.5"} 90
kubeproxy_network_programming_duration_seconds_bucket{ip_family="IPv4",le="+Inf"} 100
rest_client_requests_total{code="200",host="x",method="GET"} 7
rest_client_requests_total{code="200",host="x",method="WATCH"} 3
`
	s := parseMetrics(text)
	h := histogram{}
	h.add(s, programmingMetric)
	h.add(s, programmingMetric) // a second node with the same figures
	for _, c := range []struct{ q, want float64 }{{0.25, 0.05}, {0.5, 0.1}, {0.7, 0.3}, {0.99, 0.5}} {
		if got := h.quantile(c.q); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("quantile(%v) = %v, want %v", c.q, got, c.want)
		}
	}
	if h.count() != 200 {
		t.Errorf("count = %v, want 200", h.count())
	}
	if got := sum(s, requestsMetric); got != 10 {
		t.Errorf("requests = %v, want 10", got)
	}
	if got := sum(s, requestsMetric, `method="WATCH"`); got != 3 {
		t.Errorf("watch requests = %v, want 3", got)
	}
	if !math.IsNaN((histogram{}).quantile(0.5)) {
		t.Error("empty histogram: want NaN")
	}
}
