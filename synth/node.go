package synth

import (
	"net/netip"

	corev1 "k8s.io/api/core/v1"
)

const zoneLabel = "topology.kubernetes.io/zone"

// nodeFacts are the resolved facts about this node.
type nodeFacts struct {
	name string
	zone string
	ips  []netip.Addr
}

// resolveNode fills in what Config leaves out from the Node object named
// cfg.NodeName, if the input carries it.
func resolveNode(in Input, cfg Config) nodeFacts {
	nf := nodeFacts{name: cfg.NodeName, zone: cfg.NodeZone, ips: cfg.NodeIPs}
	node := findNode(in.Nodes, cfg.NodeName)
	if node == nil {
		return nf
	}
	if nf.zone == "" {
		nf.zone = node.Labels[zoneLabel]
	}
	if len(nf.ips) == 0 {
		for _, a := range node.Status.Addresses {
			if a.Type != corev1.NodeInternalIP && a.Type != corev1.NodeExternalIP {
				continue
			}
			if ip, err := ParseAddrSloppy(a.Address); err == nil {
				nf.ips = append(nf.ips, ip)
			}
		}
	}
	return nf
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
// of family f does not restrict f.
func nodePortAddrs(ips []netip.Addr, restrict []netip.Prefix, f Family) []netip.Addr {
	all := familyAddrs(ips, f)
	restrict = familyPrefixes(restrict, f)
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
