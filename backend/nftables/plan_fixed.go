package nftables

import (
	"fmt"
	"net/netip"
	"slices"

	"github.com/svcnat/svcnat/synth"
)

// Priorities of the base chains (nft's named priorities).
const (
	prioDstNAT = -100
	prioSrcNAT = 100
	prioFilter = 0
)

// params are the Ruleset-wide inputs a service port's fragment depends on.
// When they change, every fragment is rebuilt.
type params struct {
	family   synth.Family
	masqAll  bool
	podCIDRs bool                 // ClusterCIDRs is not empty
	podIface synth.InterfaceMatch // pods are told by input interface instead
}

func paramsOf(rs *synth.Ruleset) params {
	return params{family: rs.Family, masqAll: rs.MasqueradeAll, podCIDRs: len(rs.ClusterCIDRs) > 0,
		podIface: rs.PodInterface}
}

// podMatch is the statement that matches pod traffic (negate: other
// traffic), or nil when the table does not tell pod traffic apart. The
// interface takes precedence, as in synth.Ruleset.IsPodTraffic.
func (p params) podMatch(negate bool) stmt {
	switch {
	case p.podIface.IsSet():
		return iifnameStmt{match: p.podIface, negate: negate}
	case p.podCIDRs:
		return inSetStmt{fd: saddr, set: setClusterCIDRs, negate: negate}
	}
	return nil
}

// buildTable builds the whole table of one family (Render and tests).
func buildTable(rs *synth.Ruleset) (*table, error) {
	m, _, err := buildModel(rs, nil, nil)
	if err != nil {
		return nil, err
	}
	return m.materialize(), nil
}

// fixedTable builds the part of the table that does not belong to any
// service port: base chains, fixed chains and the fixed sets with their
// elements (the shared maps stay empty; fragments fill them).
func fixedTable(rs *synth.Ruleset) (*table, error) {
	t := &table{family: rs.Family}
	baseChains(t)
	if err := fixedSets(t, rs); err != nil {
		return nil, fmt.Errorf("build %s table: %w", rs.Family, err)
	}
	return t, nil
}

func checkAddr(a netip.Addr, f synth.Family) error {
	if !a.IsValid() || synth.FamilyOf(a) != f {
		return fmt.Errorf("address %v is not %s", a, f)
	}
	return nil
}

// baseChains adds the hooked chains and the fixed regular chains they jump to.
func baseChains(t *table) {
	for _, h := range []struct {
		name, typ, hook string
		prio            int32
		to              string
	}{
		{"nat-prerouting", "nat", "prerouting", prioDstNAT, chainServices},
		{"nat-output", "nat", "output", prioDstNAT, chainServices},
		{"nat-postrouting", "nat", "postrouting", prioSrcNAT, chainMasquerading},
		// The firewall runs before DNAT, while the destination is still the load-balancer IP.
		{"firewall-prerouting", "filter", "prerouting", prioDstNAT - 10, chainFirewall},
		{"firewall-output", "filter", "output", prioDstNAT - 10, chainFirewall},
		// reject is only allowed in input, forward and output.
		{"filter-input", "filter", "input", prioFilter - 10, chainChecks},
		{"filter-forward", "filter", "forward", prioFilter - 10, chainChecks},
		{"filter-output", "filter", "output", prioFilter - 10, chainChecks},
	} {
		c := t.newChain(h.name, &hook{typ: h.typ, hook: h.hook, priority: h.prio})
		if h.typ == "filter" {
			// Nat chains see only a connection's first packet anyway.
			c.add("", ctNewStmt{}, verdictStmt{verdict{kind: vJump, chain: h.to}})
			continue
		}
		c.add("", verdictStmt{verdict{kind: vJump, chain: h.to}})
	}

	svc := t.newChain(chainServices, nil)
	svc.add("", vmapStmt{withAddr: true, set: mapServiceIPs})
	// NodePorts answer only on NodePortAddrs (never loopback: they are not in the set).
	svc.add("", inSetStmt{fd: daddr, set: setNodePortIPs}, fibLocalStmt{fd: daddr}, vmapStmt{set: mapNodePorts})

	masq := t.newChain(chainMasquerading, nil)
	// An endpoint reaching itself through a Service must be masqueraded, or
	// its reply would bypass the DNAT. After DNAT that is source == destination.
	masq.add("hairpin", ctDNATStmt{}, pairStmt{set: setHairpin}, markMasqStmt{})
	masq.add("", noMasqMarkStmt{}, verdictStmt{verdict{kind: vReturn}})
	masq.add("", clearMasqStmt{})
	masq.add("", masqStmt{})

	t.newChain(chainFirewall, nil).add("", vmapStmt{withAddr: true, set: mapFirewallIPs})

	chk := t.newChain(chainChecks, nil)
	chk.add("", vmapStmt{withAddr: true, set: mapNoEndpoints})
	chk.add("", inSetStmt{fd: daddr, set: setNodePortIPs}, fibLocalStmt{fd: daddr}, vmapStmt{set: mapNoEndpointNPs})
	chk.add("ClusterIP without a Service on this port", inSetStmt{fd: daddr, set: setClusterIPs}, rejectStmt{})
	chk.add("unallocated address in the service range", inSetStmt{fd: daddr, set: setServiceCIDRs}, verdictStmt{verdict{kind: vDrop}})

	t.newChain(chainReject, nil).add("", rejectStmt{})
}

// sharedMaps are the maps (and the hairpin set) every service port adds
// elements to, in declaration order.
var sharedMaps = []struct {
	name string
	kind setKind
}{
	{mapServiceIPs, kindAddrProtoPort},
	{mapNoEndpoints, kindAddrProtoPort},
	{mapFirewallIPs, kindAddrProtoPort},
	{mapNodePorts, kindProtoPort},
	{mapNoEndpointNPs, kindProtoPort},
	{mapEndpoints, kindAddrSlot},
	{mapNPEndpoints, kindPortSlot},
	{mapLocalEps, kindAddrSlot},
	{mapLocalNPEps, kindPortSlot},
	{setHairpin, kindAddrPair},
}

// sharedSet reports whether several service ports may hold the same
// element of the set: the hairpin set has one element per endpoint
// address, whichever ports select it. Everywhere else a key has one owner.
func sharedSet(name string) bool { return name == setHairpin }

// derivedSet reports whether a set's keys follow from a dispatch map's key
// of the same port (the endpoint maps: entry . slot). Their owner need not
// be tracked: a key of theirs can be another port's only if the entry is.
func derivedSet(name string) bool {
	switch name {
	case mapEndpoints, mapNPEndpoints, mapLocalEps, mapLocalNPEps:
		return true
	}
	return false
}

func fixedSets(t *table, rs *synth.Ruleset) error {
	for _, as := range [][]netip.Addr{rs.ClusterIPs, rs.NodePortAddrs} {
		for _, a := range as {
			if err := checkAddr(a, rs.Family); err != nil {
				return err
			}
		}
	}
	t.newSet(setClusterIPs, kindAddr).elems = addrElems(rs.ClusterIPs)
	t.newSet(setNodePortIPs, kindAddr).elems = addrElems(rs.NodePortAddrs)
	var err error
	t.newSet(setServiceCIDRs, kindPrefix).elems, err = prefixElems(rs.ServiceCIDRs, rs.Family)
	if err != nil {
		return err
	}
	t.newSet(setClusterCIDRs, kindPrefix).elems, err = prefixElems(rs.ClusterCIDRs, rs.Family)
	if err != nil {
		return err
	}
	for _, m := range sharedMaps {
		t.newSet(m.name, m.kind)
	}
	for _, s := range t.sets {
		sortElems(s)
	}
	return nil
}

func addrElems(as []netip.Addr) []elem {
	out := make([]elem, 0, len(as))
	for _, a := range as {
		out = append(out, elem{addr: a.Unmap()})
	}
	return out
}

// prefixElems drops prefixes inside other prefixes: an interval set without
// auto-merge refuses overlapping elements.
func prefixElems(ps []netip.Prefix, f synth.Family) ([]elem, error) {
	var out []elem
	for _, p := range ps {
		if err := checkAddr(p.Addr(), f); err != nil {
			return nil, err
		}
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()).Masked()
		covered := slices.ContainsFunc(ps, func(q netip.Prefix) bool {
			return q.Bits() < p.Bits() && q.Contains(p.Addr().Unmap())
		})
		if !covered && !slices.ContainsFunc(out, func(e elem) bool { return e.prefix == p }) {
			out = append(out, elem{prefix: p})
		}
	}
	return out, nil
}
