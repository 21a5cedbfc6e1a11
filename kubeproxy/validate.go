package kubeproxy

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/component-base/featuregate"
	logsapi "k8s.io/component-base/logs/api/v1"
	"k8s.io/kube-proxy/config/v1alpha1"
)

// validate applies kube-proxy v1.37's validation rules
// (pkg/proxy/apis/config/validation) to the effective configuration c, with
// sync, minSync and masqueradeBit read from c's mode section.
func validate(c *v1alpha1.KubeProxyConfiguration, r resolved, gates featuregate.FeatureGate) field.ErrorList {
	var errs field.ErrorList
	root := field.NewPath("KubeProxyConfiguration")

	for _, bit := range []struct {
		path string
		v    *int32
	}{{"KubeProxyIPTablesConfiguration", c.IPTables.MasqueradeBit}, {"KubeProxyNFTablesConfiguration", c.NFTables.MasqueradeBit}} {
		// kube-proxy checks the nftables bit only in nftables mode.
		if bit.path == "KubeProxyNFTablesConfiguration" && c.Mode != "nftables" {
			continue
		}
		if bit.v != nil && (*bit.v < 0 || *bit.v > 31) {
			errs = append(errs, field.Invalid(root.Child(bit.path, "MasqueradeBit"), *bit.v, "must be within the range [0, 31]"))
		}
	}
	if c.Mode == "ipvs" {
		errs = append(errs, validateIPVS(c.IPVS, root.Child("KubeProxyIPVSConfiguration"))...)
	}
	errs = append(errs, validateConntrack(c.Conntrack, root.Child("KubeProxyLinuxConfiguration", "KubeProxyConntrackConfiguration"))...)
	if a := c.OOMScoreAdj; a != nil && (*a < -1000 || *a > 1000) {
		errs = append(errs, field.Invalid(root.Child("KubeProxyLinuxConfiguration", "OOMScoreAdj"), *a, "must be within the range [-1000, 1000]"))
	}
	errs = append(errs, validateMode(c.Mode, gates, root.Child("Mode", "ProxyMode"))...)
	if c.ClientConnection.Burst < 0 {
		errs = append(errs, field.Invalid(root.Child("ClientConnection", "Burst"), c.ClientConnection.Burst, "must be greater than or equal to 0"))
	}
	if c.ConfigSyncPeriod.Duration <= 0 {
		errs = append(errs, field.Invalid(root.Child("ConfigSyncPeriod"), c.ConfigSyncPeriod, "must be greater than 0"))
	}
	if r.syncPeriod <= 0 {
		errs = append(errs, field.Invalid(root.Child("SyncPeriod"), r.syncPeriod.String(), "must be greater than 0"))
	}
	if r.minSyncPeriod < 0 {
		errs = append(errs, field.Invalid(root.Child("MinSyncPeriod"), r.minSyncPeriod.String(), "must be greater than or equal to 0"))
	}
	if r.minSyncPeriod > r.syncPeriod {
		errs = append(errs, field.Invalid(root.Child("SyncPeriod"), r.minSyncPeriod.String(), "must be greater than or equal to "+root.Child("MinSyncPeriod").String()))
	}
	if parseIPSloppy(c.BindAddress) == nil {
		errs = append(errs, field.Invalid(root.Child("BindAddress"), c.BindAddress, "not a valid textual representation of an IP address"))
	}
	if c.HealthzBindAddress != "" {
		errs = append(errs, validateHostPort(c.HealthzBindAddress, root.Child("HealthzBindAddress"))...)
	}
	errs = append(errs, validateHostPort(c.MetricsBindAddress, root.Child("MetricsBindAddress"))...)
	errs = append(errs, validateNodePortAddresses(c.NodePortAddresses, root.Child("NodePortAddresses"))...)
	errs = append(errs, validateShowHiddenMetrics(c.ShowHiddenMetricsForVersion, root.Child("ShowHiddenMetricsForVersion"))...)
	errs = append(errs, validateDetectLocal(c, r.clusterCIDRs, root)...)
	errs = append(errs, logsapi.Validate(&c.Logging, gates, root.Child("logging"))...)
	return errs
}

func validateIPVS(c v1alpha1.KubeProxyIPVSConfiguration, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for name, d := range map[string]float64{"TCPTimeout": c.TCPTimeout.Seconds(), "TCPFinTimeout": c.TCPFinTimeout.Seconds(), "UDPTimeout": c.UDPTimeout.Seconds()} {
		if d < 0 {
			errs = append(errs, field.Invalid(path.Child(name), d, "must be greater than or equal to 0"))
		}
	}
	for i, cidr := range c.ExcludeCIDRs {
		if _, err := parseCIDRSloppy(cidr); err != nil {
			errs = append(errs, field.Invalid(path.Child("ExcludeCidrs").Index(i), cidr, "must be a valid CIDR"))
		}
	}
	slices.SortFunc(errs, func(a, b *field.Error) int { return strings.Compare(a.Field, b.Field) })
	return errs
}

