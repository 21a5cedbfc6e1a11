package conntrack

import (
	"net"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vishvananda/netlink"

	"github.com/svcnat/svcnat/synth"
)

var (
	clusterIP = netip.MustParseAddr("10.96.0.10")
	extIP     = netip.MustParseAddr("192.0.2.7")
	ep1       = synth.Endpoint{Addr: netip.MustParseAddr("10.244.1.5"), Port: 53}
	ep2       = synth.Endpoint{Addr: netip.MustParseAddr("10.244.2.6"), Port: 53}
	ep1Local  = synth.Endpoint{Addr: ep1.Addr, Port: 53, Local: true}
)

func port(proto synth.Protocol, eps ...synth.Endpoint) synth.ServicePort {
	return synth.ServicePort{
		Name:             synth.ServicePortName{Namespace: "kube-system", Name: "dns", Port: "dns", Protocol: proto},
		ClusterIP:        clusterIP,
		Port:             53,
		NodePort:         30053,
		ExternalIPs:      []netip.Addr{extIP},
		ClusterEndpoints: eps,
	}
}

func v4(sps ...synth.ServicePort) []*synth.Ruleset {
	rs := &synth.Ruleset{Family: synth.IPv4}
	for i := range sps {
		rs.Services = append(rs.Services, &sps[i])
	}
	return []*synth.Ruleset{rs, nil}
}

func stale(proto synth.Protocol, ep synth.Endpoint) []Flow {
	b := Flow{Family: synth.IPv4, Protocol: proto, ReplySrc: ep.AddrPort()}
	c, e, n := b, b, b
	c.OrigDst, c.OrigDstPort = clusterIP, 53
	e.OrigDst, e.OrigDstPort = extIP, 53
	n.OrigDstPort = 30053
	return []Flow{n, c, e} // sorted: the invalid address first
}

func notNATed(external, internal bool) []Flow {
	b := Flow{Family: synth.IPv4, Protocol: synth.UDP, NotNATed: true}
	var flows []Flow
	if external {
		n := b
		n.OrigDstPort = 30053
		flows = append(flows, n)
	}
	if internal {
		c := b
		c.OrigDst, c.OrigDstPort = clusterIP, 53
		flows = append(flows, c)
	}
	if external {
		e := b
		e.OrigDst, e.OrigDstPort = extIP, 53
		flows = append(flows, e)
	}
	return flows
}

func TestChanges(t *testing.T) {
	etpLocal := port(synth.UDP, ep1, ep2)
	etpLocal.ExternalPolicyLocal = true
	etpLocalWithLocal := etpLocal
	etpLocalWithLocal.LocalEndpoints = []synth.Endpoint{ep1Local}

	tests := []struct {
		name     string
		old, new []*synth.Ruleset
		want     []Flow
	}{
		{"nothing changed", v4(port(synth.UDP, ep1)), v4(port(synth.UDP, ep1)), nil},
		{"udp endpoint removed", v4(port(synth.UDP, ep1, ep2)), v4(port(synth.UDP, ep1)), stale(synth.UDP, ep2)},
		{"sctp endpoint removed", v4(port(synth.SCTP, ep1, ep2)), v4(port(synth.SCTP, ep2)), stale(synth.SCTP, ep1)},
		{"tcp endpoint removed", v4(port(synth.TCP, ep1, ep2)), v4(port(synth.TCP, ep1)), nil},
		{"udp service removed", v4(port(synth.UDP, ep1)), v4(), stale(synth.UDP, ep1)},
		{"udp endpoint replaced", v4(port(synth.UDP, ep1)), v4(port(synth.UDP, ep2)), stale(synth.UDP, ep1)},
		{"udp first endpoint", v4(port(synth.UDP)), v4(port(synth.UDP, ep1)), notNATed(true, true)},
		{"new udp service with endpoints", v4(), v4(port(synth.UDP, ep1)), notNATed(true, true)},
		{"unknown previous state", nil, v4(port(synth.UDP, ep1)), notNATed(true, true)},
		{"new udp service without endpoints", v4(), v4(port(synth.UDP)), nil},
		{"sctp first endpoint", v4(port(synth.SCTP)), v4(port(synth.SCTP, ep1)), nil},
		{"etp local gains first local endpoint", v4(etpLocal), v4(etpLocalWithLocal), notNATed(true, false)},
		{"etp local loses local endpoint", v4(etpLocalWithLocal), v4(etpLocal), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Changes(tt.old, tt.new)
			if diff := cmp.Diff(tt.want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
				cmp.Comparer(func(a, b netip.AddrPort) bool { return a == b })); diff != "" {
				t.Errorf("Changes (-want +got):\n%s", diff)
			}
		})
	}
}

func ctFlow(origDst string, dport uint16, replySrc string, sport uint16) *netlink.ConntrackFlow {
	return &netlink.ConntrackFlow{
		FamilyType: netlink.FAMILY_V4,
		Forward:    netlink.IPTuple{Protocol: 17, SrcIP: net.ParseIP("10.0.0.1"), SrcPort: 40000, DstIP: net.ParseIP(origDst), DstPort: dport},
		Reverse:    netlink.IPTuple{Protocol: 17, SrcIP: net.ParseIP(replySrc), SrcPort: sport, DstIP: net.ParseIP("10.0.0.1"), DstPort: 40000},
	}
}

func TestMatch(t *testing.T) {
	staleEP := stale(synth.UDP, ep2)
	first := notNATed(true, true)
	tests := []struct {
		name string
		f    Flow
		ct   *netlink.ConntrackFlow
		want bool
	}{
		{"stale endpoint via cluster IP", staleEP[1], ctFlow("10.96.0.10", 53, "10.244.2.6", 53), true},
		{"other endpoint via cluster IP", staleEP[1], ctFlow("10.96.0.10", 53, "10.244.1.5", 53), false},
		{"stale endpoint address, other port", staleEP[1], ctFlow("10.96.0.10", 53, "10.244.2.6", 54), false},
		{"stale endpoint via node port on any address", staleEP[0], ctFlow("172.18.0.2", 30053, "10.244.2.6", 53), true},
		{"stale endpoint via other port", staleEP[0], ctFlow("172.18.0.2", 30054, "10.244.2.6", 53), false},
		{"cached reject", first[1], ctFlow("10.96.0.10", 53, "10.96.0.10", 53), true},
		{"live NATed flow kept", first[1], ctFlow("10.96.0.10", 53, "10.244.1.5", 53), false},
		{"cached reject on node port", first[0], ctFlow("172.18.0.2", 30053, "172.18.0.2", 30053), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.f.MatchConntrackFlow(tt.ct); got != tt.want {
				t.Errorf("MatchConntrackFlow = %v, want %v", got, tt.want)
			}
		})
	}
	tcp := staleEP[1]
	tcp.Protocol = synth.TCP
	if tcp.MatchConntrackFlow(ctFlow("10.96.0.10", 53, "10.244.2.6", 53)) {
		t.Error("a TCP filter matched a UDP entry")
	}
}
