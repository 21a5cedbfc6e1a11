package nftables

import (
	"net/netip"
	"slices"

	"github.com/svcnat/svcnat/synth"
)

var (
	dropVerdict   = verdict{kind: vDrop}
	rejectVerdict = goTo(chainReject)
)

// fragBuilder builds the fragment of one service port.
type fragBuilder struct {
	p      params
	sp     *synth.ServicePort
	f      *fragment
	suffix string                    // readable(portSuffix(sp)), shared by every chain name
	lb     [2]bool                   // endpoint list handled (elements, or affinity chains made): [cluster, local]
	own    bool                      // the port balances in chains of its own (affinity or a long list)
	eps    map[netip.AddrPort]string // endpoint chains made (affinity)
	err    error
}

// buildFragment builds everything one service port adds to the table.
// old (may be nil) is the port's previous fragment, whose endpoints keep
// their slots (plan_slots.go).
func buildFragment(sp *synth.ServicePort, p params, old *fragment) (*fragment, error) {
	b := &fragBuilder{p: p, sp: sp, f: &fragment{sp: *sp}, suffix: readable(portSuffix(sp))}
	b.own = sp.AffinitySeconds > 0 || ownDNAT(sp)
	b.servicePort()
	if b.err != nil {
		return nil, b.err
	}
	b.f.inheritSlots(old)
	b.f.elems = sortMapElems(b.f.elems)
	b.f.tallyElems()
	return b.f, nil
}

func (b *fragBuilder) checkAddr(a netip.Addr) {
	if b.err == nil {
		b.err = checkAddr(a, b.p.family)
	}
}

func (b *fragBuilder) newChain(kind, id, extra string) *chain {
	c := &chain{name: chainName(kind, id, b.suffix+extra)}
	b.f.chains = append(b.f.chains, c)
	return c
}

func (b *fragBuilder) addElem(set string, e elem) {
	b.f.elems = append(b.f.elems, mapElem{set: set, elem: e})
}

// servicePort adds the map elements and chains of one service port.
func (b *fragBuilder) servicePort() {
	sp := b.sp
	b.checkAddr(sp.ClusterIP)
	name := comment(sp.Name.String())
	if !sp.HasEndpoints() {
		b.entryPoints(mapNoEndpoints, mapNoEndpointNPs, rejectVerdict, rejectVerdict, name)
		return
	}
	if sp.HasExternal() {
		b.entryPoints(mapServiceIPs, mapNodePorts, verdict{}, b.externalVerdict(), name)
		b.firewall(name)
	}
	if len(sp.InternalEndpoints()) == 0 {
		// internalTrafficPolicy Local without a local endpoint.
		b.entryPoints(mapNoEndpoints, "", dropVerdict, verdict{}, name)
		return
	}
	b.entryPoints(mapServiceIPs, "", b.serviceVerdict(), verdict{}, name)
}

// useShared records that the port's verdicts go to a shared chain.
func (b *fragBuilder) useShared(r sharedRef) {
	if !slices.Contains(b.f.refs, r) {
		b.f.refs = append(b.f.refs, r)
	}
}

// entryPoints adds elements to the address map (ClusterIP with internal,
// external and load-balancer IPs with external) and to the NodePort map.
// An empty verdict or map name skips that part.
func (b *fragBuilder) entryPoints(addrMap, npMap string, internal, external verdict, name string) {
	sp := b.sp
	add := func(set string, e elem) {
		e.proto, e.port, e.comment = sp.Name.Protocol, sp.Port, name
		b.addElem(set, e)
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
		b.addElem(npMap, elem{proto: sp.Name.Protocol, port: sp.NodePort, verdict: external, comment: name})
	}
}

// serviceVerdict returns where ClusterIP traffic goes: the shared chain
// for the port's policy and list length, which decides about masquerade
// and balances over the internal endpoints. A port with session affinity
// or a long endpoint list has a chain of its own, since it balances with
// its own chains.
func (b *fragBuilder) serviceVerdict() verdict {
	sp := b.sp
	lb := b.balance(sp.InternalPolicyLocal)
	if b.own {
		c := b.newChain("svc", sp.ID, "")
		serviceRules(c, b.p, lb)
		return goTo(c.name)
	}
	r := sharedRef{kind: sharedSvc, local: sp.InternalPolicyLocal, n: uint32(len(sp.InternalEndpoints()))}
	b.useShared(r)
	return goTo(r.chainName())
}

