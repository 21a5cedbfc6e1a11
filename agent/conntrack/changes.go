package conntrack

import (
	"cmp"
	"net/netip"
	"slices"

	"github.com/svcnat/svcnat/synth"
)

// Flow selects conntrack entries to delete. Zero-valued fields match
// anything.
type Flow struct {
	Family   synth.Family
	Protocol synth.Protocol
	// OrigDst is the address the client sent to; invalid for NodePorts,
	// which answer on every node address.
	OrigDst     netip.Addr
	OrigDstPort uint16
	// ReplySrc is the endpoint the entry was DNATed to (a stale endpoint).
	ReplySrc netip.AddrPort
	// NotNATed selects only entries whose destination was never
	// translated (reply source address == original destination address).
	NotNATed bool
}

// Changes returns the entries to delete after replacing old by new (both
// as given to backend.Apply, nil entries allowed), sorted and without
// duplicates. old == nil means nothing is known about the previous state.
func Changes(old, new []*synth.Ruleset) []Flow {
	prev := index(old)
	next := index(new)
	var flows []Flow
	for key, sp := range prev {
		if tracked(sp.Name.Protocol) {
			flows = append(flows, staleEndpoints(key.family, sp, next[key])...)
		}
	}
	for key, sp := range next {
		if sp.Name.Protocol == synth.UDP {
			flows = append(flows, firstEndpoints(key.family, prev[key], sp)...)
		}
	}
	slices.SortFunc(flows, compareFlows)
	return slices.Compact(flows)
}

type portKey struct {
	family synth.Family
	name   synth.ServicePortName
}

func index(rss []*synth.Ruleset) map[portKey]*synth.ServicePort {
	m := make(map[portKey]*synth.ServicePort)
	for _, rs := range rss {
		if rs == nil {
			continue
		}
		for i := range rs.Services {
			sp := rs.Services[i]
			m[portKey{rs.Family, sp.Name}] = sp
		}
	}
	return m
}

// tracked reports whether flows of p outlive a change of endpoints.
func tracked(p synth.Protocol) bool { return p == synth.UDP || p == synth.SCTP }

// staleEndpoints: endpoints of old that next (nil: the port is gone) no
// longer has.
func staleEndpoints(f synth.Family, old, next *synth.ServicePort) []Flow {
	var keep []synth.Endpoint
	if next != nil {
		keep = next.AllEndpoints()
	}
	var flows []Flow
	for _, ep := range old.AllEndpoints() {
		if slices.ContainsFunc(keep, func(e synth.Endpoint) bool { return e.AddrPort() == ep.AddrPort() }) {
			continue
		}
		for _, fl := range entryPoints(f, old) {
			fl.ReplySrc = ep.AddrPort()
			flows = append(flows, fl)
		}
	}
	return flows
}

// firstEndpoints: entry points of next that had no endpoint to go to in
// old (nil: unknown or new).
func firstEndpoints(f synth.Family, old, next *synth.ServicePort) []Flow {
	internal := len(next.InternalEndpoints()) > 0 && (old == nil || len(old.InternalEndpoints()) == 0)
	external := len(next.ExternalEndpoints()) > 0 && (old == nil || len(old.ExternalEndpoints()) == 0)
	var flows []Flow
	for _, fl := range entryPoints(f, next) {
		isCluster := fl.OrigDst == next.ClusterIP && fl.OrigDstPort == next.Port
		if (isCluster && internal) || (!isCluster && external) {
			fl.NotNATed = true
			flows = append(flows, fl)
		}
	}
	return flows
}

// entryPoints are the destinations clients use to reach sp.
func entryPoints(f synth.Family, sp *synth.ServicePort) []Flow {
	base := Flow{Family: f, Protocol: sp.Name.Protocol}
	var flows []Flow
	add := func(addr netip.Addr, port uint16) {
		fl := base
		fl.OrigDst, fl.OrigDstPort = addr, port
		flows = append(flows, fl)
	}
	if sp.ClusterIP.IsValid() {
		add(sp.ClusterIP, sp.Port)
	}
	for _, a := range sp.ExternalIPs {
		add(a, sp.Port)
	}
	for _, a := range sp.LoadBalancerIPs {
		add(a, sp.Port)
	}
	if sp.NodePort != 0 {
		add(netip.Addr{}, sp.NodePort)
	}
	return flows
}

func compareFlows(a, b Flow) int {
	return cmp.Or(
		cmp.Compare(a.Family, b.Family),
		cmp.Compare(a.Protocol, b.Protocol),
		a.OrigDst.Compare(b.OrigDst),
		cmp.Compare(a.OrigDstPort, b.OrigDstPort),
		a.ReplySrc.Compare(b.ReplySrc),
		compareBool(a.NotNATed, b.NotNATed),
	)
}

func compareBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}
