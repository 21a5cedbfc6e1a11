package synth

import (
	"fmt"
	"net/netip"
	"slices"
)

// Verdict is what happens to a traced packet.
type Verdict string

const (
	VerdictDNAT   Verdict = "DNAT"
	VerdictReject Verdict = "REJECT"
	VerdictDrop   Verdict = "DROP"
	// VerdictAccept means no svcnat rule matched: the packet goes on untouched.
	VerdictAccept Verdict = "ACCEPT"
)

// Packet is the first packet of a connection, as the tracer sees it.
type Packet struct {
	Src   netip.Addr
	Proto Protocol
	Dst   netip.AddrPort
	// InIface is the interface the packet comes in by, "" for a packet the
	// node sends itself. Only a Ruleset with PodInterface looks at it.
	InIface string
}

// Trace is the outcome of tracing a Packet through a Ruleset.
type Trace struct {
	Verdict Verdict
	// Service is the matched service port, if any.
	Service *ServicePortName
	// Endpoints are the possible DNAT targets, sorted.
	Endpoints []netip.AddrPort
	// Masquerade reports whether the source is rewritten to the node's
	// address for every chosen endpoint.
	Masquerade bool
	// Hairpin reports that the source is itself one of the endpoints and
	// is masqueraded when that endpoint is chosen.
	Hairpin bool
	// Path lists the decisions taken, in order.
	Path []string
}

func (t *Trace) step(format string, args ...any) {
	t.Path = append(t.Path, fmt.Sprintf(format, args...))
}

// Trace follows docs/SEMANTICS.md for one packet.
func (rs *Ruleset) Trace(p Packet) Trace {
	var t Trace
	dst := p.Dst.Addr().Unmap()
	port := p.Dst.Port()
	for i := range rs.Services {
		sp := rs.Services[i]
		if sp.Name.Protocol != p.Proto {
			continue
		}
		if dst == sp.ClusterIP && port == sp.Port {
			t.Service = &sp.Name
			t.step("matched ClusterIP %s of %s", p.Dst, sp.Name)
			rs.traceInternal(sp, p, &t)
			return t
		}
		if kind := rs.externalKind(sp, dst, port); kind != "" {
			t.Service = &sp.Name
			t.step("matched %s %s of %s", kind, p.Dst, sp.Name)
			rs.traceExternal(sp, kind, p, &t)
			return t
		}
	}
	switch {
	case slices.Contains(rs.ClusterIPs, dst):
		t.Verdict = VerdictReject
		t.step("%s is a ClusterIP but no Service serves %s port %d: reject", dst, p.Proto, port)
	case prefixesContain(rs.ServiceCIDRs, dst):
		t.Verdict = VerdictDrop
		t.step("%s is in the service range but not allocated: drop", dst)
	default:
		t.Verdict = VerdictAccept
		t.step("no svcnat rule matches")
	}
	return t
}

// externalKind names the external entry point of sp that (dst, port) hits, or "".
func (rs *Ruleset) externalKind(sp *ServicePort, dst netip.Addr, port uint16) string {
	switch {
	case sp.NodePort != 0 && port == sp.NodePort && slices.Contains(rs.NodePortAddrs, dst):
		return "NodePort"
	case port != sp.Port:
		return ""
	case slices.Contains(sp.LoadBalancerIPs, dst):
		return "LoadBalancer IP"
	case slices.Contains(sp.ExternalIPs, dst):
		return "external IP"
	}
	return ""
}

func (rs *Ruleset) traceInternal(sp *ServicePort, p Packet, t *Trace) {
	if !sp.HasEndpoints() {
		t.Verdict = VerdictReject
		t.step("no endpoints: reject")
		return
	}
	eps := sp.InternalEndpoints()
	if len(eps) == 0 {
		t.Verdict = VerdictDrop
		t.step("internalTrafficPolicy Local and no local endpoints: drop")
		return
	}
	switch {
	case rs.MasqueradeAll:
		t.Masquerade = true
		t.step("masquerade-all: masquerade")
	case rs.DetectsPods() && !rs.IsPodTraffic(p):
		t.Masquerade = true
		t.step("%s is not pod traffic (%s): masquerade", rs.describeSource(p), rs.podRule())
	}
	t.dnat(sp, eps, p, "internal")
}

func (rs *Ruleset) traceExternal(sp *ServicePort, kind string, p Packet, t *Trace) {
	src := p.Src.Unmap()
	if kind == "LoadBalancer IP" && len(sp.SourceRanges) > 0 && !prefixesContain(sp.SourceRanges, src) {
		t.Verdict = VerdictDrop
		t.step("source %s is outside loadBalancerSourceRanges: drop", p.Src)
		return
	}
	if !sp.HasEndpoints() {
		t.Verdict = VerdictReject
		t.step("no endpoints: reject")
		return
	}
	if !sp.ExternalPolicyLocal {
		t.Masquerade = true
		t.step("externalTrafficPolicy Cluster: masquerade")
		t.dnat(sp, sp.ClusterEndpoints, p, "cluster")
		return
	}
	switch {
	case rs.DetectsPods() && rs.IsPodTraffic(p):
		t.step("%s is pod traffic (%s): treated as cluster traffic", rs.describeSource(p), rs.podRule())
		t.Masquerade = rs.MasqueradeAll
		t.dnat(sp, sp.ClusterEndpoints, p, "cluster")
	case rs.isNodeSource(src):
		t.step("source %s is this node: treated as cluster traffic, masquerade", p.Src)
		t.Masquerade = true
		t.dnat(sp, sp.ClusterEndpoints, p, "cluster")
	case len(sp.LocalEndpoints) == 0:
		t.Verdict = VerdictDrop
		t.step("externalTrafficPolicy Local and no local endpoints: drop")
	default:
		t.step("externalTrafficPolicy Local: source kept")
		t.Masquerade = rs.MasqueradeAll
		t.dnat(sp, sp.LocalEndpoints, p, "local")
	}
}

func (rs *Ruleset) isNodeSource(src netip.Addr) bool {
	return src.IsLoopback() || slices.Contains(rs.NodeIPs, src)
}

func (t *Trace) dnat(sp *ServicePort, eps []Endpoint, p Packet, policy string) {
	t.Verdict = VerdictDNAT
	self := 0 // endpoints whose address is the source's
	for _, ep := range eps {
		t.Endpoints = append(t.Endpoints, ep.AddrPort())
		if ep.Addr == p.Src.Unmap() {
			self++
		}
	}
	slices.SortFunc(t.Endpoints, netip.AddrPort.Compare)
	if sp.AffinitySeconds > 0 {
		t.step("sessionAffinity ClientIP: the same endpoint for %ds", sp.AffinitySeconds)
	}
	switch {
	case self == 0 || t.Masquerade:
	case self == len(eps):
		// Every choice lands on the source itself: the hairpin rule
		// masquerades every packet, which is what Masquerade means.
		t.Masquerade = true
		t.step("every endpoint is the source itself: masquerade (hairpin)")
	default:
		t.Hairpin = true
		t.step("source is an endpoint: masqueraded when it reaches itself")
	}
	t.step("DNAT to one of %d %s endpoints", len(eps), policy)
}

func prefixesContain(ps []netip.Prefix, a netip.Addr) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