// externalVerdict returns where NodePort, external-IP and load-balancer
// traffic goes, like serviceVerdict.
func (b *fragBuilder) externalVerdict() verdict {
	sp := b.sp
	cluster, local := b.balance(false), verdict{}
	if sp.ExternalPolicyLocal {
		local = b.balance(true)
	}
	if b.own {
		c := b.newChain("ext", sp.ID, "")
		externalRules(c, b.p, sp.ExternalPolicyLocal, cluster, local)
		return goTo(c.name)
	}
	r := sharedRef{kind: sharedExt, n: uint32(len(sp.ClusterEndpoints))}
	if sp.ExternalPolicyLocal {
		r.local, r.nLocal = true, uint32(len(sp.LocalEndpoints))
	}
	b.useShared(r)
	return goTo(r.chainName())
}

// firewall drops sources outside loadBalancerSourceRanges, for
// load-balancer IPs only.
func (b *fragBuilder) firewall(name string) {
	sp := b.sp
	if len(sp.SourceRanges) == 0 || len(sp.LoadBalancerIPs) == 0 {
		return
	}
	c := b.newChain("fw", sp.ID, "")
	for _, a := range sp.LoadBalancerIPs {
		b.addElem(mapFirewallIPs, elem{addr: a.Unmap(), proto: sp.Name.Protocol, port: sp.Port, verdict: goTo(c.name), comment: name})
	}
	for _, p := range sp.SourceRanges {
		if p.Addr().Is4() == (b.p.family == synth.IPv4) {
			c.add("", prefixStmt{fd: saddr, prefix: p.Masked()}, verdictStmt{verdict{kind: vReturn}})
		}
	}
	c.add("", verdictStmt{dropVerdict})
}

// balance returns the verdict that picks one of the cluster (local=false)
// or local endpoints. No endpoints means drop. Without session affinity
// the choice is made by a DNAT chain from the endpoint maps, whose
// elements the fragment derives from its list (epList): the shared chain
// for lists of that length (plan_shared.go), or, for a long list, a chain of the
// port's own (ownDNAT). With affinity the port has its own load-balancing
// and endpoint chains.
func (b *fragBuilder) balance(local bool) verdict {
	sp := b.sp
	eps, kind, made := sp.ClusterEndpoints, "lb", &b.lb[0]
	if local {
		eps, kind, made = sp.LocalEndpoints, "local", &b.lb[1]
	}
	if len(eps) == 0 {
		return dropVerdict
	}
	ref := dnatRef(local, len(eps))
	if sp.AffinitySeconds == 0 && b.own {
		kind = ref.kindName()
	}
	switch {
	case *made && b.own:
		return goTo(chainName(kind, sp.ID, b.suffix))
	case *made:
		return goTo(ref.chainName())
	}
	*made = true
	for _, ep := range eps {
		b.checkAddr(ep.Addr)
	}
	b.f.lists = append(b.f.lists, epList{local: local, maps: sp.AffinitySeconds == 0})
	switch {
	case sp.AffinitySeconds > 0:
		c := b.newChain(kind, sp.ID, "")
		b.affinityBalance(c, eps)
		return goTo(c.name)
	case b.own:
		c := b.newChain(kind, sp.ID, "")
		// Only the maps the list has elements in: each rule that looks a
		// map up costs a walk of the whole map when it is (re)added.
		addrs, nodePort := entries(sp, local)
		ref.mapDNATRules(c, sp.Name.Protocol, len(addrs) == 0 && nodePort, !nodePort, sampledModuli(len(eps)))
		return goTo(c.name)
	}
	b.useShared(ref)
	return goTo(ref.chainName())
}

// entries returns the entry points whose traffic goes to the cluster
// (local=false) or the local endpoints: addresses (keyed with the Service
// port) and whether the NodePort does.
func entries(sp *synth.ServicePort, local bool) (addrs []netip.Addr, nodePort bool) {
	if sp.ClusterIP.IsValid() && sp.InternalPolicyLocal == local {
		addrs = append(addrs, sp.ClusterIP.Unmap())
	}
	if !sp.HasExternal() || local && !sp.ExternalPolicyLocal {
		return addrs, false
	}
	for _, ips := range [][]netip.Addr{sp.ExternalIPs, sp.LoadBalancerIPs} {
		for _, a := range ips {
			addrs = append(addrs, a.Unmap())
		}
	}
	return addrs, sp.NodePort != 0
}

