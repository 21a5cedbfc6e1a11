package kubeproxy

// Kind says what a Reference entry describes.
type Kind string

const (
	KindFlag     Kind = "flag"     // a kube-proxy command-line flag (Name without dashes)
	KindField    Kind = "field"    // a KubeProxyConfiguration field (Name is its JSON path)
	KindMetric   Kind = "metric"   // a Prometheus metric of kube-proxy
	KindEndpoint Kind = "endpoint" // an HTTP path of kube-proxy's healthz or metrics server
)

// Disposition says what svcnat does with a kube-proxy setting, metric or endpoint.
type Disposition string

const (
	// Honoured: same spelling, same meaning, same default as kube-proxy
	// v1.37 (for a metric or an endpoint: served under the same name).
	Honoured Disposition = "honoured"
	// Ignored: accepted, but it has no meaning for svcnat on Linux. Setting
	// it to a value other than kube-proxy's default adds exactly one line to
	// Settings.Warnings. For a metric or an endpoint: not served.
	Ignored Disposition = "not applicable"
	// Refused: an error that says what to do instead.
	Refused Disposition = "refused"
)

// Entry classifies one kube-proxy flag, configuration field, metric or
// endpoint.
type Entry struct {
	Kind        Kind
	Name        string
	Disposition Disposition
	// Field is, for a flag, the configuration field it sets (empty when it
	// has none).
	Field string
	// Note says what svcnat does; for an Ignored field it is the text of the
	// warning.
	Note string
}

// Reference classifies everything kube-proxy v1.37.2 exposes. Tests keep it
// complete: every JSON field path of v1alpha1.KubeProxyConfiguration, every
// flag and every metric registered in the upstream sources has exactly one
// entry, and docs/KUBE-PROXY.md is generated from it.
var Reference = concat(fieldEntries, flagEntries, metricEntries, endpointEntries)

func concat(parts ...[]Entry) []Entry {
	var all []Entry
	for _, p := range parts {
		all = append(all, p...)
	}
	return all
}

const perMode = "read from the section of the effective mode (iptables, nftables or ipvs), like kube-proxy"

