package agent

import (
	"time"

	"github.com/go-logr/logr"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"

	"github.com/svcnat/svcnat/agent/conntrack"
	"github.com/svcnat/svcnat/synth"
)

// Defaults for zero Config fields.
const (
	DefaultMinSyncPeriod = 100 * time.Millisecond
	DefaultSyncPeriod    = 30 * time.Second
	// Suggested listen addresses, kube-proxy's ports (svcnat replaces it).
	DefaultMetricsAddr = "127.0.0.1:10249"
	DefaultHealthzAddr = "0.0.0.0:10256"
)

// Config configures an Agent.
type Config struct {
	// Synth is the node's model configuration. When Synth.ServiceCIDRs is
	// empty, the ranges of the API's ServiceCIDR objects are used.
	Synth synth.Config
	// MinSyncPeriod and SyncPeriod bound the sync frequency (see the
	// package documentation); zero means the default.
	MinSyncPeriod, SyncPeriod time.Duration
	// HealthTimeout is how long a queued change may wait before /healthz
	// fails; zero means 2×SyncPeriod.
	HealthTimeout time.Duration
	// MetricsAddr serves /metrics, HealthzAddr serves /healthz and /livez;
	// empty disables the server. They may be equal (one server for both).
	MetricsAddr, HealthzAddr string
	// BindAddressHardFail makes an address that cannot be listened on an
	// error of Run; otherwise it is retried every 5 s (kube-proxy's
	// bindAddressHardFail).
	BindAddressHardFail bool
	// HealthCheckBindAddress is the address the healthCheckNodePort servers
	// listen on; empty means every address of the agent's namespace.
	HealthCheckBindAddress string
	// NetNS is the network namespace path the backend programs; conntrack
	// entries are cleaned there. Empty means the agent's own namespace.
	NetNS string
	// Conntrack deletes conntrack entries; nil means a netlink Cleaner in
	// NetNS, opened by Run.
	Conntrack ConntrackCleaner
	// Logger receives the agent's logs; the zero Logger (which includes
	// logr.Discard()) means klog.Background().
	Logger logr.Logger
	// Clock drives the runner, timestamps and health; nil means the real clock.
	Clock clock.WithTicker

	// Version and Revision describe the build: svcnat_build_info and
	// /svcnat/status report them. Empty is allowed.
	Version, Revision string
	// ProxyMode is what /proxyMode answers; empty means the backend's
	// name ("nftables", "iptables").
	ProxyMode string
	// Configz is the effective configuration /configz serves, as JSON
	// under kube-proxy's key "kubeproxy.config.k8s.io" (e.g. a
	// KubeProxyConfiguration); nil serves {}.
	Configz any
	// Flagz returns the flags /flagz lists (name -> value); nil means
	// /flagz is not served.
	Flagz func() map[string]string
	// EnableProfiling serves /debug/pprof/ on MetricsAddr.
	EnableProfiling bool
	// EventClient, when set, receives the agent's Events (events.k8s.io/v1,
	// like kube-proxy): "Starting" on this Node, and a Warning on a Service
	// whose health check node port cannot be opened. Nil records none.
	EventClient EventSink
}

// ConntrackCleaner deletes the conntrack entries matching any of flows.
// *conntrack.Cleaner implements it.
type ConntrackCleaner interface {
	Delete(flows []conntrack.Flow) (uint, error)
}

func (c Config) withDefaults() Config {
	if c.MinSyncPeriod <= 0 {
		c.MinSyncPeriod = DefaultMinSyncPeriod
	}
	if c.SyncPeriod <= 0 {
		c.SyncPeriod = DefaultSyncPeriod
	}
	if c.HealthTimeout <= 0 {
		c.HealthTimeout = 2 * c.SyncPeriod
	}
	if c.Clock == nil {
		c.Clock = clock.RealClock{}
	}
	if c.Logger.GetSink() == nil {
		c.Logger = klog.Background()
	}
	return c
}
