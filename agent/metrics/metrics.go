package metrics

import (
	"net/http"
	"runtime"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"k8s.io/component-base/metrics"
	"k8s.io/component-base/metrics/legacyregistry"

	// Registers client-go's rest_client_* metrics in legacyregistry, as
	// kube-proxy's main package does.
	_ "k8s.io/component-base/metrics/prometheus/restclient"

	"github.com/svcnat/svcnat/synth"
)

const namespace = "svcnat"

// Options say which metrics to register and what svcnat_build_info reports.
// Every field is optional.
type Options struct {
	// Mode is the backend ("nftables", "iptables"): it selects kube-proxy's
	// mode-specific metrics. Other values register only the shared ones.
	Mode string
	// Version and Revision label svcnat_build_info.
	Version, Revision string
}

// Metrics are one agent's metrics: kube-proxy's (KubeProxy, in a private
// registry) and svcnat's own (in another). Handler serves both, plus the
// process-wide legacyregistry (Go runtime, process, client-go).
type Metrics struct {
	KubeProxy

	// Rules and Elements are what the last successful sync left programmed;
	// Changes counts the objects sent to the kernel.
	Rules    prometheus.Gauge
	Elements prometheus.Gauge
	Changes  prometheus.Counter
	// Warnings counts the input objects the last sync skipped, by reason;
	// WarningsTotal counts each newly skipped object once.
	Warnings      *prometheus.GaugeVec
	WarningsTotal *prometheus.CounterVec
	// SourceErrors counts inputs the source could not read.
	SourceErrors prometheus.Counter
	// ConntrackErrors counts failed conntrack cleanups.
	ConntrackErrors prometheus.Counter
	// HealthCheckErrors counts health check node ports that could not be
	// opened.
	HealthCheckErrors prometheus.Counter
	// BuildInfo is 1, labelled with the version.
	BuildInfo *prometheus.GaugeVec

	mode  string
	kube  metrics.KubeRegistry
	own   *prometheus.Registry
	gathr prometheus.Gatherers
}

// New returns the metrics of one agent in new private registries, so
// several agents (and tests) run in one process.
func New(opt Options) *Metrics {
	m := &Metrics{
		KubeProxy: newKubeProxy(),
		Rules:     gauge("programmed_rules", "Rules programmed by the last successful sync"),
		Elements:  gauge("programmed_elements", "Set and map elements programmed by the last successful sync"),
		Changes:   counter("programmed_changes_total", "Objects sent to the kernel (elements, rules, chains, sets)"),
		Warnings: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: namespace, Name: "warnings",
			Help: "Input objects skipped by the last sync, by reason"}, []string{"reason"}),
		WarningsTotal: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "warnings_total",
			Help: "Input objects newly skipped, by reason"}, []string{"reason"}),
		SourceErrors:      counter("source_errors_total", "Inputs the source could not read (e.g. a manifest file that does not parse)"),
		ConntrackErrors:   counter("conntrack_cleanup_errors_total", "Failed conntrack cleanups"),
		HealthCheckErrors: counter("healthcheck_node_port_errors_total", "Health check node ports that could not be opened"),
		BuildInfo: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: namespace, Name: "build_info",
			Help: "A metric with a constant '1' value labeled by the version, revision and Go version svcnat was built from"},
			[]string{"version", "revision", "goversion"}),
		mode: opt.Mode,
		kube: metrics.NewKubeRegistry(),
		own:  prometheus.NewRegistry(),
	}
	m.kube.MustRegister(m.registerables(opt.Mode)...)
	m.own.MustRegister(m.Rules, m.Elements, m.Changes, m.Warnings, m.WarningsTotal,
		m.SourceErrors, m.ConntrackErrors, m.HealthCheckErrors, m.BuildInfo)
	m.BuildInfo.WithLabelValues(opt.Version, opt.Revision, runtime.Version()).Set(1)
	m.gathr = prometheus.Gatherers{m.kube, m.own, legacyregistry.DefaultGatherer}
	return m
}

// Mode is the mode the metrics were registered for.
func (m *Metrics) Mode() string { return m.mode }

// Gatherer gathers everything Handler serves.
func (m *Metrics) Gatherer() prometheus.Gatherer { return m.gathr }

// Handler serves the metrics in the Prometheus exposition formats. A
// collector that fails does not hide the others.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.gathr, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// IPFamily is the value of the ip_family label: core/v1's IPFamily, as
// kube-proxy writes it.
func IPFamily(f synth.Family) string {
	if f == synth.IPv6 {
		return "IPv6"
	}
	return "IPv4"
}

func gauge(name, help string) prometheus.Gauge {
	return prometheus.NewGauge(prometheus.GaugeOpts{Namespace: namespace, Name: name, Help: help})
}

func counter(name, help string) prometheus.Counter {
	return prometheus.NewCounter(prometheus.CounterOpts{Namespace: namespace, Name: name, Help: help})
}