var fieldEntries = []Entry{
	{KindField, "apiVersion", Honoured, "", "must be kubeproxy.config.k8s.io/v1alpha1"},
	{KindField, "kind", Honoured, "", "must be KubeProxyConfiguration"},
	{KindField, "featureGates", Honoured, "", "names checked against kube-proxy v1.37's gates (unknown or locked gate: error, like kube-proxy); the logging gates change logging, KubeProxyIPVS=false refuses mode ipvs; svcnat's rules do not depend on other gates"},
	{KindField, "clientConnection.kubeconfig", Honoured, "", "empty: in-cluster config"},
	{KindField, "clientConnection.acceptContentTypes", Honoured, "", ""},
	{KindField, "clientConnection.contentType", Honoured, "", "default application/vnd.kubernetes.protobuf"},
	{KindField, "clientConnection.qps", Honoured, "", "default 5; a list in pages counts once, as kube-proxy's single LIST does (watches, as in client-go, not at all)"},
	{KindField, "clientConnection.burst", Honoured, "", "default 10"},
	{KindField, "logging.format", Honoured, "", "text or json"},
	{KindField, "logging.flushFrequency", Honoured, "", "default 5s"},
	{KindField, "logging.verbosity", Honoured, "", "-v on the command line overrides it"},
	{KindField, "logging.vmodule", Honoured, "", "--vmodule entries come first"},
	{KindField, "logging.options.text.splitStream", Honoured, "", "needs the LoggingAlphaOptions gate, like kube-proxy"},
	{KindField, "logging.options.text.infoBufferSize", Honoured, "", "needs the LoggingAlphaOptions gate, like kube-proxy"},
	{KindField, "logging.options.json.splitStream", Honoured, "", "needs the LoggingAlphaOptions gate, like kube-proxy"},
	{KindField, "logging.options.json.infoBufferSize", Honoured, "", "needs the LoggingAlphaOptions gate, like kube-proxy"},
	{KindField, "hostnameOverride", Honoured, "", "the node name, trimmed and lower-cased; --hostname-override and --node-name override it; empty: $NODE_NAME, then the hostname"},
	{KindField, "bindAddress", Honoured, "", "the node's primary IP when not 0.0.0.0 or ::; otherwise the Node object's InternalIPs; no socket is bound to it"},
	{KindField, "healthzBindAddress", Honoured, "", "/healthz and /livez; empty: off; default 0.0.0.0:10256 ([::]:10256 when bindAddress is IPv6)"},
	{KindField, "metricsBindAddress", Honoured, "", "/metrics and the other debug endpoints; default 127.0.0.1:10249 ([::1]:10249 when bindAddress is IPv6)"},
	{KindField, "bindAddressHardFail", Honoured, "", "svcnat exits when the healthz or metrics server cannot listen"},
	{KindField, "enableProfiling", Honoured, "", "/debug/pprof on the metrics server"},
	{KindField, "showHiddenMetricsForVersion", Ignored, "", "svcnat hides no metric, so there is nothing to show (the version is still checked like kube-proxy)"},
	{KindField, "mode", Honoured, "", "iptables (the default, like kube-proxy v1.37 on Linux) or nftables; ipvs is served by the nftables backend with a warning; kernelspace is refused (Windows only); --backend overrides it"},
	{KindField, "iptables.masqueradeBit", Honoured, "", "the fwmark bit that asks for SNAT, in iptables mode: 14 (the default, 0x4000) only; svcnat's drop mark uses bit 15, so another value is refused with a message"},
	{KindField, "iptables.masqueradeAll", Honoured, "", "in iptables and ipvs mode"},
	{KindField, "iptables.localhostNodePorts", Ignored, "", "svcnat never serves NodePorts on loopback addresses (kube-proxy's iptables mode does by default); a warning only when set to true explicitly"},
	{KindField, "iptables.syncPeriod", Honoured, "", perMode},
	{KindField, "iptables.minSyncPeriod", Honoured, "", perMode},
	{KindField, "ipvs.syncPeriod", Honoured, "", perMode},
	{KindField, "ipvs.minSyncPeriod", Honoured, "", perMode + " (default 0 in ipvs mode)"},
	{KindField, "ipvs.scheduler", Ignored, "", "svcnat has no IPVS; endpoints are picked at random, with equal weight: ignored"},
	{KindField, "ipvs.excludeCIDRs", Ignored, "", "svcnat has no IPVS and never touches other programs' IPVS services: ignored"},
	{KindField, "ipvs.strictARP", Ignored, "", "svcnat creates no kube-ipvs0 dummy interface, so there is no ARP to restrict: ignored"},
	{KindField, "ipvs.tcpTimeout", Ignored, "", "svcnat has no IPVS connection table; conntrack timeouts apply: ignored"},
	{KindField, "ipvs.tcpFinTimeout", Ignored, "", "svcnat has no IPVS connection table; conntrack timeouts apply: ignored"},
	{KindField, "ipvs.udpTimeout", Ignored, "", "svcnat has no IPVS connection table; conntrack timeouts apply: ignored"},
	{KindField, "nftables.masqueradeBit", Honoured, "", "in nftables mode svcnat marks with a private bit (0x40000) cleared before packets leave its table; a non-default value is accepted with a warning"},
	{KindField, "nftables.masqueradeAll", Honoured, "", "in nftables mode"},
	{KindField, "nftables.syncPeriod", Honoured, "", perMode},
	{KindField, "nftables.minSyncPeriod", Honoured, "", perMode},
	{KindField, "winkernel.networkName", Ignored, "", "Windows only: ignored on Linux"},
	{KindField, "winkernel.sourceVip", Ignored, "", "Windows only: ignored on Linux"},
	{KindField, "winkernel.enableDSR", Ignored, "", "Windows only: ignored on Linux"},
	{KindField, "winkernel.rootHnsEndpointName", Ignored, "", "Windows only: ignored on Linux"},
	{KindField, "winkernel.forwardHealthCheckVip", Ignored, "", "Windows only: ignored on Linux"},
	{KindField, "detectLocalMode", Honoured, "", "ClusterCIDR (default), NodeCIDR, BridgeInterface or InterfaceNamePrefix"},
	{KindField, "detectLocal.bridgeInterface", Honoured, "", "with detectLocalMode BridgeInterface"},
	{KindField, "detectLocal.interfaceNamePrefix", Honoured, "", "with detectLocalMode InterfaceNamePrefix"},
	{KindField, "clusterCIDR", Honoured, "", "comma-separated, one CIDR per IP family"},
	{KindField, "nodePortAddresses", Honoured, "", "CIDRs and the keywords primary, all, localhost; default primary in nftables mode, all in iptables and ipvs mode; svcnat serves no loopback NodePorts (localhost gives a warning)"},
	{KindField, "oomScoreAdj", Honoured, "", "written to /proc/self/oom_score_adj; default -999"},
	{KindField, "conntrack.maxPerCore", Honoured, "", "nf_conntrack_max = max(maxPerCore x CPUs, min); 0 leaves it; default 32768"},
	{KindField, "conntrack.min", Honoured, "", "default 131072"},
	{KindField, "conntrack.tcpEstablishedTimeout", Honoured, "", "nf_conntrack_tcp_timeout_established; 0 leaves it; default 24h"},
	{KindField, "conntrack.tcpCloseWaitTimeout", Honoured, "", "nf_conntrack_tcp_timeout_close_wait; 0 leaves it; default 1h"},
	{KindField, "conntrack.tcpBeLiberal", Honoured, "", "nf_conntrack_tcp_be_liberal = 1"},
	{KindField, "conntrack.udpTimeout", Honoured, "", "nf_conntrack_udp_timeout; 0 leaves it"},
	{KindField, "conntrack.udpStreamTimeout", Honoured, "", "nf_conntrack_udp_timeout_stream; 0 leaves it"},
	{KindField, "configSyncPeriod", Ignored, "", "svcnat's informers do not resync: a resync only replays the local cache, and the periodic reconcile (syncPeriod) already repairs the kernel"},
	{KindField, "portRange", Ignored, "", "kube-proxy v1.37 ignores it too (it belonged to the removed userspace proxy): ignored"},
	{KindField, "windowsRunAsService", Ignored, "", "Windows only: ignored on Linux"},
}
