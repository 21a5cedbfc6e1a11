package metrics

import (
	"k8s.io/component-base/metrics"
)

// The subsystem of every kube-proxy metric: names start with "kubeproxy_".
const kubeProxySubsystem = "kubeproxy"

// Backend modes, as kube-proxy's --proxy-mode spells them. Which
// kube-proxy metrics are registered depends on the mode, as upstream.
const (
	ModeNFTables = "nftables"
	ModeIPTables = "iptables"
)

// The label values of the traffic_policy label.
const (
	PolicyInternal = "internal"
	PolicyExternal = "external"
)

// KubeProxy holds the metrics kube-proxy v1.37.2 defines in
// pkg/proxy/metrics that svcnat's backends can honour, with upstream's
// names, help, types, label names, buckets and stability levels. Those
// labelled ip_family take "IPv4" or "IPv6" (a core/v1 IPFamily).
type KubeProxy struct {
	SyncProxyRulesLatency             *metrics.HistogramVec
	SyncFullProxyRulesLatency         *metrics.HistogramVec
	SyncPartialProxyRulesLatency      *metrics.HistogramVec
	SyncProxyRulesLastTimestamp       *metrics.GaugeVec
	SyncProxyRulesLastQueuedTimestamp *metrics.GaugeVec
	NetworkProgrammingLatency         *metrics.HistogramVec
	EndpointChangesPending            *metrics.Gauge
	EndpointChangesTotal              *metrics.Counter
	ServiceChangesPending             *metrics.Gauge
	ServiceChangesTotal               *metrics.Counter
	NoLocalEndpointsTotal             *metrics.GaugeVec
	ProxyHealthzTotal                 *metrics.CounterVec
	ProxyLivezTotal                   *metrics.CounterVec
	ConntrackReconcileLatency         *metrics.HistogramVec
	ConntrackDeletedEntriesTotal      *metrics.CounterVec

	// iptables mode only.
	IPTablesRestoreFailuresTotal        *metrics.CounterVec
	IPTablesPartialRestoreFailuresTotal *metrics.CounterVec
	IPTablesRulesTotal                  *metrics.GaugeVec
	IPTablesRulesLastSync               *metrics.GaugeVec

	// nftables mode only.
	NFTablesSyncFailuresTotal *metrics.CounterVec
}

var syncBuckets = metrics.ExponentialBuckets(0.001, 2, 15)

func newKubeProxy() KubeProxy {
	return KubeProxy{
		SyncProxyRulesLatency:        kpHistogram("sync_proxy_rules_duration_seconds", "SyncProxyRules latency in seconds", syncBuckets, "ip_family"),
		SyncFullProxyRulesLatency:    kpHistogram("sync_full_proxy_rules_duration_seconds", "SyncProxyRules latency in seconds for full resyncs", syncBuckets, "ip_family"),
		SyncPartialProxyRulesLatency: kpHistogram("sync_partial_proxy_rules_duration_seconds", "SyncProxyRules latency in seconds for partial resyncs", syncBuckets, "ip_family"),
		SyncProxyRulesLastTimestamp:  kpGaugeVec("sync_proxy_rules_last_timestamp_seconds", "The last time proxy rules were successfully synced", "ip_family"),
		SyncProxyRulesLastQueuedTimestamp: kpGaugeVec("sync_proxy_rules_last_queued_timestamp_seconds",
			"The last time a sync of proxy rules was queued", "ip_family"),
		NetworkProgrammingLatency: kpHistogram("network_programming_duration_seconds", "In Cluster Network Programming Latency in seconds",
			metrics.MergeBuckets(
				metrics.LinearBuckets(0.25, 0.25, 2), // 0.25s, 0.50s
				metrics.LinearBuckets(1, 1, 59),      // 1s .. 59s
				metrics.LinearBuckets(60, 5, 12),     // 60s .. 115s
				metrics.LinearBuckets(120, 30, 7),    // 2min .. 5min
			), "ip_family"),
		EndpointChangesPending: metrics.NewGauge(&metrics.GaugeOpts{Subsystem: kubeProxySubsystem,
			Name: "sync_proxy_rules_endpoint_changes_pending", Help: "Pending proxy rules Endpoint changes", StabilityLevel: metrics.ALPHA}),
		EndpointChangesTotal: metrics.NewCounter(&metrics.CounterOpts{Subsystem: kubeProxySubsystem,
			Name: "sync_proxy_rules_endpoint_changes_total", Help: "Cumulative proxy rules Endpoint changes", StabilityLevel: metrics.ALPHA}),
		ServiceChangesPending: metrics.NewGauge(&metrics.GaugeOpts{Subsystem: kubeProxySubsystem,
			Name: "sync_proxy_rules_service_changes_pending", Help: "Pending proxy rules Service changes", StabilityLevel: metrics.ALPHA}),
		ServiceChangesTotal: metrics.NewCounter(&metrics.CounterOpts{Subsystem: kubeProxySubsystem,
			Name: "sync_proxy_rules_service_changes_total", Help: "Cumulative proxy rules Service changes", StabilityLevel: metrics.ALPHA}),
		NoLocalEndpointsTotal: kpGaugeVec("sync_proxy_rules_no_local_endpoints_total",
			"Number of services with a Local traffic policy and no endpoints", "traffic_policy", "ip_family"),
		ProxyHealthzTotal:            kpCounterVec("proxy_healthz_total", "Cumulative proxy healthz HTTP status", "code"),
		ProxyLivezTotal:              kpCounterVec("proxy_livez_total", "Cumulative proxy livez HTTP status", "code"),
		ConntrackReconcileLatency:    kpHistogram("conntrack_reconciler_sync_duration_seconds", "ReconcileConntrackFlowsLatency latency in seconds", syncBuckets, "ip_family"),
		ConntrackDeletedEntriesTotal: kpCounterVec("conntrack_reconciler_deleted_entries_total", "Cumulative conntrack flows deleted by conntrack reconciler", "ip_family"),

		IPTablesRestoreFailuresTotal:        kpCounterVec("sync_proxy_rules_iptables_restore_failures_total", "Cumulative proxy iptables restore failures", "ip_family"),
		IPTablesPartialRestoreFailuresTotal: kpCounterVec("sync_proxy_rules_iptables_partial_restore_failures_total", "Cumulative proxy iptables partial restore failures", "ip_family"),
		IPTablesRulesTotal:                  kpGaugeVec("sync_proxy_rules_iptables_total", "Total number of iptables rules owned by kube-proxy", "table", "ip_family"),
		IPTablesRulesLastSync:               kpGaugeVec("sync_proxy_rules_iptables_last", "Number of iptables rules written by kube-proxy in last sync", "table", "ip_family"),

		NFTablesSyncFailuresTotal: kpCounterVec("sync_proxy_rules_nftables_sync_failures_total", "Cumulative proxy nftables sync failures", "ip_family"),
	}
}

