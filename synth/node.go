package synth

import (
	"net/netip"
	"slices"

	corev1 "k8s.io/api/core/v1"
)

const zoneLabel = "topology.kubernetes.io/zone"

// nodeFacts are the resolved facts about this node.
type nodeFacts struct {
	name string
	zone string
	ips  []netip.Addr
	// podCIDRs are this node's pod ranges (NodeCIDR mode only).
	podCIDRs []netip.Prefix
	// primary holds the primary IP of each family that has one
	// (Config.NodePortPrimary only).
	primary []netip.Addr
}

// resolveNode fills in what Config leaves out from the Node object named
// cfg.NodeName, if the input carries it.
func resolveNode(in Input, cfg Config) nodeFacts {
	nf := nodeFacts{name: cfg.NodeName, zone: cfg.NodeZone, ips: cfg.NodeIPs}
	node := findNode(in.Nodes, cfg.NodeName)
	if node != nil && nf.zone == "" {
		nf.zone = node.Labels[zoneLabel]
	}
	if node != nil && len(nf.ips) == 0 {
		nf.ips = nodeAddrs(node, corev1.NodeInternalIP, corev1.NodeExternalIP)
	}
	// A primary IP set in Config (kube-proxy's bindAddress) is the node's
	// own address even when NodeIPs or the Node object do not list it.
	for _, a := range cfg.PrimaryNodeIPs {
		if !slices.Contains(nf.ips, a) {
			nf.ips = append(slices.Clip(nf.ips), a)
		}
	}
	if cfg.LocalDetect == LocalDetectNodeCIDR {
		nf.podCIDRs = cfg.NodePodCIDRs
		if len(nf.podCIDRs) == 0 && node != nil {
			nf.podCIDRs = nodePodCIDRs(node)
		}
	}
	if cfg.NodePortPrimary {
		nf.primary = primaryIPs(cfg, node)
	}
	return nf
}

// nodeAddrs returns the Node's addresses of the given types, in that
// order of types, each type in the Node's order.
func nodeAddrs(node *corev1.Node, types ...corev1.NodeAddressType) []netip.Addr {
	var out []netip.Addr
	for _, typ := range types {
		for _, a := range node.Status.Addresses {
			if a.Type != typ {
				continue
			}
			if ip, err := ParseAddrSloppy(a.Address); err == nil {
				out = append(out, ip)
			}
		}
	}
	return out
}

// primaryIPs picks, per family, kube-proxy's primary node IP: the first of
// Config.PrimaryNodeIPs, else the first of Config.NodeIPs, else the Node
// object's first InternalIP, else its first ExternalIP. Loopback is never
// primary (kube-proxy then has no address to pin NodePorts to).
func primaryIPs(cfg Config, node *corev1.Node) []netip.Addr {
	var fromNode []netip.Addr
	if node != nil {
		fromNode = nodeAddrs(node, corev1.NodeInternalIP, corev1.NodeExternalIP)
	}
	var out []netip.Addr
	for _, f := range []Family{IPv4, IPv6} {
		for _, list := range [][]netip.Addr{cfg.PrimaryNodeIPs, cfg.NodeIPs, fromNode} {
			if a, ok := firstOfFamily(list, f); ok {
				out = append(out, a)
				break
			}
		}
	}
	return out
}

func firstOfFamily(addrs []netip.Addr, f Family) (netip.Addr, bool) {
	for _, a := range addrs {
		a = a.Unmap()
		if a.IsValid() && FamilyOf(a) == f && !a.IsLoopback() && !a.IsUnspecified() {
			return a, true
		}
	}
	return netip.Addr{}, false
}

func findNode(nodes []*corev1.Node, name string) *corev1.Node {
	for _, n := range nodes {
		if n != nil && name != "" && n.Name == name {
			return n
		}
	}
	return nil
}

// familyAddrs keeps the non-loopback addresses of family f.
func familyAddrs(addrs []netip.Addr, f Family) []netip.Addr {
	var out []netip.Addr
	for _, a := range addrs {
		a = a.Unmap()
		if FamilyOf(a) == f && !a.IsLoopback() && a.IsValid() {
			out = append(out, a)
		}
	}
	return sortAddrs(out)
}

func familyPrefixes(ps []netip.Prefix, f Family) []netip.Prefix {
	var out []netip.Prefix
	for _, p := range ps {
		if FamilyOf(p.Addr()) == f {
			out = append(out, p.Masked())
		}
	}
	return sortPrefixes(out)
}

// nodePortAddrs are the node IPs of family f that NodePorts answer on.
// Loopback is never included (CVE-2020-8558). A restriction without a CIDR
// of family f does not restrict f. The primary IPs (NodePortPrimary) count
// as one-address CIDRs of the restriction, as kube-proxy expands its
// "primary" keyword.
func nodePortAddrs(ips []netip.Addr, restrict []netip.Prefix, primary []netip.Addr, f Family) []netip.Addr {
	all := familyAddrs(ips, f)
	restrict = familyPrefixes(restrict, f)
	for _, a := range primary {
		if FamilyOf(a) == f {
			restrict = append(restrict, netip.PrefixFrom(a, a.BitLen()))
		}
	}
	if len(restrict) == 0 { // like kube-proxy: no CIDR of this family means all
		return all
	}
	var out []netip.Addr
	for _, a := range all {
		if prefixesContain(restrict, a) {
			out = append(out, a)
		}
	}
	return out
}