func validateConntrack(c v1alpha1.KubeProxyConntrackConfiguration, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if c.MaxPerCore != nil && *c.MaxPerCore < 0 {
		errs = append(errs, field.Invalid(path.Child("MaxPerCore"), *c.MaxPerCore, "must be greater than or equal to 0"))
	}
	if c.Min != nil && *c.Min < 0 {
		errs = append(errs, field.Invalid(path.Child("Min"), *c.Min, "must be greater than or equal to 0"))
	}
	durations := []struct {
		name string
		d    float64
	}{
		{"TCPEstablishedTimeout", c.TCPEstablishedTimeout.Seconds()},
		{"TCPCloseWaitTimeout", c.TCPCloseWaitTimeout.Seconds()},
		{"UDPTimeout", c.UDPTimeout.Seconds()},
		{"UDPStreamTimeout", c.UDPStreamTimeout.Seconds()},
	}
	for _, d := range durations {
		if d.d < 0 {
			errs = append(errs, field.Invalid(path.Child(d.name), fmt.Sprintf("%gs", d.d), "must be greater than or equal to 0"))
		}
	}
	return errs
}

// validateMode is kube-proxy's Linux rule: iptables, nftables, ipvs (while
// the KubeProxyIPVS gate is on) or blank. kernelspace gets svcnat's advice.
func validateMode(mode v1alpha1.ProxyMode, gates featuregate.FeatureGate, path *field.Path) field.ErrorList {
	valid := []string{"iptables", "nftables"}
	if gates.Enabled("KubeProxyIPVS") {
		valid = append(valid, "ipvs")
	}
	slices.Sort(valid)
	if mode == "" || slices.Contains(valid, string(mode)) {
		return nil
	}
	msg := fmt.Sprintf("must be %s or blank (blank means the best-available proxy [currently iptables])", strings.Join(valid, ", "))
	if mode == "kernelspace" {
		msg += "; kernelspace is kube-proxy's Windows mode and svcnat runs on Linux: use nftables or iptables"
	}
	return field.ErrorList{field.Invalid(path, string(mode), msg)}
}

func validateHostPort(input string, path *field.Path) field.ErrorList {
	host, port, err := net.SplitHostPort(input)
	if err != nil {
		return field.ErrorList{field.Invalid(path, input, "must be IP:port")}
	}
	var errs field.ErrorList
	if parseIPSloppy(host) == nil {
		errs = append(errs, field.Invalid(path, host, "must be a valid IP"))
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		errs = append(errs, field.Invalid(path, port, "must be a valid port"))
	}
	return errs
}

// The nodePortAddresses keywords.
const (
	keywordPrimary   = "primary"
	keywordLocalhost = "localhost"
	keywordAll       = "all"
)

func validateNodePortAddresses(addrs []string, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := map[string]bool{}
	for i, a := range addrs {
		switch a {
		case keywordPrimary, keywordLocalhost, keywordAll:
			if seen[a] {
				errs = append(errs, field.Duplicate(path.Index(i), a))
			}
			seen[a] = true
			continue
		}
		if _, err := parseCIDRSloppy(a); err != nil {
			errs = append(errs, field.Invalid(path.Index(i), a, "must be a valid CIDR or one of the keywords 'primary', 'localhost', 'all'"))
		}
	}
	return errs
}

// validateShowHiddenMetrics is component-base's rule for kube-proxy v1.37:
// empty, or the previous minor version, 1.36.
func validateShowHiddenMetrics(v string, path *field.Path) field.ErrorList {
	if v == "" {
		return nil
	}
	want := fmt.Sprintf("%d.%d", binaryVersion.Major(), binaryVersion.Minor()-1)
	if v != want {
		return field.ErrorList{field.Invalid(path, v, fmt.Sprintf("--show-hidden-metrics-for-version must be omitted or have the value '%s'. Only the previous minor version is allowed", want))}
	}
	return nil
}

func validateDetectLocal(c *v1alpha1.KubeProxyConfiguration, clusterCIDRs []string, root *field.Path) field.ErrorList {
	path := root.Child("DetectLocalConfiguration")
	switch c.DetectLocalMode {
	case "ClusterCIDR":
		if len(clusterCIDRs) > 0 {
			return validateDualStackCIDRs(clusterCIDRs, path.Child("ClusterCIDRs"))
		}
	case "NodeCIDR":
	case "BridgeInterface":
		if c.DetectLocal.BridgeInterface == "" {
			return field.ErrorList{field.Invalid(path.Child("InterfaceName"), "", "must not be empty")}
		}
	case "InterfaceNamePrefix":
		if c.DetectLocal.InterfaceNamePrefix == "" {
			return field.ErrorList{field.Invalid(path.Child("InterfacePrefix"), "", "must not be empty")}
		}
	case "":
	default:
		return field.ErrorList{field.NotSupported(root.Child("DetectLocalMode"), string(c.DetectLocalMode),
			[]string{"ClusterCIDR", "NodeCIDR", "BridgeInterface", "InterfaceNamePrefix", ""})}
	}
	return nil
}

func validateDualStackCIDRs(cidrs []string, path *field.Path) field.ErrorList {
	const pairMsg = "must be a either a single CIDR or dual-stack pair of CIDRs (e.g. [10.100.0.0/16, fde4:8dba:82e1::/48]"
	if len(cidrs) > 2 {
		return field.ErrorList{field.Invalid(path, cidrs, pairMsg)}
	}
	var errs field.ErrorList
	var parsed []netip.Prefix
	for i, s := range cidrs {
		p, err := parseCIDRSloppy(s)
		if err != nil {
			errs = append(errs, field.Invalid(path.Index(i), s, "must be a valid CIDR block (e.g. 10.100.0.0/16 or fde4:8dba:82e1::/48)"))
			continue
		}
		parsed = append(parsed, p)
	}
	if len(parsed) == 2 && parsed[0].Addr().Is4() == parsed[1].Addr().Is4() {
		errs = append(errs, field.Invalid(path, cidrs, pairMsg))
	}
	return errs
}
