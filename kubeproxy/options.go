package kubeproxy

import (
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"
	cliflag "k8s.io/component-base/cli/flag"
	logsapi "k8s.io/component-base/logs/api/v1"
	"k8s.io/kube-proxy/config/v1alpha1"
)

// Default ports of kube-proxy's servers.
const (
	healthzPort = 10256
	metricsPort = 10249
)

// Options holds what the command line said. NewOptions, then AddFlags and
// AddSvcnatFlags on one flag set, parse it, then Complete.
type Options struct {
	// config is the flag-bound configuration, defaulted like kube-proxy's
	// before the flags are parsed. With --config the file replaces it.
	config v1alpha1.KubeProxyConfiguration

	configFile, writeConfigTo string
	cleanup, initOnly         bool
	version                   string

	// Flags that have no field of their own in v1alpha1, as in kube-proxy's
	// Options (they are folded into the configuration by Complete).
	master                   string
	hostnameOverride         string
	healthzPort, metricsPort int32
	masqueradeAll            bool
	iptablesSyncPeriod       time.Duration
	iptablesMinSyncPeriod    time.Duration
	ipvsSyncPeriod           time.Duration
	ipvsMinSyncPeriod        time.Duration
	clusterCIDRs             string

	svcnat svcnatFlags

	// Host facts, replaceable in tests.
	getenv   func(string) string
	hostname func() (string, error)
}

// svcnatFlags are `svcnat run`'s own flags; they apply on top of the
// configuration file and of kube-proxy's flags.
type svcnatFlags struct {
	backend          string
	syncPeriod       time.Duration
	minSyncPeriod    time.Duration
	nodeName         string
	nodeIPs          []netip.Addr
	serviceCIDRs     []netip.Prefix
	externalIPAllow  []netip.Prefix
	manifests, netns string
	iptablesMode     string
	healthTimeout    time.Duration
}

// NewOptions returns the options with kube-proxy's defaults.
func NewOptions() *Options {
	o := &Options{
		healthzPort: healthzPort,
		metricsPort: metricsPort,
		getenv:      os.Getenv,
		hostname:    os.Hostname,
	}
	o.config.Kind, o.config.APIVersion = configKind, configAPIVersion
	SetDefaults(&o.config)
	o.svcnat.iptablesMode = "auto"
	return o
}

