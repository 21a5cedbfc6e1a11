//go:build fleet

package fleet

import (
	"math"
	"sort"
	"strconv"
	"strings"
)

// The metrics both proxies export (kube-proxy's names).
const (
	programmingMetric = "kubeproxy_network_programming_duration_seconds"
	requestsMetric    = "rest_client_requests_total"
	// watchersMetric is the API server's gauge of open long-running
	// requests; with verb="WATCH" it counts watches.
	watchersMetric = "apiserver_longrunning_requests"
)

// sample is one line of the Prometheus text format.
type sample struct {
	name   string
	labels string // the text between the braces
	value  float64
}

// parseMetrics reads the samples of the text format, skipping comments.
func parseMetrics(text string) []sample {
	var out []sample
	for _, line := range strings.Split(text, "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		nameEnd := strings.IndexAny(line, "{ ")
		if nameEnd < 0 {
			continue
		}
		s := sample{name: line[:nameEnd]}
		rest := line[nameEnd:]
		if rest[0] == '{' {
			end := strings.LastIndex(rest, "}")
			if end < 0 {
				continue
			}
			s.labels, rest = rest[1:end], rest[end+1:]
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			continue
		}
		s.value = v
		out = append(out, s)
	}
	return out
}

// sum adds the samples named name whose labels contain every one of match
// (e.g. `verb="WATCH"`).
func sum(samples []sample, name string, match ...string) float64 {
	var total float64
	for _, s := range samples {
		if s.name == name && containsAll(s.labels, match) {
			total += s.value
		}
	}
	return total
}

func containsAll(labels string, match []string) bool {
	for _, m := range match {
		if !strings.Contains(labels, m) {
			return false
		}
	}
	return true
}

// histogram is a cumulative histogram merged over label sets and nodes.
type histogram map[float64]float64 // upper bound → cumulative count

func (h histogram) add(samples []sample, name string) {
	for _, s := range samples {
		if s.name != name+"_bucket" {
			continue
		}
		le, ok := labelValue(s.labels, "le")
		if !ok {
			continue
		}
		bound, err := strconv.ParseFloat(le, 64)
		if err != nil {
			continue
		}
		h[bound] += s.value
	}
}

func labelValue(labels, key string) (string, bool) {
	for _, kv := range strings.Split(labels, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if ok && strings.TrimSpace(k) == key {
			return strings.Trim(v, `"`), true
		}
	}
	return "", false
}

// quantile estimates the q-quantile like PromQL's histogram_quantile:
// linear inside the bucket that holds it. NaN when empty.
func (h histogram) quantile(q float64) float64 {
	bounds := make([]float64, 0, len(h))
	for b := range h {
		bounds = append(bounds, b)
	}
	sort.Float64s(bounds)
	if len(bounds) == 0 || h[bounds[len(bounds)-1]] == 0 {
		return math.NaN()
	}
	total := h[bounds[len(bounds)-1]]
	rank := q * total
	lower, below := 0.0, 0.0
	for _, b := range bounds {
		count := h[b]
		if count >= rank {
			if math.IsInf(b, 1) {
				return lower // beyond the last finite bucket: its bound
			}
			if count == below {
				return b
			}
			return lower + (b-lower)*(rank-below)/(count-below)
		}
		lower, below = b, count
	}
	return lower
}

func (h histogram) count() float64 {
	var top float64
	for _, c := range h {
		top = max(top, c)
	}
	return top
}
