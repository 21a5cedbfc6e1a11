package explain

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/svcnat/svcnat/synth"
)

// flows draws the seed article's picture for every entry point:
// client -> entry -> Service ClusterIP:port -> pod:targetPort. Pods use
// the internal endpoints; clients outside the cluster the external ones
// (they differ under externalTrafficPolicy: Local). NodePort flows need a
// known node address.
func flows(rs *synth.Ruleset, sp *synth.ServicePort) []Flow {
	service := netip.AddrPortFrom(sp.ClusterIP, sp.Port).String()
	internal, external := addrPorts(sp.InternalEndpoints()), addrPorts(sp.ExternalEndpoints())
	out := []Flow{{From: "pod", Entry: entry(KindClusterIP, sp.ClusterIP, sp.Port), Service: service, Endpoints: internal}}
	client := func(kind string, a netip.Addr, port uint16) {
		out = append(out, Flow{From: "client", Entry: entry(kind, a, port), Service: service, Endpoints: external})
	}
	if sp.NodePort != 0 {
		for _, a := range rs.NodePortAddrs {
			client(KindNodePort, a, sp.NodePort)
		}
	}
	for _, a := range sp.LoadBalancerIPs {
		client(KindLoadBalancerIP, a, sp.Port)
	}
	for _, a := range sp.ExternalIPs {
		client(KindExternalIP, a, sp.Port)
	}
	return out
}

func addrPorts(eps []synth.Endpoint) []string {
	out := []string{}
	for _, ep := range eps {
		out = append(out, ep.AddrPort().String())
	}
	return out
}

func policies(rs *synth.Ruleset, sp *synth.ServicePort) Policies {
	p := Policies{
		InternalTrafficPolicy:    policyName(sp.InternalPolicyLocal),
		Internal:                 internalPolicy(rs, sp),
		LoadBalancerSourceRanges: prefixStrings(sp.SourceRanges),
		SessionAffinitySeconds:   sp.AffinitySeconds,
		HealthCheckNodePort:      sp.HealthCheckNodePort,
	}
	if sp.HasExternal() {
		p.ExternalTrafficPolicy = policyName(sp.ExternalPolicyLocal)
		p.External = externalPolicy(sp)
	}
	return p
}

func policyName(local bool) string {
	if local {
		return "Local"
	}
	return "Cluster"
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
		s += fmt.Sprintf("; sources outside %s are masqueraded", strings.Join(prefixStrings(rs.ClusterCIDRs), ", "))
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

func prefixStrings(ps []netip.Prefix) []string {
	out := []string{}
	for _, p := range ps {
		out = append(out, p.String())
	}
	return out
}
