package iptables

import (
	"fmt"
	"net/netip"

	"github.com/svcnat/svcnat/synth"
)

// genRuleset generates an IPv4 ruleset of n service ports with eps
// endpoints each; every tenth has a NodePort (and every twentieth a
// load-balancer IP with source ranges and externalTrafficPolicy Local).
// ClusterIPs are spread over 10.96.0.0/16 like an allocator would. seed
// changes which endpoints exist, for incremental tests.
func genRuleset(n, eps, seed int) *synth.Ruleset {
	rs := &synth.Ruleset{
		Family: synth.IPv4, NodeIPs: []netip.Addr{mustAddr("192.168.1.100")}, NodePortAddrs: []netip.Addr{mustAddr("192.168.1.100")},
		ClusterCIDRs: []netip.Prefix{mustPrefix("10.244.0.0/16")}, ServiceCIDRs: []netip.Prefix{mustPrefix("10.96.0.0/16")},
	}
	for i := range n {
		// A multiplicative hash spreads sequential i over the /16.
		h := uint32(i)*40503 + 1
		cip := netip.AddrFrom4([4]byte{10, 96, byte(h >> 8), byte(h)})
		sp := synth.ServicePort{
			Name:      synth.ServicePortName{Namespace: "ns", Name: fmt.Sprintf("svc-%05d", i), Protocol: synth.TCP},
			ID:        fmt.Sprintf("GEN%013d", i),
			ClusterIP: cip, Port: 80,
		}
		if i%10 == 0 {
			sp.NodePort = uint16(30000 + i/10%2768)
		}
		if i%20 == 0 {
			sp.LoadBalancerIPs = []netip.Addr{netip.AddrFrom4([4]byte{203, 0, byte(i >> 8), byte(i)})}
			sp.SourceRanges = []netip.Prefix{mustPrefix("198.51.100.0/24")}
			sp.ExternalPolicyLocal = true
		}
		for j := range eps {
			ep := synth.Endpoint{Addr: netip.AddrFrom4([4]byte{10, 244, byte(j), byte(i%250 + 1)}), Port: uint16(8000 + (i+seed*j)%3), Local: j == 0}
			sp.ClusterEndpoints = append(sp.ClusterEndpoints, ep)
			if ep.Local {
				sp.LocalEndpoints = append(sp.LocalEndpoints, ep)
			}
		}
		rs.ClusterIPs = append(rs.ClusterIPs, cip)
		rs.Services = append(rs.Services, &sp)
	}
	return rs
}
