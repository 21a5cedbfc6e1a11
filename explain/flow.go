package explain

import (
	"fmt"
	"io"
	"net/netip"
	"strings"

	"github.com/svcnat/svcnat/synth"
)

// flows draws the seed article's picture for every entry point:
// client -> entry -> Service ClusterIP:port -> pod:targetPort.
func flows(w io.Writer, rs *synth.Ruleset, sp *synth.ServicePort) {
	fmt.Fprintln(w, "  flow:")
	service := netip.AddrPortFrom(sp.ClusterIP, sp.Port).String()
	pods := podList(sp.InternalEndpoints())
	fmt.Fprintf(w, "    pod    -> %s (ClusterIP) -> %s\n", service, pods)
	ext := podList(sp.ExternalEndpoints())
	for _, a := range rs.NodePortAddrs {
		if sp.NodePort != 0 {
			fmt.Fprintf(w, "    client -> %s (NodePort) -> Service %s -> %s\n", netip.AddrPortFrom(a, sp.NodePort), service, ext)
		}
	}
	for _, a := range sp.LoadBalancerIPs {
		fmt.Fprintf(w, "    client -> %s (LoadBalancer) -> Service %s -> %s\n", netip.AddrPortFrom(a, sp.Port), service, ext)
	}
	for _, a := range sp.ExternalIPs {
		fmt.Fprintf(w, "    client -> %s (external IP) -> Service %s -> %s\n", netip.AddrPortFrom(a, sp.Port), service, ext)
	}
}

func podList(eps []synth.Endpoint) string {
	if len(eps) == 0 {
		return "no endpoint"
	}
	var s []string
	for _, ep := range eps {
		s = append(s, ep.AddrPort().String())
	}
	return "pod " + strings.Join(s, " | ")
}

func policies(w io.Writer, rs *synth.Ruleset, sp *synth.ServicePort) {
	fmt.Fprintln(w, "  policies:")
	fmt.Fprintf(w, "    internal traffic: %s\n", internalPolicy(rs, sp))
	if sp.HasExternal() {
		fmt.Fprintf(w, "    external traffic: %s\n", externalPolicy(sp))
	}
	if len(sp.SourceRanges) > 0 {
		fmt.Fprintf(w, "    loadBalancerSourceRanges: only %s may reach the load-balancer IPs; others are dropped\n", prefixList(sp.SourceRanges))
	}
	if sp.AffinitySeconds > 0 {
		fmt.Fprintf(w, "    sessionAffinity ClientIP: a client stays on its endpoint for %ds\n", sp.AffinitySeconds)
	}
	if sp.HealthCheckNodePort != 0 {
		fmt.Fprintf(w, "    health check: http://<node-ip>:%d/ answers 200 when this node has local endpoints\n", sp.HealthCheckNodePort)
	}
}

func internalPolicy(rs *synth.Ruleset, sp *synth.ServicePort) string {
	var s string
	switch {
	case !sp.HasEndpoints():
		return "no endpoints: rejected"
	case sp.InternalPolicyLocal && len(sp.LocalEndpoints) == 0:
		return "Local, and no endpoint on this node: dropped"
	case sp.InternalPolicyLocal:
		s = fmt.Sprintf("Local: endpoints on this node only (%d)", len(sp.LocalEndpoints))
	default:
		s = fmt.Sprintf("Cluster: any of %d endpoints", len(sp.ClusterEndpoints))
	}
	switch {
	case rs.MasqueradeAll:
		s += "; every source is masqueraded (masquerade-all)"
	case len(rs.ClusterCIDRs) > 0:
		s += fmt.Sprintf("; sources outside %s are masqueraded", prefixList(rs.ClusterCIDRs))
	}
	return s
}

func externalPolicy(sp *synth.ServicePort) string {
	switch {
	case !sp.HasEndpoints():
		return "no endpoints: rejected"
	case !sp.ExternalPolicyLocal:
		return fmt.Sprintf("Cluster: any of %d endpoints, source masqueraded to the node", len(sp.ClusterEndpoints))
	case len(sp.LocalEndpoints) == 0:
		return "Local: external clients: no endpoint on this node, dropped; pods and this node: all endpoints"
	}
	return fmt.Sprintf("Local: external clients: local endpoints only (%d), source kept; pods and this node: all endpoints", len(sp.LocalEndpoints))
}

func prefixList(ps []netip.Prefix) string {
	var s []string
	for _, p := range ps {
		s = append(s, p.String())
	}
	return strings.Join(s, ", ")
}
