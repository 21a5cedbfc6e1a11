package synth

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"

	corev1 "k8s.io/api/core/v1"
)

// Build turns cluster state into one Ruleset per family. It never fails:
// whatever cannot be programmed is skipped and reported in Warnings.
func Build(in Input, cfg Config) Result {
	return buildFull(in, cfg)
}

func newRuleset(f Family, cfg Config, node nodeFacts) *Ruleset {
	local, _ := resolveLocalDetect(cfg, node) // reported by checkLocalDetect
	return &Ruleset{
		Family:        f,
		NodeIPs:       familyAddrs(node.ips, f),
		NodePortAddrs: nodePortAddrs(node.ips, cfg.NodePortAddresses, node.primary, f),
		ClusterCIDRs:  familyPrefixes(local.cidrs, f),
		PodInterface:  local.iface,
		ServiceCIDRs:  familyPrefixes(cfg.ServiceCIDRs, f),
		MasqueradeAll: cfg.MasqueradeAll,
	}
}

func olderFirst(a, b *corev1.Service) int {
	ta, tb := a.CreationTimestamp.Time, b.CreationTimestamp.Time
	return cmp.Or(ta.Compare(tb), cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
}

func (rs *Ruleset) servicePort(si *serviceInfo, pi portInfo, clusterIP netip.Addr) ServicePort {
	name := ServicePortName{Namespace: si.svc.Namespace, Name: si.svc.Name, Port: pi.name, Protocol: pi.proto}
	sp := ServicePort{
		Name:                name,
		ID:                  portID(name, rs.Family),
		ClusterIP:           clusterIP,
		Port:                pi.port,
		NodePort:            pi.nodePort,
		ExternalIPs:         sortAddrs(familyAddrs(si.externalIPs, rs.Family)),
		LoadBalancerIPs:     sortAddrs(familyAddrs(si.lbIPs, rs.Family)),
		InternalPolicyLocal: si.itpLocal,
		ExternalPolicyLocal: si.etpLocal,
		HealthCheckNodePort: si.hcNodePort,
		AffinitySeconds:     si.affinity,
	}
	sp.SourceRanges = rs.sourceRanges(si.ranges, sp.LoadBalancerIPs)
	return sp
}

// sourceRanges keeps the ranges of this family. When a node IP is inside
// them, the load-balancer IPs are allowed as sources too, so traffic that
// hairpins through the load balancer (source NATed to the LB IP) passes.
func (rs *Ruleset) sourceRanges(all []netip.Prefix, lbIPs []netip.Addr) []netip.Prefix {
	ranges := familyPrefixes(all, rs.Family)
	if len(ranges) == 0 || len(lbIPs) == 0 {
		return ranges
	}
	for _, ip := range rs.NodeIPs {
		if prefixesContain(ranges, ip) {
			for _, lb := range lbIPs {
				ranges = append(ranges, netip.PrefixFrom(lb, lb.BitLen()))
			}
			break
		}
	}
	return sortPrefixes(ranges)
}

// claimSet gives each (address, protocol, port) and (protocol, nodePort) to
// one service port only: two owners would make the kernel's maps ambiguous.
// The value is the owner's name, for the warning.
type claimSet map[claimKey]string

// claimKey is an entry point; addr is invalid for NodePorts.
type claimKey struct {
	addr  netip.Addr
	proto Protocol
	port  uint16
}

func (c claimSet) claim(sp *ServicePort, object string, w *warnings) bool {
	clusterKey := claimKey{sp.ClusterIP, sp.Name.Protocol, sp.Port}
	if owner, taken := c[clusterKey]; taken {
		w.add(object, "DuplicateClusterIPPort", "%s:%d/%s is already served by %s; the port is skipped",
			sp.ClusterIP, sp.Port, sp.Name.Protocol, owner)
		return false
	}
	c[clusterKey] = sp.Name.String()
	if sp.NodePort != 0 {
		key := claimKey{proto: sp.Name.Protocol, port: sp.NodePort}
		if owner, taken := c[key]; taken {
			w.add(object, "DuplicateNodePort", "nodePort %d/%s is already used by %s; the NodePort is skipped",
				sp.NodePort, sp.Name.Protocol, owner)
			sp.NodePort = 0
		} else {
			c[key] = sp.Name.String()
		}
	}
	sp.ExternalIPs = c.claimAddrs(sp, sp.ExternalIPs, object, w)
	sp.LoadBalancerIPs = c.claimAddrs(sp, sp.LoadBalancerIPs, object, w)
	return true
}

// claimAddrs returns the addresses of addrs sp may have: addrs itself when
// every one is free (so an unchanged port shares its candidate's slice),
// else a new slice of those left.
func (c claimSet) claimAddrs(sp *ServicePort, addrs []netip.Addr, object string, w *warnings) []netip.Addr {
	var kept []netip.Addr
	for i, a := range addrs {
		key := claimKey{a, sp.Name.Protocol, sp.Port}
		if owner, taken := c[key]; taken && owner != sp.Name.String() {
			w.add(object, "DuplicateExternalIPPort", "%s:%d/%s is already served by %s; skipped", a, sp.Port, sp.Name.Protocol, owner)
			if kept == nil {
				kept = append(make([]netip.Addr, 0, len(addrs)), addrs[:i]...)
			}
			continue
		}
		c[key] = sp.Name.String()
		if kept != nil {
			kept = append(kept, a)
		}
	}
	if kept == nil {
		return addrs
	}
	if len(kept) == 0 {
		return nil // as before: none left is nil
	}
	return kept
}

// warnings collects Warnings without duplicates.
type warnings struct {
	list []Warning
	seen map[Warning]bool
}

func (w *warnings) add(object, reason, format string, args ...any) {
	wn := Warning{Object: object, Reason: reason, Message: fmt.Sprintf(format, args...)}
	if w.seen == nil {
		w.seen = map[Warning]bool{}
	}
	if !w.seen[wn] {
		w.seen[wn] = true
		w.list = append(w.list, wn)
	}
}

func (w *warnings) sorted() []Warning {
	out := slices.Clone(w.list)
	slices.SortStableFunc(out, func(a, b Warning) int {
		return cmp.Or(cmp.Compare(a.Object, b.Object), cmp.Compare(a.Reason, b.Reason), cmp.Compare(a.Message, b.Message))
	})
	return out
}
