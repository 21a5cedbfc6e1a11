package metrics

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

const namespace = "svcnat"

// Metrics are the agent's metrics, registered in Registry.
type Metrics struct {
	Registry *prometheus.Registry

	// SyncDuration, SyncFullDuration and SyncPartialDuration time a whole
	// sync (snapshot, synth.Build, Apply); full syncs compared against the
	// kernel, partial ones sent only changes.
	SyncDuration        prometheus.Histogram
	SyncFullDuration    prometheus.Histogram
	SyncPartialDuration prometheus.Histogram
	// NetworkProgrammingDuration is the time from an EndpointSlice's
	// last-change-trigger-time to the sync that programmed it.
	NetworkProgrammingDuration prometheus.Histogram
	// LastSync and LastQueued are Unix times of the last successful sync and
	// of the last change queued.
	LastSync   prometheus.Gauge
	LastQueued prometheus.Gauge

	ServiceChangesPending  prometheus.Gauge
	EndpointChangesPending prometheus.Gauge
	ServiceChangesTotal    prometheus.Counter
	EndpointChangesTotal   prometheus.Counter
	// SyncFailures counts failed Applies (kube-proxy:
	// sync_proxy_rules_nftables_sync_failures_total / iptables_restore_failures_total).
	SyncFailures prometheus.Counter
	// NoLocalEndpoints counts Local-policy service ports without local
	// endpoints, by traffic_policy ("internal", "external").
	NoLocalEndpoints *prometheus.GaugeVec

	// svcnat's own.
	Rules             prometheus.Gauge
	Elements          prometheus.Gauge
	Changes           prometheus.Counter
	Warnings          *prometheus.GaugeVec
	WarningsTotal     *prometheus.CounterVec
	SourceErrors      prometheus.Counter
	ConntrackDeleted  prometheus.Counter
	ConntrackErrors   prometheus.Counter
	HealthCheckErrors prometheus.Counter
}

// kube-proxy's buckets.
var (
	syncBuckets = prometheus.ExponentialBuckets(0.001, 2, 15)
	progBuckets = merge(
		prometheus.LinearBuckets(0.25, 0.25, 2), // 0.25s, 0.50s
		prometheus.LinearBuckets(1, 1, 59),      // 1s .. 59s
		prometheus.LinearBuckets(60, 5, 12),     // 60s .. 115s
		prometheus.LinearBuckets(120, 30, 7),    // 2min .. 5min
	)
)

func merge(parts ...[]float64) []float64 {
	var out []float64
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// New returns the metrics registered in a new private registry, with the
// Go runtime and process collectors.
func New() *Metrics {
	m := newMetrics()
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.SyncDuration, m.SyncFullDuration, m.SyncPartialDuration, m.NetworkProgrammingDuration,
		m.LastSync, m.LastQueued,
		m.ServiceChangesPending, m.EndpointChangesPending, m.ServiceChangesTotal, m.EndpointChangesTotal,
		m.SyncFailures, m.NoLocalEndpoints,
		m.Rules, m.Elements, m.Changes, m.Warnings, m.WarningsTotal,
		m.SourceErrors, m.ConntrackDeleted, m.ConntrackErrors, m.HealthCheckErrors,
	)
	m.Registry = reg
	return m
}

func newMetrics() *Metrics {
	return &Metrics{
		SyncDuration:               histogram("sync_proxy_rules_duration_seconds", "SyncProxyRules latency in seconds", syncBuckets),
		SyncFullDuration:           histogram("sync_full_proxy_rules_duration_seconds", "SyncProxyRules latency in seconds for full resyncs", syncBuckets),
		SyncPartialDuration:        histogram("sync_partial_proxy_rules_duration_seconds", "SyncProxyRules latency in seconds for partial resyncs", syncBuckets),
		NetworkProgrammingDuration: histogram("network_programming_duration_seconds", "In Cluster Network Programming Latency in seconds", progBuckets),
		LastSync:                   gauge("sync_proxy_rules_last_timestamp_seconds", "The last time proxy rules were successfully synced"),
		LastQueued:                 gauge("sync_proxy_rules_last_queued_timestamp_seconds", "The last time a sync of proxy rules was queued"),
		ServiceChangesPending:      gauge("sync_proxy_rules_service_changes_pending", "Pending proxy rules Service changes"),
		EndpointChangesPending:     gauge("sync_proxy_rules_endpoint_changes_pending", "Pending proxy rules Endpoint changes"),
		ServiceChangesTotal:        counter("sync_proxy_rules_service_changes_total", "Cumulative proxy rules Service changes"),
		EndpointChangesTotal:       counter("sync_proxy_rules_endpoint_changes_total", "Cumulative proxy rules Endpoint changes"),
		SyncFailures:               counter("sync_proxy_rules_failures_total", "Cumulative failed applies of proxy rules"),
		NoLocalEndpoints: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: namespace,
			Name: "sync_proxy_rules_no_local_endpoints_total",
			Help: "Number of service ports with a Local traffic policy and no local endpoints"}, []string{"traffic_policy"}),
		Rules:             gauge("programmed_rules", "Rules programmed by the last successful sync"),
		Elements:          gauge("programmed_elements", "Set and map elements programmed by the last successful sync"),
		Changes:           counter("programmed_changes_total", "Objects sent to the kernel (elements, rules, chains, sets)"),
		Warnings:          gaugeVec("warnings", "Input objects skipped by the last sync, by reason", "reason"),
		WarningsTotal:     counterVec("warnings_total", "Input objects newly skipped, by reason", "reason"),
		SourceErrors:      counter("source_errors_total", "Inputs the source could not read (e.g. a manifest file that does not parse)"),
		ConntrackDeleted:  counter("conntrack_entries_deleted_total", "Conntrack entries deleted after endpoint changes"),
		ConntrackErrors:   counter("conntrack_cleanup_errors_total", "Failed conntrack cleanups"),
		HealthCheckErrors: counter("healthcheck_node_port_errors_total", "Health check node ports that could not be opened"),
	}
}

func histogram(name, help string, buckets []float64) prometheus.Histogram {
	return prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: namespace, Name: name, Help: help, Buckets: buckets})
}

func gauge(name, help string) prometheus.Gauge {
	return prometheus.NewGauge(prometheus.GaugeOpts{Namespace: namespace, Name: name, Help: help})
}

func counter(name, help string) prometheus.Counter {
	return prometheus.NewCounter(prometheus.CounterOpts{Namespace: namespace, Name: name, Help: help})
}

func gaugeVec(name, help string, labels ...string) *prometheus.GaugeVec {
	return prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: namespace, Name: name, Help: help}, labels)
}

func counterVec(name, help string, labels ...string) *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: name, Help: help}, labels)
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
}
