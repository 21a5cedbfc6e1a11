package kubeproxy

import (
	"regexp"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// validationPaths maps kube-proxy's validation field paths (those of its
// internal type) to the configuration file's JSON paths, so that an error
// also names the field of the file and the flag to fix.
var validationPaths = map[string]string{
	"KubeProxyIPTablesConfiguration.MasqueradeBit":                                      "iptables.masqueradeBit",
	"KubeProxyNFTablesConfiguration.MasqueradeBit":                                      "nftables.masqueradeBit",
	"KubeProxyIPVSConfiguration.TCPTimeout":                                             "ipvs.tcpTimeout",
	"KubeProxyIPVSConfiguration.TCPFinTimeout":                                          "ipvs.tcpFinTimeout",
	"KubeProxyIPVSConfiguration.UDPTimeout":                                             "ipvs.udpTimeout",
	"KubeProxyIPVSConfiguration.ExcludeCidrs":                                           "ipvs.excludeCIDRs",
	"KubeProxyLinuxConfiguration.KubeProxyConntrackConfiguration.MaxPerCore":            "conntrack.maxPerCore",
	"KubeProxyLinuxConfiguration.KubeProxyConntrackConfiguration.Min":                   "conntrack.min",
	"KubeProxyLinuxConfiguration.KubeProxyConntrackConfiguration.TCPEstablishedTimeout": "conntrack.tcpEstablishedTimeout",
	"KubeProxyLinuxConfiguration.KubeProxyConntrackConfiguration.TCPCloseWaitTimeout":   "conntrack.tcpCloseWaitTimeout",
	"KubeProxyLinuxConfiguration.KubeProxyConntrackConfiguration.UDPTimeout":            "conntrack.udpTimeout",
	"KubeProxyLinuxConfiguration.KubeProxyConntrackConfiguration.UDPStreamTimeout":      "conntrack.udpStreamTimeout",
	"KubeProxyLinuxConfiguration.OOMScoreAdj":                                           "oomScoreAdj",
	"Mode.ProxyMode":                           "mode",
	"ClientConnection.Burst":                   "clientConnection.burst",
	"ConfigSyncPeriod":                         "configSyncPeriod",
	"BindAddress":                              "bindAddress",
	"HealthzBindAddress":                       "healthzBindAddress",
	"MetricsBindAddress":                       "metricsBindAddress",
	"NodePortAddresses":                        "nodePortAddresses",
	"ShowHiddenMetricsForVersion":              "showHiddenMetricsForVersion",
	"DetectLocalMode":                          "detectLocalMode",
	"DetectLocalConfiguration.ClusterCIDRs":    "clusterCIDR",
	"DetectLocalConfiguration.InterfaceName":   "detectLocal.bridgeInterface",
	"DetectLocalConfiguration.InterfacePrefix": "detectLocal.interfaceNamePrefix",
	"featureGates":                             "featureGates",
}

var indexSuffix = regexp.MustCompile(`\[\d+\]$`)

// hintFor names the file's field and the flags behind a validation error:
// "(iptables.masqueradeBit, --iptables-masquerade-bit)".
func hintFor(e *field.Error, mode string) string {
	p := indexSuffix.ReplaceAllString(strings.TrimPrefix(e.Field, "KubeProxyConfiguration."), "")
	var path string
	var flags []string
	switch {
	case p == "SyncPeriod" || p == "MinSyncPeriod":
		section := map[string]string{"ipvs": "ipvs", "nftables": "nftables"}[mode]
		if section == "" {
			section = "iptables"
		}
		path = section + "." + map[string]string{"SyncPeriod": "syncPeriod", "MinSyncPeriod": "minSyncPeriod"}[p]
		if p == "MinSyncPeriod" {
			flags = []string{"--min-sync-period"}
		} else {
			flags = []string{"--sync-period"}
		}
	case strings.HasPrefix(p, "logging"):
		path = "logging"
	default:
		path = validationPaths[p]
	}
	if path == "" {
		return ""
	}
	names := []string{path}
	for _, e := range flagEntries {
		if e.Field == path && e.Disposition != Refused && !strings.HasPrefix(path, "logging") {
			names = append(names, "--"+e.Name)
		}
	}
	return " (" + strings.Join(append(names, flags...), ", ") + ")"
}

// validationError formats kube-proxy's errors one per line, each with its
// hint.
func validationError(errs field.ErrorList, mode string) string {
	lines := make([]string, len(errs))
	for i, e := range errs {
		lines[i] = "  " + e.Error() + hintFor(e, mode)
	}
	return "invalid kube-proxy configuration:\n" + strings.Join(lines, "\n")
}
