package netns

import (
	"fmt"
	"net/netip"
)

// buildTopology creates the LAN, the client and both nodes and wires them:
//
//	client eth0 ──┐
//	node   eth0 ──┼── br0 (in LAN)
//	node2  eth0 ──┘
func (l *Lab) buildTopology() error {
	o := l.opts
	var err error
	if l.LAN, err = l.newHost("lan", nil, nil); err != nil {
		return err
	}
	if l.Client, err = l.newHost("client", addrsOf(o.Client), clientSysctls); err != nil {
		return err
	}
	if l.Node, err = l.newHost("node", addrsOf(o.Node.LAN), routerSysctls); err != nil {
		return err
	}
	if l.Node2, err = l.newHost("node2", addrsOf(o.Node2.LAN), routerSysctls); err != nil {
		return err
	}
	if err := ipBatch(l.LAN.name, l.lanLines()); err != nil {
		return err
	}
	if err := ipBatch(l.Client.name, l.clientLines()); err != nil {
		return err
	}
	if err := ipBatch(l.Node.name, nodeLines(o.Node, o.Node2, o)); err != nil {
		return err
	}
	return ipBatch(l.Node2.name, nodeLines(o.Node2, o.Node, o))
}

// lanLines create the bridge and one veth port per LAN member; the other end
// of each veth is created directly in the member's namespace as eth0, so no
// interface ever appears in the root namespace. Multicast snooping is off so
// that IPv6 neighbour discovery is simply flooded.
func (l *Lab) lanLines() []string {
	lines := []string{
		"link set lo up",
		"link add br0 type bridge mcast_snooping 0",
		"link set br0 up",
	}
	ports := []struct {
		port string
		host *Host
	}{{"client", l.Client}, {"node", l.Node}, {"node2", l.Node2}}
	for _, p := range ports {
		lines = append(lines,
			fmt.Sprintf("link add %s type veth peer name eth0 netns %s", p.port, p.host.name),
			fmt.Sprintf("link set %s master br0", p.port),
			fmt.Sprintf("link set %s up", p.port))
	}
	return lines
}

// lanHostLines bring up lo and eth0 with the given addresses.
func lanHostLines(addrs []netip.Prefix) []string {
	lines := []string{"link set lo up", "link set eth0 up"}
	for _, p := range addrs {
		lines = append(lines, addrLine(p, "eth0"))
	}
	return lines
}

func addrLine(p netip.Prefix, dev string) string {
	if familyOf(p.Addr()) == 6 {
		return fmt.Sprintf("addr add %s dev %s nodad", p, dev)
	}
	return fmt.Sprintf("addr add %s dev %s", p, dev)
}

// clientLines route service and pod CIDRs via Node, as an external router would.
func (l *Lab) clientLines() []string {
	o := l.opts
	lines := lanHostLines(o.Client)
	var dsts []netip.Prefix
	dsts = append(dsts, o.ServiceCIDRs...)
	dsts = append(dsts, o.Node.PodCIDRs...)
	dsts = append(dsts, o.Node2.PodCIDRs...)
	return append(lines, routesVia(dsts, o.Node.LAN)...)
}

// nodeLines configure a node: the peer node's pod CIDRs are routed via the
// peer, and service CIDRs via the client. The latter stands for the node's
// default route: a locally generated packet needs a route before netfilter
// can DNAT it, and a packet that is not DNATed reaches the client, which does
// not forward, and is dropped silently.
func nodeLines(self, peer NodeOptions, o Options) []string {
	lines := lanHostLines(self.LAN)
	if self.PodBridge != "" {
		lines = append(lines, bridgeLines(self.PodBridge)...)
	}
	lines = append(lines, routesVia(peer.PodCIDRs, peer.LAN)...)
	return append(lines, routesVia(o.ServiceCIDRs, o.Client)...)
}

// routesVia returns one "route add" per destination, via the gateway of the
// same IP family; destinations without such a gateway are skipped.
func routesVia(dsts, gateways []netip.Prefix) []string {
	var lines []string
	for _, dst := range dsts {
		gw, ok := addrOf(gateways, familyOf(dst.Addr()))
		if !ok {
			continue
		}
		lines = append(lines, fmt.Sprintf("route add %s via %s dev eth0", dst.Masked(), gw))
	}
	return lines
}
