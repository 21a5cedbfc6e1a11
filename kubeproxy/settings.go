package kubeproxy

import (
	"net/netip"
	"time"

	"k8s.io/component-base/featuregate"
	logsapi "k8s.io/component-base/logs/api/v1"
	"k8s.io/kube-proxy/config/v1alpha1"
)

// Settings is everything `svcnat run` needs from kube-proxy's configuration
// file, kube-proxy's flags and svcnat's own flags, resolved with
// kube-proxy v1.37's defaulting and precedence. Plain data.
type Settings struct {
	// Mode is the backend: "nftables" or "iptables" (mode ipvs gives
	// "nftables", with a warning).
	Mode string
	// IPTablesMode is "auto", "nft" or "legacy" (--iptables-mode).
	IPTablesMode string

	// NodeName is hostnameOverride (or --hostname-override, --node-name),
	// else $NODE_NAME, else the hostname; trimmed and lower-cased.
	NodeName string
	// NodeIPs are bindAddress, when it is not 0.0.0.0 or ::, then every
	// --node-ip; no duplicates.
	NodeIPs []netip.Addr
	// PrimaryFromNode is true when NodeIPs is empty: like kube-proxy, take
	// the Node object's addresses (its first InternalIP per family).
	PrimaryFromNode bool

	// ClusterCIDRs are clusterCIDR's CIDRs (one per IP family).
	ClusterCIDRs []netip.Prefix
	// DetectLocalMode is "ClusterCIDR" (the default), "NodeCIDR",
	// "BridgeInterface" or "InterfaceNamePrefix".
	DetectLocalMode string
	// BridgeInterface is detectLocal.bridgeInterface (BridgeInterface mode).
	BridgeInterface string
	// InterfaceNamePrefix is detectLocal.interfaceNamePrefix
	// (InterfaceNamePrefix mode).
	InterfaceNamePrefix string

	// NodePortAddresses are nodePortAddresses' CIDRs, with 'all' expanded to
	// 0.0.0.0/0 and ::/0 and 'localhost' to 127.0.0.0/8 and ::1/128.
	// NodePortPrimary adds the node's primary IPs (the 'primary' keyword,
	// the default in nftables mode). Empty and !NodePortPrimary: every node
	// IP answers NodePorts (kube-proxy's iptables default).
	NodePortAddresses []netip.Prefix
	NodePortPrimary   bool

	// ServiceCIDRs are --service-cidr's ranges.
	ServiceCIDRs []netip.Prefix
	// ExternalIPAllow, when not empty, restricts externalIPs to these
	// ranges (--external-ip-allow, CVE-2020-8554); empty serves all, like
	// kube-proxy.
	ExternalIPAllow []netip.Prefix

	// SyncPeriod and MinSyncPeriod come from the mode's section (iptables,
	// nftables or ipvs), overridden by --sync-period and --min-sync-period.
	SyncPeriod    time.Duration
	MinSyncPeriod time.Duration
	// MasqueradeAll and MasqueradeBit come from the mode's section
	// (iptables.* in iptables and ipvs mode, nftables.* in nftables mode).
	MasqueradeAll bool
	MasqueradeBit int32

	Conntrack Conntrack

	// HealthzBindAddress serves /healthz and /livez ("" is off);
	// MetricsBindAddress serves /metrics, /proxyMode, /configz, /flagz and,
	// with EnableProfiling, /debug/pprof. Both are "IP:port".
	HealthzBindAddress  string
	MetricsBindAddress  string
	BindAddressHardFail bool
	EnableProfiling     bool
	// OOMScoreAdj is written to /proc/self/oom_score_adj (SetOOMScoreAdj).
	OOMScoreAdj *int32

	// FeatureGates are the gates set explicitly, checked against
	// kube-proxy v1.37's gates; FeatureEnabled answers for any gate.
	FeatureGates map[string]bool
	// Logging is the effective logging configuration (ApplyLogging).
	Logging logsapi.LoggingConfiguration

	Client Client
	// ConfigSyncPeriod is the informers' resync period.
	ConfigSyncPeriod time.Duration

	// ConfigFile is --config ("" without); WatchConfigFile watches it.
	ConfigFile string
	// Cleanup (--cleanup): remove the rules and exit. InitOnly
	// (--init-only): do the privileged setup and exit. WriteConfigTo
	// (--write-config-to): WriteConfig there and exit. Version
	// (--version): "" when not asked, else "true" or "raw".
	Cleanup       bool
	InitOnly      bool
	WriteConfigTo string
	Version       string

	// Manifests is --manifests: a folder of YAML/JSON files instead of the
	// API server. NetNS is --netns: a name in /run/netns or a path.
	Manifests string
	NetNS     string
	// HealthTimeout is how long a queued change may wait to be applied
	// before /healthz and /livez fail: --health-timeout, default
	// 2 x SyncPeriod like kube-proxy.
	HealthTimeout time.Duration

	// Config is the effective configuration, defaulted, for /configz and
	// --write-config-to.
	Config *v1alpha1.KubeProxyConfiguration
	// Flags are the flags given on the command line and their values, for
	// /flagz.
	Flags map[string]string
	// Warnings are one line each: ignored settings and deviations from
	// kube-proxy. The caller logs them.
	Warnings []string
}

// Conntrack holds the conntrack sysctls kube-proxy sets (0 or nil: leave).
type Conntrack struct {
	MaxPerCore            *int32
	Min                   *int32
	TCPEstablishedTimeout *time.Duration
	TCPCloseWaitTimeout   *time.Duration
	TCPBeLiberal          bool
	UDPTimeout            time.Duration
	UDPStreamTimeout      time.Duration
}

// Client is how to reach the API server.
type Client struct {
	Kubeconfig string
	// Master overrides the kubeconfig's server (--master).
	Master             string
	QPS                float32
	Burst              int32
	ContentType        string
	AcceptContentTypes string
}

// FeatureEnabled reports whether gate name is on, with kube-proxy v1.37's
// defaults for the gates not set; false for an unknown gate.
func (s *Settings) FeatureEnabled(name string) bool {
	g, _, err := featureGateFor(s.FeatureGates)
	if err != nil {
		return false
	}
	if _, known := g.GetAll()[featuregate.Feature(name)]; !known {
		return false
	}
	return g.Enabled(featuregate.Feature(name))
}