// AddFlags registers every flag of kube-proxy v1.37.2 on Linux, with its
// spelling, type and default. It also sets kube-proxy's flag name
// normalization (--proxy_mode is --proxy-mode).
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	fs.SetNormalizeFunc(cliflag.WordSepNormalizeFunc)
	c := &o.config
	fs.StringVar(&o.configFile, "config", "", "The path to the configuration file.")
	fs.StringVar(&o.writeConfigTo, "write-config-to", "", "If set, write the effective configuration to this file and exit.")
	fs.BoolVar(&o.cleanup, "cleanup", false, "If true, remove svcnat's rules and exit.")
	fs.BoolVar(&o.initOnly, "init-only", false, "If true, do the setup that needs full root privileges, then exit.")
	fs.Var(cliflag.NewMapStringBool(&c.FeatureGates), "feature-gates", "A set of key=value pairs that describe feature gates (kube-proxy v1.37's gates). Ignored if --config is given.")

	fs.StringVar(&c.ClientConnection.Kubeconfig, "kubeconfig", c.ClientConnection.Kubeconfig, "Path to a kubeconfig file (--master overrides its server).")
	fs.StringVar(&o.master, "master", "", "The address of the Kubernetes API server (overrides any value in kubeconfig).")
	fs.StringVar(&c.ClientConnection.ContentType, "kube-api-content-type", c.ClientConnection.ContentType, "Content type of requests sent to the API server.")
	fs.Int32Var(&c.ClientConnection.Burst, "kube-api-burst", c.ClientConnection.Burst, "Burst to use while talking with the API server.")
	fs.Float32Var(&c.ClientConnection.QPS, "kube-api-qps", c.ClientConnection.QPS, "QPS to use while talking with the API server.")

	fs.StringVar(&o.hostnameOverride, "hostname-override", "", "If non-empty, the name of this Node (default: the hostname).")
	fs.Var(ipValue{&c.BindAddress}, "bind-address", "This node's primary IP (no socket is bound to it); 0.0.0.0 or :: means the Node object's addresses. Ignored if --config is given.")
	fs.Var(ipPortValue{&c.HealthzBindAddress}, "healthz-bind-address", "The IP address and port of the health check server. Ignored if --config is given.")
	fs.Var(ipPortValue{&c.MetricsBindAddress}, "metrics-bind-address", "The IP address and port of the metrics server. Ignored if --config is given.")
	fs.BoolVar(&c.BindAddressHardFail, "bind-address-hard-fail", false, "If true, failing to listen on the healthz or metrics address is fatal.")
	fs.BoolVar(&c.EnableProfiling, "profiling", false, "If true, serve /debug/pprof on the metrics server. Ignored if --config is given.")
	fs.StringVar(&c.ShowHiddenMetricsForVersion, "show-hidden-metrics-for-version", "", "The previous version for which to show hidden metrics (svcnat hides none). Ignored if --config is given.")
	fs.Var(stringType[v1alpha1.ProxyMode]{&c.Mode, "ProxyMode"}, "proxy-mode", "Which proxy mode to use: 'iptables' (default), 'nftables', or 'ipvs' (served by nftables). Ignored if --config is given.")

	fs.Int32Var(c.IPTables.MasqueradeBit, "iptables-masquerade-bit", *c.IPTables.MasqueradeBit, "In iptables or ipvs mode, the bit of the fwmark space that marks packets needing SNAT. Must be within [0, 31].")
	fs.BoolVar(&o.masqueradeAll, "masquerade-all", false, "SNAT all traffic sent via Service cluster IPs.")
	fs.BoolVar(c.IPTables.LocalhostNodePorts, "iptables-localhost-nodeports", *c.IPTables.LocalhostNodePorts, "kube-proxy's loopback NodePorts; svcnat never serves them.")
	fs.DurationVar(&o.iptablesSyncPeriod, "iptables-sync-period", c.IPTables.SyncPeriod.Duration, "How often a full resync is done (e.g. '5s', '1m'). Must be greater than 0.")
	fs.DurationVar(&o.iptablesMinSyncPeriod, "iptables-min-sync-period", c.IPTables.MinSyncPeriod.Duration, "The minimum period between resyncs; 0 resyncs on every change.")
	fs.DurationVar(&o.ipvsSyncPeriod, "ipvs-sync-period", c.IPTables.SyncPeriod.Duration, "In ipvs mode, how often a full resync is done. Must be greater than 0.")
	fs.DurationVar(&o.ipvsMinSyncPeriod, "ipvs-min-sync-period", c.IPTables.MinSyncPeriod.Duration, "In ipvs mode, the minimum period between resyncs.")
	fs.StringVar(&c.IPVS.Scheduler, "ipvs-scheduler", "", "The IPVS scheduler (svcnat has no IPVS: ignored).")
	fs.StringSliceVar(&c.IPVS.ExcludeCIDRs, "ipvs-exclude-cidrs", nil, "CIDRs the IPVS proxier must not touch (svcnat has no IPVS: ignored).")
	fs.BoolVar(&c.IPVS.StrictARP, "ipvs-strict-arp", false, "Strict ARP for IPVS (svcnat has no IPVS: ignored).")
	fs.DurationVar(&c.IPVS.TCPTimeout.Duration, "ipvs-tcp-timeout", 0, "IPVS TCP idle timeout (svcnat has no IPVS: ignored).")
	fs.DurationVar(&c.IPVS.TCPFinTimeout.Duration, "ipvs-tcpfin-timeout", 0, "IPVS TCP FIN timeout (svcnat has no IPVS: ignored).")
	fs.DurationVar(&c.IPVS.UDPTimeout.Duration, "ipvs-udp-timeout", 0, "IPVS UDP timeout (svcnat has no IPVS: ignored).")

	fs.Var(stringType[v1alpha1.LocalMode]{&c.DetectLocalMode, "LocalMode"}, "detect-local-mode", "How to tell local traffic: ClusterCIDR, NodeCIDR, BridgeInterface or InterfaceNamePrefix. Ignored if --config is given.")
	fs.StringVar(&c.DetectLocal.BridgeInterface, "pod-bridge-interface", "", "With --detect-local-mode=BridgeInterface, traffic from this bridge is local.")
	fs.StringVar(&c.DetectLocal.InterfaceNamePrefix, "pod-interface-name-prefix", "", "With --detect-local-mode=InterfaceNamePrefix, traffic from interfaces with this prefix is local.")
	fs.StringVar(&o.clusterCIDRs, "cluster-cidr", "", "The pods' CIDR range; a comma-separated dual-stack pair is allowed. Ignored if --config is given.")
	fs.StringSliceVar(&c.NodePortAddresses, "nodeport-addresses", nil, "CIDRs and keywords ('primary', 'all', 'localhost') of the node IPs that answer NodePorts. Default: 'primary' in nftables mode, 'all' otherwise. Ignored if --config is given.")

	fs.Int32Var(c.OOMScoreAdj, "oom-score-adj", *c.OOMScoreAdj, "The oom_score_adj of the process, within [-1000, 1000]. Ignored if --config is given.")
	fs.Int32Var(c.Conntrack.MaxPerCore, "conntrack-max-per-core", *c.Conntrack.MaxPerCore, "Maximum conntrack entries per CPU core (0 leaves the limit and ignores conntrack-min).")
	fs.Int32Var(c.Conntrack.Min, "conntrack-min", *c.Conntrack.Min, "Minimum conntrack entries, whatever conntrack-max-per-core says.")
	fs.DurationVar(&c.Conntrack.TCPEstablishedTimeout.Duration, "conntrack-tcp-timeout-established", c.Conntrack.TCPEstablishedTimeout.Duration, "Idle timeout of established TCP connections (0 leaves it).")
	fs.DurationVar(&c.Conntrack.TCPCloseWaitTimeout.Duration, "conntrack-tcp-timeout-close-wait", c.Conntrack.TCPCloseWaitTimeout.Duration, "Timeout of TCP connections in CLOSE_WAIT.")
	fs.BoolVar(&c.Conntrack.TCPBeLiberal, "conntrack-tcp-be-liberal", false, "Set nf_conntrack_tcp_be_liberal to 1.")
	fs.DurationVar(&c.Conntrack.UDPTimeout.Duration, "conntrack-udp-timeout", 0, "Idle timeout of UNREPLIED UDP flows (0 leaves it).")
	fs.DurationVar(&c.Conntrack.UDPStreamTimeout.Duration, "conntrack-udp-timeout-stream", 0, "Idle timeout of ASSURED UDP flows (0 leaves it).")
	fs.DurationVar(&c.ConfigSyncPeriod.Duration, "config-sync-period", c.ConfigSyncPeriod.Duration, "How often the API state is re-listed. Must be greater than 0.")

	fs.Int32Var(&o.healthzPort, "healthz-port", o.healthzPort, "The port of the health check server; 0 turns it off.")
	_ = fs.MarkDeprecated("healthz-port", "use --healthz-bind-address instead.")
	fs.Int32Var(&o.metricsPort, "metrics-port", o.metricsPort, "The port of the metrics server.")
	_ = fs.MarkDeprecated("metrics-port", "use --metrics-bind-address instead.")

	logsapi.AddFlags(&c.Logging, fs)
	if fs.Lookup("version") == nil {
		fs.StringVar(&o.version, "version", "false", "--version, --version=raw prints version information and exits")
		fs.Lookup("version").NoOptDefVal = "true"
	}
}