// registerables returns what kube-proxy's RegisterMetrics registers in
// mode, less what svcnat cannot measure (see docs/METRICS.md). Another
// mode gets the metrics every mode shares.
func (k *KubeProxy) registerables(mode string) []metrics.Registerable {
	rs := []metrics.Registerable{
		k.SyncProxyRulesLatency, k.SyncProxyRulesLastQueuedTimestamp, k.SyncProxyRulesLastTimestamp,
		k.EndpointChangesPending, k.EndpointChangesTotal, k.ServiceChangesPending, k.ServiceChangesTotal,
		k.ProxyHealthzTotal, k.ProxyLivezTotal, k.NetworkProgrammingLatency, k.NoLocalEndpointsTotal,
	}
	switch mode {
	case ModeIPTables:
		rs = append(rs, k.SyncFullProxyRulesLatency, k.SyncPartialProxyRulesLatency,
			k.IPTablesRestoreFailuresTotal, k.IPTablesPartialRestoreFailuresTotal,
			k.IPTablesRulesTotal, k.IPTablesRulesLastSync,
			k.ConntrackReconcileLatency, k.ConntrackDeletedEntriesTotal)
	case ModeNFTables:
		rs = append(rs, k.SyncFullProxyRulesLatency, k.SyncPartialProxyRulesLatency,
			k.NFTablesSyncFailuresTotal,
			k.ConntrackReconcileLatency, k.ConntrackDeletedEntriesTotal)
	}
	return rs
}

func kpHistogram(name, help string, buckets []float64, labels ...string) *metrics.HistogramVec {
	return metrics.NewHistogramVec(&metrics.HistogramOpts{Subsystem: kubeProxySubsystem, Name: name, Help: help,
		Buckets: buckets, StabilityLevel: metrics.ALPHA}, labels)
}

func kpGaugeVec(name, help string, labels ...string) *metrics.GaugeVec {
	return metrics.NewGaugeVec(&metrics.GaugeOpts{Subsystem: kubeProxySubsystem, Name: name, Help: help,
		StabilityLevel: metrics.ALPHA}, labels)
}

func kpCounterVec(name, help string, labels ...string) *metrics.CounterVec {
	return metrics.NewCounterVec(&metrics.CounterOpts{Subsystem: kubeProxySubsystem, Name: name, Help: help,
		StabilityLevel: metrics.ALPHA}, labels)
}

// SyncFailed counts a failed apply for the IP family fam the way the
// mode's proxier does: iptables counts a restore failure, and also a
// partial restore failure when the sync was partial; nftables counts a
// sync failure.
func (m *Metrics) SyncFailed(fam string, partial bool) {
	switch m.mode {
	case ModeIPTables:
		m.IPTablesRestoreFailuresTotal.WithLabelValues(fam).Inc()
		if partial {
			m.IPTablesPartialRestoreFailuresTotal.WithLabelValues(fam).Inc()
		}
	case ModeNFTables:
		m.NFTablesSyncFailuresTotal.WithLabelValues(fam).Inc()
	}
}

// InitFamily creates the ip_family series of the counters that upstream
// creates on their first increment, so that they read 0 rather than being
// absent (rate() and alerts then work from the start).
func (k *KubeProxy) InitFamily(fam string) {
	k.IPTablesRestoreFailuresTotal.WithLabelValues(fam)
	k.IPTablesPartialRestoreFailuresTotal.WithLabelValues(fam)
	k.NFTablesSyncFailuresTotal.WithLabelValues(fam)
	k.ConntrackDeletedEntriesTotal.WithLabelValues(fam)
}
