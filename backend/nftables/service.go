package nftables

import (
	"net/netip"

	"github.com/svcnat/svcnat/synth"
)

var (
	dropVerdict   = verdict{kind: vDrop}
	rejectVerdict = goTo(chainReject)
)

// servicePort adds the map elements and chains of one service port.
func (b *builder) servicePort(sp *synth.ServicePort) {
	b.checkAddr(sp.ClusterIP)
	name := comment(sp.Name.String())
	if !sp.HasEndpoints() {
		b.entryPoints(sp, mapNoEndpoints, mapNoEndpointNPs, rejectVerdict, rejectVerdict, name)
		return
	}
	if sp.HasExternal() {
		b.entryPoints(sp, mapServiceIPs, mapNodePorts, verdict{}, goTo(extChain(sp)), name)
		b.externalChain(sp)
		b.firewall(sp, name)
	}
	if len(sp.InternalEndpoints()) == 0 {
		// internalTrafficPolicy Local without a local endpoint.
		b.entryPoints(sp, mapNoEndpoints, "", dropVerdict, verdict{}, name)
		return
	}
	b.entryPoints(sp, mapServiceIPs, "", goTo(svcChain(sp)), verdict{}, name)
	b.serviceChain(sp)
}

// entryPoints adds elements to the address map (ClusterIP with internal,
// external and load-balancer IPs with external) and to the NodePort map.
// An empty verdict or map name skips that part.
func (b *builder) entryPoints(sp *synth.ServicePort, addrMap, npMap string, internal, external verdict, name string) {
	add := func(set string, e elem) {
		e.proto, e.port, e.comment = sp.Name.Protocol, sp.Port, name
		s := b.t.set(set)
		s.elems = append(s.elems, e)
	}
	if internal.kind != vNone && sp.ClusterIP.IsValid() {
		add(addrMap, elem{addr: sp.ClusterIP.Unmap(), verdict: internal})
	}
	if external.kind == vNone {
		return
	}
	for _, ips := range [][]netip.Addr{sp.ExternalIPs, sp.LoadBalancerIPs} {
		for _, a := range ips {
			b.checkAddr(a)
			add(addrMap, elem{addr: a.Unmap(), verdict: external})
		}
	}
	if sp.NodePort != 0 && npMap != "" {
		s := b.t.set(npMap)
		s.elems = append(s.elems, elem{proto: sp.Name.Protocol, port: sp.NodePort, verdict: external, comment: name})
	}
}

// serviceChain handles traffic to the ClusterIP: masquerade decision, then
// load balancing over the internal endpoints.
func (b *builder) serviceChain(sp *synth.ServicePort) {
	c := b.t.newChain(svcChain(sp), nil)
	switch {
	case b.rs.MasqueradeAll:
		c.add("", markMasqStmt{})
	case len(b.rs.ClusterCIDRs) > 0:
		c.add("", inSetStmt{fd: saddr, set: setClusterCIDRs, negate: true}, markMasqStmt{})
	}
	c.add("", verdictStmt{b.balance(sp, sp.InternalPolicyLocal)})
}

// externalChain handles NodePorts, external IPs and load-balancer IPs.
func (b *builder) externalChain(sp *synth.ServicePort) {
	c := b.t.newChain(extChain(sp), nil)
	if !sp.ExternalPolicyLocal {
		c.add("", markMasqStmt{})
		c.add("", verdictStmt{b.balance(sp, false)})
		return
	}
	if b.rs.MasqueradeAll {
		c.add("", markMasqStmt{})
	}
	cluster := b.balance(sp, false)
	if len(b.rs.ClusterCIDRs) > 0 {
		c.add("pod source: cluster endpoints", inSetStmt{fd: saddr, set: setClusterCIDRs}, verdictStmt{cluster})
	}
	c.add("node source: cluster endpoints, masquerade", fibLocalStmt{fd: saddr}, markMasqStmt{}, verdictStmt{cluster})
	c.add("", verdictStmt{b.balance(sp, true)})
}

// firewall drops sources outside loadBalancerSourceRanges, for
// load-balancer IPs only.
func (b *builder) firewall(sp *synth.ServicePort, name string) {
	if len(sp.SourceRanges) == 0 || len(sp.LoadBalancerIPs) == 0 {
		return
	}
	fw := b.t.set(mapFirewallIPs)
	for _, a := range sp.LoadBalancerIPs {
		fw.elems = append(fw.elems, elem{addr: a.Unmap(), proto: sp.Name.Protocol, port: sp.Port, verdict: goTo(fwChain(sp)), comment: name})
	}
	c := b.t.newChain(fwChain(sp), nil)
	for _, p := range sp.SourceRanges {
		if p.Addr().Is4() == (b.rs.Family == synth.IPv4) {
			c.add("", prefixStmt{fd: saddr, prefix: p.Masked()}, verdictStmt{verdict{kind: vReturn}})
		}
	}
	c.add("", verdictStmt{dropVerdict})
}

// balance returns the verdict that picks one of the cluster (local=false)
// or local endpoints, creating the load-balancing chain on first use.
// No endpoints means drop.
func (b *builder) balance(sp *synth.ServicePort, local bool) verdict {
	eps, name := sp.ClusterEndpoints, lbChain(sp)
	if local {
		eps, name = sp.LocalEndpoints, localChain(sp)
	}
	if len(eps) == 0 {
		return dropVerdict
	}
	if b.seen[name] {
		return goTo(name)
	}
	b.seen[name] = true
	c := b.t.newChain(name, nil)
	if sp.AffinitySeconds > 0 {
		for _, ep := range eps {
			c.add("", inSetStmt{fd: saddr, set: affinitySet(sp, ep)}, verdictStmt{goTo(b.endpoint(sp, ep))})
		}
	}
	// Rule i matches with probability 1/(n-i) given the earlier ones did
	// not: a uniform choice without an anonymous set per Service.
	for i, ep := range eps {
		target := verdictStmt{goTo(b.endpoint(sp, ep))}
		if i == len(eps)-1 {
			c.add("", target)
			break
		}
		c.add("", numgenStmt{mod: uint32(len(eps) - i)}, target)
	}
	return goTo(name)
}

// endpoint returns the endpoint's chain, creating it (and its affinity set) on first use.
func (b *builder) endpoint(sp *synth.ServicePort, ep synth.Endpoint) string {
	name := epChain(sp, ep)
	if b.seen[name] {
		return name
	}
	b.seen[name] = true
	b.checkAddr(ep.Addr)
	c := b.t.newChain(name, nil)
	c.add("hairpin", prefixStmt{fd: saddr, prefix: netip.PrefixFrom(ep.Addr.Unmap(), ep.Addr.Unmap().BitLen())}, markMasqStmt{})
	if sp.AffinitySeconds > 0 {
		s := b.t.newSet(affinitySet(sp, ep), kindAffinity)
		s.timeout = sp.AffinitySeconds
		c.add("", updateStmt{set: s.name})
	}
	c.add("", l4protoStmt{proto: sp.Name.Protocol}, dnatStmt{to: netip.AddrPortFrom(ep.Addr.Unmap(), ep.Port)})
	return name
}
