//go:build fleet

package fleet

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// result is one proxy's figures.
type result struct {
	proxy           string
	nodes, services int

	samples                      []time.Duration // latency probes, every node
	programming                  histogram       // the proxies' network_programming_duration_seconds
	loadTime, firstSync          time.Duration
	rssSteady, rssMax            float64 // MB
	requestsPerNode              float64
	watchesPerNode               float64
	outageRecovery, etcdRecovery time.Duration
	rebootAfterEtcd              time.Duration   // node-1 rebooted right after the etcd restart
	reboots                      []time.Duration // node-1 rebooted once the fleet settled
	rollingFailed                int
	attempts, failed             int
	failures                     []string
	churnWrites, churnErrors     int
	findings                     int // shortfalls of a compared proxy, logged
}

// percentile is the nearest-rank percentile of the probe samples.
func (r *result) percentile(p float64) time.Duration {
	if len(r.samples) == 0 {
		return 0
	}
	s := slices.Clone(r.samples)
	slices.Sort(s)
	i := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[max(i, 0)]
}

func ms(d time.Duration) int64 { return d.Round(time.Millisecond).Milliseconds() }

// line is the result line `make fleet` ends with.
func (r *result) line() string {
	return fmt.Sprintf("fleet: proxy=%s nodes=%d services=%d p50_ms=%d p99_ms=%d max_ms=%d rss_mb_max=%.0f outage_recovery_s=%.2f failed_connections=%d",
		r.proxy, r.nodes, r.services, ms(r.percentile(50)), ms(r.percentile(99)), ms(r.percentile(100)),
		r.rssMax, r.outageRecovery.Seconds(), r.failed)
}

const reportHeader = `| proxy | nodes | Services | probes | p50 / p99 / max (probes) | p50 / p99 (metric) | RSS steady / max | first sync | API outage → live | etcd restart → live | reboot → converged (settled: median / max; right after etcd) | rolling restart failed | failed / connections | requests / node | watches / node |
|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|
`

// appendReport adds the result as a Markdown table row to path.
func (r *result) appendReport(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	_, err := os.Stat(path)
	fresh := errors.Is(err, fs.ErrNotExist)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	if fresh {
		fmt.Fprint(f, reportHeader)
	}
	q := func(p float64) string {
		v := r.programming.quantile(p)
		if math.IsNaN(v) {
			return "–"
		}
		return fmt.Sprintf("%.0f ms", v*1000)
	}
	_, err = fmt.Fprintf(f, "| %s | %d | %d | %d | %d / %d / %d ms | %s / %s | %.0f / %.0f MB | %s | %s | %s | %s | %d | %d / %d | %.0f | %.1f |\n",
		r.proxy, r.nodes, r.services, len(r.samples),
		ms(r.percentile(50)), ms(r.percentile(99)), ms(r.percentile(100)), q(0.5), q(0.99),
		r.rssSteady, r.rssMax, secs(r.firstSync), secs(r.outageRecovery), secs(r.etcdRecovery), r.rebootCell(),
		r.rollingFailed, r.failed, r.attempts, r.requestsPerNode, r.watchesPerNode)
	return err
}

// rebootCell is the reboot column: the settled reboots' median and
// maximum, then the one right after the etcd restart.
func (r *result) rebootCell() string {
	if len(r.reboots) == 0 {
		return "–"
	}
	s := slices.Clone(r.reboots)
	slices.Sort(s)
	return fmt.Sprintf("%.2f / %.2f s; %s", s[(len(s)-1)/2].Seconds(), s[len(s)-1].Seconds(), secs(r.rebootAfterEtcd))
}

func secs(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }
