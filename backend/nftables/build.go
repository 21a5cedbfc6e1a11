package nftables

import (
	"cmp"
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

// builder turns one Ruleset into a table model.
type builder struct {
	rs   *synth.Ruleset
	t    *table
	seen map[string]bool // chains already created
	err  error
}

// buildTable builds the model of one family's table. It fails on addresses
// of the wrong family rather than rendering a script the kernel refuses.
func buildTable(rs *synth.Ruleset) (*table, error) {
	b := &builder{rs: rs, t: &table{family: rs.Family}, seen: map[string]bool{}}
	b.baseChains()
	b.fixedSets()
	for i := range rs.Services {
		b.servicePort(&rs.Services[i])
	}
	b.sortElems()
	if b.err != nil {
		return nil, fmt.Errorf("build %s table: %w", rs.Family, b.err)
	}
	return b.t, nil
}

func (b *builder) checkAddr(a netip.Addr) {
	if b.err == nil && (!a.IsValid() || synth.FamilyOf(a) != b.rs.Family) {
		b.err = fmt.Errorf("address %v is not %s", a, b.rs.Family)
	}
}

// baseChains adds the hooked chains and the fixed regular chains they jump to.
func (b *builder) baseChains() {
	t := b.t
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
		c.add("", verdictStmt{verdict{kind: vJump, chain: h.to}})
	}

	svc := t.newChain(chainServices, nil)
	svc.add("", vmapStmt{withAddr: true, set: mapServiceIPs})
	// NodePorts answer only on NodePortAddrs (never loopback: they are not in the set).
	svc.add("", inSetStmt{fd: daddr, set: setNodePortIPs}, fibLocalStmt{fd: daddr}, vmapStmt{set: mapNodePorts})

	masq := t.newChain(chainMasquerading, nil)
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

func (b *builder) fixedSets() {
	t, rs := b.t, b.rs
	for _, a := range rs.ClusterIPs {
		b.checkAddr(a)
	}
	for _, a := range rs.NodePortAddrs {
		b.checkAddr(a)
	}
	t.newSet(setClusterIPs, kindAddr).elems = addrElems(rs.ClusterIPs)
	t.newSet(setNodePortIPs, kindAddr).elems = addrElems(rs.NodePortAddrs)
	t.newSet(setServiceCIDRs, kindPrefix).elems = b.prefixElems(rs.ServiceCIDRs)
	t.newSet(setClusterCIDRs, kindPrefix).elems = b.prefixElems(rs.ClusterCIDRs)
	for _, name := range []string{mapServiceIPs, mapNoEndpoints, mapFirewallIPs} {
		t.newSet(name, kindAddrProtoPort)
	}
	t.newSet(mapNodePorts, kindProtoPort)
	t.newSet(mapNoEndpointNPs, kindProtoPort)
}

func addrElems(as []netip.Addr) []elem {
	var out []elem
	for _, a := range as {
		out = append(out, elem{addr: a.Unmap()})
	}
	return out
}

// prefixElems drops prefixes inside other prefixes: an interval set without
// auto-merge refuses overlapping elements.
func (b *builder) prefixElems(ps []netip.Prefix) []elem {
	var out []elem
	for _, p := range ps {
		b.checkAddr(p.Addr())
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()).Masked()
		covered := slices.ContainsFunc(ps, func(q netip.Prefix) bool {
			return q.Bits() < p.Bits() && q.Contains(p.Addr().Unmap())
		})
		if !covered && !slices.ContainsFunc(out, func(e elem) bool { return e.prefix == p }) {
			out = append(out, elem{prefix: p})
		}
	}
	return out
}

// sortElems orders every set by key and drops duplicate keys (first wins),
// so the same Ruleset always gives the same bytes.
func (b *builder) sortElems() {
	for _, s := range b.t.sets {
		slices.SortStableFunc(s.elems, func(x, y elem) int {
			return cmp.Or(x.addr.Compare(y.addr), x.prefix.Addr().Compare(y.prefix.Addr()),
				cmp.Compare(x.proto, y.proto), cmp.Compare(x.port, y.port))
		})
		s.elems = slices.CompactFunc(s.elems, func(x, y elem) bool { return x.key() == y.key() })
	}
}