// AddSvcnatFlags registers svcnat's own flags of `svcnat run`. They apply
// whether or not --config is given, and win over both.
func (o *Options) AddSvcnatFlags(fs *pflag.FlagSet) {
	s := &o.svcnat
	fs.Var(enumValue{&s.backend, []string{"nftables", "iptables"}}, "backend", "nftables or iptables: the proxy mode, winning over --proxy-mode and the file's mode")
	fs.DurationVar(&s.syncPeriod, "sync-period", 0, "maximum time between two full reconciles (default: the mode's syncPeriod, 30s)")
	fs.DurationVar(&s.minSyncPeriod, "min-sync-period", 0, "minimum time between two syncs; changes in between are coalesced (default: the mode's minSyncPeriod, 1s)")
	fs.StringVar(&s.nodeName, "node-name", "", "this node's name, like --hostname-override (default: $NODE_NAME, then the hostname)")
	fs.Var(addrList{&s.nodeIPs}, "node-ip", "this node's IP address, like --bind-address but repeatable for dual-stack")
	fs.Var(prefixList{&s.serviceCIDRs}, "service-cidr", "a ClusterIP range: traffic to unallocated addresses in it is dropped; repeatable")
	fs.StringVar(&s.manifests, "manifests", "", "run without an API server: the YAML/JSON files in this folder are the cluster state")
	fs.StringVar(&s.netns, "netns", "", "program the network namespace with this name (in /run/netns) or path instead of the current one")
	fs.Var(enumValue{&s.iptablesMode, []string{"auto", "nft", "legacy"}}, "iptables-mode", "in iptables mode, which iptables: auto (like kube-proxy), nft or legacy")
	fs.Var(prefixList{&s.externalIPAllow}, "external-ip-allow", "serve only externalIPs inside this CIDR (CVE-2020-8554 mitigation); repeatable; default: all, like kube-proxy")
	fs.DurationVar(&s.healthTimeout, "health-timeout", 0, "/healthz fails when a change has waited this long to be applied (default: 2 x sync period, like kube-proxy)")
}

// lowerTrim is how kube-proxy normalizes a node name.
func lowerTrim(s string) string { return strings.ToLower(strings.TrimSpace(s)) }
