package flowtest

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"

	"github.com/svcnat/svcnat/internal/scenario"
)

// returnMark marks, in node-2, connections that node-1 forwarded to a
// node-2 pod; their replies are routed back through node-1.
const returnMark = 0x5ac

// returnTable is node-2's routing table for marked replies.
const returnTable = 105

// addRoutes makes every flow destination reachable the way a cluster
// network would: see the package documentation.
func (e *env) addRoutes(s *scenario.Scenario) {
	dsts := e.destinations(s)
	node1 := func(fam int) string { return lanAddr(e.opts.Node.LAN, fam) }
	client := func(fam int) string { return lanAddr(e.opts.Client, fam) }

	var clientLines, node1Lines, node2Lines []string
	for _, svc := range e.opts.ServiceCIDRs {
		node2Lines = append(node2Lines, routeLine(svc, node1(family(svc))))
	}
	for _, d := range dsts {
		fam := family(d)
		if !e.routedToNode1(d) {
			clientLines = append(clientLines, routeLine(d, node1(fam)))
		}
		if !e.onNode2(d.Addr()) && !e.onNode1(d.Addr()) && !inAny(e.opts.ServiceCIDRs, d.Addr()) {
			node2Lines = append(node2Lines, routeLine(d, node1(fam)))
		}
		if !e.inCluster(d.Addr()) && !inAny(e.opts.ServiceCIDRs, d.Addr()) &&
			!onLink(e.opts.Node.LAN, d.Addr()) && !slices.Contains(e.nodeIPs, d.Addr()) {
			// node-1's default route leads to the client, like the lab's
			// service CIDR routes: what no rule DNATs dies there.
			node1Lines = append(node1Lines, routeLine(d, client(fam)))
		}
	}
	e.ipBatch(e.lab.Client, clientLines)
	e.ipBatch(e.lab.Node, node1Lines)
	e.ipBatch(e.lab.Node2, node2Lines)
	e.symmetricReturn()
}

// destinations are the flows' destination addresses that are neither LAN
// hosts nor loopback, as host prefixes, plus the scenario's service CIDRs.
func (e *env) destinations(s *scenario.Scenario) []netip.Prefix {
	lanHosts := append(append(e.lab.Client.Addrs(), e.lab.Node.Addrs()...), e.lab.Node2.Addrs()...)
	var out []netip.Prefix
	add := func(p netip.Prefix) {
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	for _, f := range s.Flows {
		a := f.Dst.Addr()
		if a.IsLoopback() || slices.Contains(lanHosts, a) {
			continue
		}
		add(netip.PrefixFrom(a, a.BitLen()))
	}
	for _, p := range s.Config.ServiceCIDRs {
		if !slices.Contains(e.opts.ServiceCIDRs, p) {
			add(p)
		}
	}
	return out
}

// routedToNode1 reports whether the lab already routes d from the client
// to node-1 (service and pod CIDRs).
func (e *env) routedToNode1(d netip.Prefix) bool {
	all := slices.Concat(e.opts.ServiceCIDRs, e.opts.Node.PodCIDRs, e.opts.Node2.PodCIDRs)
	return slices.ContainsFunc(all, func(p netip.Prefix) bool {
		return p.Bits() <= d.Bits() && p.Contains(d.Addr())
	})
}

// symmetricReturn makes node-2 send replies of connections that arrived
// from the LAN for its pods back through node-1, which then undoes its
// DNAT. Without it a node-2 pod reaching a node-2 endpoint through
// node-1's rules, unmasqueraded, would get the reply straight from the
// endpoint's address and drop it.
func (e *env) symmetricReturn() {
	e.t.Helper()
	script := fmt.Sprintf(`table inet flowtest {
	chain prerouting {
		type filter hook prerouting priority mangle; policy accept;
		iifname "eth0" ct state new ct mark set %#x
		iifname != "eth0" ct direction reply ct mark %#x meta mark set %#x
	}
}
`, returnMark, returnMark, returnMark)
	file := filepath.Join(e.t.TempDir(), "node2.nft")
	if err := os.WriteFile(file, []byte(script), 0o644); err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.lab.Node2.Exec(context.Background(), "nft", "-f", file); err != nil {
		e.t.Fatalf("node-2 return path: %v", err)
	}
	for _, fam := range []int{4, 6} {
		gw := lanAddr(e.opts.Node.LAN, fam)
		if gw == "" {
			continue
		}
		e.ipBatch(e.lab.Node2, []string{
			fmt.Sprintf("rule add fwmark %#x lookup %d", returnMark, returnTable),
			fmt.Sprintf("route add default via %s dev eth0 table %d", gw, returnTable),
		}, fmt.Sprintf("-%d", fam))
	}
}

func routeLine(dst netip.Prefix, gw string) string {
	return fmt.Sprintf("route replace %s via %s dev eth0", dst.Masked(), gw)
}

func family(p netip.Prefix) int {
	if p.Addr().Is4() {
		return 4
	}
	return 6
}

// lanAddr returns the address of the given family among ps, or "".
func lanAddr(ps []netip.Prefix, fam int) string {
	for _, p := range ps {
		if family(p) == fam {
			return p.Addr().String()
		}
	}
	return ""
}

// onLink reports whether a is inside one of the LAN subnets in ps.
func onLink(ps []netip.Prefix, a netip.Addr) bool {
	return slices.ContainsFunc(ps, func(p netip.Prefix) bool { return p.Masked().Contains(a) })
}
