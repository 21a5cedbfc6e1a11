package kubeproxy

import (
	"fmt"
	"net"
	"strconv"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	logsapi "k8s.io/component-base/logs/api/v1"
	"k8s.io/kube-proxy/config/v1alpha1"
	"k8s.io/utils/ptr"
)

// SetDefaults fills the unset fields of c with kube-proxy v1.37's defaults
// (pkg/proxy/apis/config/v1alpha1/defaults.go): zero values are unset.
func SetDefaults(c *v1alpha1.KubeProxyConfiguration) {
	if c.BindAddress == "" {
		c.BindAddress = "0.0.0.0"
	}
	healthzHost, metricsHost := "0.0.0.0", "127.0.0.1"
	if ip := parseIPSloppy(c.BindAddress); ip == nil || ip.To4() == nil {
		// kube-proxy takes anything that is not IPv4, even garbage, as IPv6.
		healthzHost, metricsHost = "[::]", "[::1]"
	}
	c.HealthzBindAddress = defaultHostPort(c.HealthzBindAddress, healthzHost, healthzPort)
	c.MetricsBindAddress = defaultHostPort(c.MetricsBindAddress, metricsHost, metricsPort)

	setPtr(&c.OOMScoreAdj, -999)
	setDuration(&c.IPTables.SyncPeriod, 30*time.Second)
	setDuration(&c.IPTables.MinSyncPeriod, time.Second)
	setPtr(&c.IPTables.LocalhostNodePorts, true)
	setDuration(&c.IPVS.SyncPeriod, 30*time.Second)
	// ipvs.minSyncPeriod keeps 0: kube-proxy does not default it.
	setDuration(&c.NFTables.SyncPeriod, 30*time.Second)
	setDuration(&c.NFTables.MinSyncPeriod, time.Second)

	setPtr(&c.Conntrack.MaxPerCore, 32*1024)
	setPtr(&c.Conntrack.Min, 128*1024)
	setPtr(&c.IPTables.MasqueradeBit, 14)
	setPtr(&c.NFTables.MasqueradeBit, 14)
	if c.Conntrack.TCPEstablishedTimeout == nil {
		c.Conntrack.TCPEstablishedTimeout = &metav1.Duration{Duration: 24 * time.Hour}
	}
	if c.Conntrack.TCPCloseWaitTimeout == nil {
		c.Conntrack.TCPCloseWaitTimeout = &metav1.Duration{Duration: time.Hour}
	}
	setDuration(&c.ConfigSyncPeriod, 15*time.Minute)

	if c.ClientConnection.ContentType == "" {
		c.ClientConnection.ContentType = "application/vnd.kubernetes.protobuf"
	}
	if c.ClientConnection.QPS == 0 {
		c.ClientConnection.QPS = 5
	}
	if c.ClientConnection.Burst == 0 {
		c.ClientConnection.Burst = 10
	}
	if c.FeatureGates == nil {
		c.FeatureGates = map[string]bool{}
	}
	logsapi.SetRecommendedLoggingConfiguration(&c.Logging)
}

// defaultHostPort is kube-proxy's rule for the server addresses: empty takes
// host:port, a bare IP gets the port, anything else is left for validation.
func defaultHostPort(addr, host string, port int) string {
	if addr == "" {
		return host + ":" + strconv.Itoa(port)
	}
	return appendPortIfNeeded(addr, int32(port))
}

// appendPortIfNeeded adds port to a bare IP address.
func appendPortIfNeeded(addr string, port int32) string {
	if _, _, err := net.SplitHostPort(addr); err == nil {
		return addr
	}
	if parseIPSloppy(addr) == nil {
		return addr
	}
	return net.JoinHostPort(addr, fmt.Sprint(port))
}

func setPtr[T any](p **T, v T) {
	if *p == nil {
		*p = ptr.To(v)
	}
}

func setDuration(d *metav1.Duration, v time.Duration) {
	if d.Duration == 0 {
		d.Duration = v
	}
}