// eachEndpointElem calls yield for each endpoint-map element of list l
// of port sp: one per entry point and endpoint. Slot i of every entry
// point is the same endpoint (the list's i-th unless it has slots of its
// own, plan_slots.go), so replacing an endpoint changes elements only.
func eachEndpointElem(sp *synth.ServicePort, l epList, yield func(mapElem)) {
	e := endpointElems(sp, l)
	for i := range l.endpoints(sp) {
		e.slot(i, yield)
	}
}

// epElems makes the endpoint-map elements of one list, slot by slot.
type epElems struct {
	sp               *synth.ServicePort
	l                epList
	addrMap, portMap string
	addrs            []netip.Addr // entry addresses, distinct
	nodePort         bool
}

func endpointElems(sp *synth.ServicePort, l epList) epElems {
	e := epElems{sp: sp, l: l, addrMap: mapEndpoints, portMap: mapNPEndpoints}
	if l.local {
		e.addrMap, e.portMap = mapLocalEps, mapLocalNPEps
	}
	e.addrs, e.nodePort = entries(sp, l.local)
	e.addrs = distinctAddrs(e.addrs) // an external IP may also be a load-balancer IP
	return e
}

// sameKeys reports whether slot i has the same keys in e and o: the same
// entry points, Service port and NodePort.
func (e *epElems) sameKeys(o *epElems) bool {
	return e.addrMap == o.addrMap && slices.Equal(e.addrs, o.addrs) && e.nodePort == o.nodePort &&
		e.sp.Port == o.sp.Port && e.sp.Name.Protocol == o.sp.Name.Protocol && (!e.nodePort || e.sp.NodePort == o.sp.NodePort)
}

// target returns where slot i sends traffic.
func (e *epElems) target(i int) netip.AddrPort {
	ep := e.l.endpointAt(e.sp, i)
	return netip.AddrPortFrom(ep.Addr.Unmap(), ep.Port)
}

// slot calls yield for the elements of slot i.
func (e *epElems) slot(i int, yield func(mapElem)) {
	sp, to := e.sp, e.target(i)
	for _, a := range e.addrs {
		yield(mapElem{e.addrMap, elem{addr: a, proto: sp.Name.Protocol, port: sp.Port, slot: uint32(i), to: to}})
	}
	if e.nodePort {
		yield(mapElem{e.portMap, elem{proto: sp.Name.Protocol, port: sp.NodePort, slot: uint32(i), to: to}})
	}
}

func distinctAddrs(as []netip.Addr) []netip.Addr {
	out := as[:0]
	for _, a := range as {
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}

// affinityBalance sends a source it remembers to the same endpoint, else
// picks one uniformly: rule i matches with probability 1/(n-i) given the
// earlier ones did not, and each endpoint chain records the source.
func (b *fragBuilder) affinityBalance(c *chain, eps []synth.Endpoint) {
	sp := b.sp
	for _, ep := range eps {
		c.add("", inSetStmt{fd: saddr, set: affinitySet(sp, ep)}, verdictStmt{goTo(b.endpoint(ep))})
	}
	for i, ep := range eps {
		target := verdictStmt{goTo(b.endpoint(ep))}
		if i == len(eps)-1 {
			c.add("", target)
			break
		}
		c.add("", numgenStmt{mod: uint32(len(eps) - i)}, target)
	}
}

// endpoint returns the endpoint chain of an affinity service, creating it
// and its affinity set on first use.
func (b *fragBuilder) endpoint(ep synth.Endpoint) string {
	sp, ap := b.sp, ep.AddrPort()
	if name, ok := b.eps[ap]; ok {
		return name
	}
	id := sp.EndpointID(ep)
	c := b.newChain("ep", id, "/"+readable(ap.String()))
	if b.eps == nil {
		b.eps = map[netip.AddrPort]string{}
	}
	b.eps[ap] = c.name
	s := &set{name: "aff-" + id, kind: kindAffinity, timeout: sp.AffinitySeconds}
	b.f.sets = append(b.f.sets, s)
	c.add("", updateStmt{set: s.name})
	c.add("", l4protoStmt{proto: sp.Name.Protocol}, dnatStmt{to: netip.AddrPortFrom(ep.Addr.Unmap(), ep.Port)})
	return c.name
}
