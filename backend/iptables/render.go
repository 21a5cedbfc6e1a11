package iptables

import (
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strconv"

	"github.com/svcnat/svcnat/synth"
)

// RenderOptions are the host facts the rendered text depends on.
type RenderOptions struct {
	// RandomFully adds --random-fully to MASQUERADE (iptables ≥ 1.6.2 and a
	// kernel that supports it); it avoids SNAT port collisions.
	RandomFully bool
}

// familyInfo holds what differs between iptables and ip6tables text.
type familyInfo struct {
	hostBits   int
	rejectWith string
	recentMask string
}

func infoFor(f synth.Family) familyInfo {
	if f == synth.IPv6 {
		return familyInfo{128, "icmp6-port-unreachable", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"}
	}
	return familyInfo{32, "icmp-port-unreachable", "255.255.255.255"}
}

// renderer turns one Ruleset into the chains of one family.
type renderer struct {
	rs   *synth.Ruleset
	opt  RenderOptions
	info familyInfo
	out  *rendered
	nat  table
	// dispatch holds, per destination address, the leaf rules' arguments
	// (without "-A CHAIN"), in the order the tracer tries them.
	dispatch map[netip.Addr][]string
	// nodePorts holds, per protocol and port, the NodePort leaf rules.
	nodePorts map[synth.Protocol]map[uint16][]string
	// commentOf is the ServicePort whose comment commentText holds.
	commentOf   *synth.ServicePort
	commentText string
	// capture, when set, collects the dispatch and NodePort rules of the
	// ServicePort being rendered for the cache instead.
	capture *spRender
}

// renderRuleset renders the chains of one family.
func renderRuleset(rs *synth.Ruleset, opt RenderOptions) (*rendered, error) {
	return renderRulesetCached(rs, opt, nil)
}

// renderRulesetCached renders the chains of one family, reusing and
// updating c (which may be nil) for the ServicePorts.
func renderRulesetCached(rs *synth.Ruleset, opt RenderOptions, c *renderCache) (*rendered, error) {
	r := &renderer{
		rs: rs, opt: opt, info: infoFor(rs.Family), out: newRendered(rs.Family),
		dispatch:  map[netip.Addr][]string{},
		nodePorts: map[synth.Protocol]map[uint16][]string{},
	}
	r.nat = r.out.tables["nat"]
	for _, name := range tableNames {
		r.out.jumps[name] = jumpLines(name)
	}
	r.fixedChains()
	if err := r.servicePorts(c); err != nil {
		return nil, err
	}
	r.finishDispatch()
	return r.out, nil
}

// fixedChains are the chains every family has, whatever the Services.
func (r *renderer) fixedChains() {
	nat := r.nat
	nat.declare(chainServices)
	nat.declare(chainNodePorts)
	nat.add(chainMarkMasq, "-j MARK --set-xmark", markMasq+"/"+markMasq)
	// ACCEPT ends the nat traversal: the packet is neither DNATed nor
	// looked at again; SVCNAT-FILTER then drops or rejects it.
	nat.add(chainMarkDrop, "-j MARK --set-xmark", markDrop+"/"+markMask)
	nat.add(chainMarkDrop, "-j ACCEPT")
	nat.add(chainMarkRej, "-j MARK --set-xmark", markReject+"/"+markMask)
	nat.add(chainMarkRej, "-j ACCEPT")
	nat.add(chainPostrout, "-m mark ! --mark", markMasq+"/"+markMask, "-j RETURN")
	// Clear the bit (xor) so it does not leak into encapsulated packets.
	nat.add(chainPostrout, "-j MARK --set-xmark", markMasq+"/0x0")
	if r.opt.RandomFully {
		nat.add(chainPostrout, "-j MASQUERADE --random-fully")
	} else {
		nat.add(chainPostrout, "-j MASQUERADE")
	}
	if pods := podMatches(r.rs); len(pods) > 0 && !r.rs.MasqueradeAll {
		for _, m := range pods {
			nat.add(chainMasqOut, m+"-j RETURN")
		}
		nat.add(chainMasqOut, "-j", chainMarkMasq)
	}
	filter := r.out.tables["filter"]
	filter.add(chainFilter, "-m mark --mark", markDrop+"/"+markMask, "-j DROP")
	filter.add(chainFilter, "-m mark --mark", markReject+"/"+markMask, "-j REJECT --reject-with", r.info.rejectWith)
}

// servicePort renders the chains of one ServicePort and records its
// dispatch rules.
func (r *renderer) servicePort(sp *synth.ServicePort) error {
	if err := checkID("ID", sp.ID); err != nil {
		return err
	}
	if sp.Name.Protocol.Number() == 0 {
		return fmt.Errorf("unknown protocol %q", sp.Name.Protocol)
	}
	name := sp.Name.String()
	if sp.ClusterIP.IsValid() {
		r.addDispatch(sp.ClusterIP, sp, sp.Port, name+" cluster IP", r.internalTarget(sp))
	}
	if !sp.HasExternal() {
		return nil
	}
	ext := r.externalTarget(sp)
	lb := ext
	if len(sp.SourceRanges) > 0 && len(sp.LoadBalancerIPs) > 0 {
		lb = r.firewallChain(sp, ext)
	}
	for _, a := range sp.LoadBalancerIPs {
		r.addDispatch(a, sp, sp.Port, name+" loadbalancer IP", lb)
	}
	for _, a := range sp.ExternalIPs {
		r.addDispatch(a, sp, sp.Port, name+" external IP", ext)
	}
	if sp.NodePort != 0 {
		r.addNodePort(sp, name+" nodePort", ext)
	}
	return nil
}

// portMatch is "-p P -m P --dport N" in iptables-save order, around an
// optional comment (which iptables-save prints before the port match).
func portMatch(proto synth.Protocol, port string, comment string) string {
	p := string(proto)
	s := "-p " + p
	if comment != "" {
		s += " " + comment
	}
	return s + " -m " + p + " --dport " + port
}

func (r *renderer) addDispatch(a netip.Addr, sp *synth.ServicePort, port uint16, what, target string) {
	a = a.Unmap()
	rule := "-d " + r.host(a) + " " + portMatch(sp.Name.Protocol, strconv.Itoa(int(port)), comment(what)) + " -j " + target
	if r.capture != nil {
		r.capture.dispatch = append(r.capture.dispatch, addrRule{a, rule})
		return
	}
	r.dispatch[a] = append(r.dispatch[a], rule)
}

func (r *renderer) addNodePort(sp *synth.ServicePort, what, target string) {
	rule := portMatch(sp.Name.Protocol, strconv.Itoa(int(sp.NodePort)), comment(what)) + " -j " + target
	if r.capture != nil {
		r.capture.nodePorts = append(r.capture.nodePorts, portRule{sp.Name.Protocol, sp.NodePort, rule})
		return
	}
	r.nodePortRule(sp.Name.Protocol, sp.NodePort, rule)
}

func (r *renderer) host(a netip.Addr) string {
	return netip.PrefixFrom(a, r.info.hostBits).String()
}

// internalTarget is where traffic to the ClusterIP goes (SEMANTICS 1).
func (r *renderer) internalTarget(sp *synth.ServicePort) string {
	switch {
	case !sp.HasEndpoints():
		return chainMarkRej
	case len(sp.InternalEndpoints()) == 0:
		return chainMarkDrop
	}
	chain := svcChain(sp)
	if sp.InternalPolicyLocal {
		chain = svlChain(sp)
	}
	r.lbChain(chain, sp, sp.InternalEndpoints())
	// The masquerade decision for ClusterIP traffic sits at the top of the
	// chain, guarded by the ClusterIP match so that external traffic, which
	// shares the chain, is not affected.
	if masq := r.internalMasq(); masq != "" {
		guard := "-d " + r.host(sp.ClusterIP.Unmap()) + " " + portMatch(sp.Name.Protocol, strconv.Itoa(int(sp.Port)), "")
		r.nat[chain] = slices.Insert(r.nat[chain], 0, "-A "+chain+" "+guard+" -j "+masq)
	}
	return chain
}

// internalMasq is the chain that masquerades ClusterIP traffic, or "".
func (r *renderer) internalMasq() string {
	switch {
	case r.rs.MasqueradeAll:
		return chainMarkMasq
	case r.rs.DetectsPods():
		return chainMasqOut
	}
	return ""
}

// lbTarget is the chain that picks one of eps, or a drop when none is left.
func (r *renderer) lbTarget(chain string, sp *synth.ServicePort, eps []synth.Endpoint) string {
	if len(eps) == 0 {
		return chainMarkDrop
	}
	r.lbChain(chain, sp, eps)
	return chain
}

// lbChain fills chain (once) with the load-balancing rules over eps.
func (r *renderer) lbChain(chain string, sp *synth.ServicePort, eps []synth.Endpoint) {
	if _, done := r.nat[chain]; done {
		return
	}
	r.nat.declare(chain)
	if sp.AffinitySeconds > 0 {
		for _, ep := range eps {
			sep := sepChain(sp, ep)
			r.nat.add(chain, "-m recent --rcheck --seconds", strconv.Itoa(int(sp.AffinitySeconds)),
				"--reap --name", sep, "--mask", r.info.recentMask, "--rsource -j", sep)
		}
	}
	for i, ep := range eps {
		sep := r.endpointChain(sp, ep)
		if left := len(eps) - i; left > 1 {
			r.nat.add(chain, "-m statistic --mode random --probability", probability(left), "-j", sep)
		} else {
			r.nat.add(chain, "-j", sep)
		}
	}
}

// probability is 1/n as iptables-save prints it: the kernel keeps
// round(p·2^31) and iptables prints that back with 11 decimals. Rendering
// the printed form keeps rendered and saved rules byte-identical.
func probability(n int) string {
	u := math.Round(float64(0x80000000) / float64(n))
	return strconv.FormatFloat(u/float64(0x80000000), 'f', 11, 64)
}

// endpointChain renders (once) the chain of one endpoint.
func (r *renderer) endpointChain(sp *synth.ServicePort, ep synth.Endpoint) string {
	sep := sepChain(sp, ep)
	if _, done := r.nat[sep]; done {
		return sep
	}
	// Hairpin: a pod reaching itself through the Service must see a
	// source other than its own address, or it would answer itself.
	r.nat.add(sep, "-s", r.host(ep.Addr.Unmap()), "-j", chainMarkMasq)
	rule := "-p " + string(sp.Name.Protocol) + " " + r.serviceComment(sp)
	if sp.AffinitySeconds > 0 {
		rule += " -m recent --set --name " + sep + " --mask " + r.info.recentMask + " --rsource"
	}
	ap := netip.AddrPortFrom(ep.Addr.Unmap(), ep.Port)
	r.nat.add(sep, rule, "-j DNAT --to-destination", ap.String())
	return sep
}

// serviceComment is comment(sp.Name), computed once per ServicePort
// rather than once per endpoint.
func (r *renderer) serviceComment(sp *synth.ServicePort) string {
	if r.commentOf != sp {
		r.commentOf, r.commentText = sp, comment(sp.Name.String())
	}
	return r.commentText
}

// externalTarget is where traffic to NodePorts, external IPs and
// load-balancer IPs goes (SEMANTICS 2, after source ranges).
func (r *renderer) externalTarget(sp *synth.ServicePort) string {
	if !sp.HasEndpoints() {
		return chainMarkRej
	}
	chain := extChain(sp)
	if !sp.ExternalPolicyLocal {
		r.nat.add(chain, "-j", chainMarkMasq)
		r.nat.add(chain, "-j", r.lbTarget(svcChain(sp), sp, sp.ClusterEndpoints))
		return chain
	}
	if r.rs.MasqueradeAll {
		r.nat.add(chain, "-j", chainMarkMasq)
	}
	cluster := r.lbTarget(svcChain(sp), sp, sp.ClusterEndpoints)
	// Pods reaching an externalTrafficPolicy Local service are treated as
	// cluster traffic (their source is kept).
	for _, m := range podMatches(r.rs) {
		r.nat.add(chain, m+"-j", cluster)
	}
	// So is the node itself, but masqueraded: its source address would not
	// route back from another node's pod.
	r.nat.add(chain, "-m addrtype --src-type LOCAL -j", chainMarkMasq)
	r.nat.add(chain, "-m addrtype --src-type LOCAL -j", cluster)
	r.nat.add(chain, "-j", r.lbTarget(svlChain(sp), sp, sp.LocalEndpoints))
	return chain
}

// firewallChain applies loadBalancerSourceRanges before next.
func (r *renderer) firewallChain(sp *synth.ServicePort, next string) string {
	chain := fwChain(sp)
	for _, p := range sp.SourceRanges {
		r.nat.add(chain, srcMatch(p)+"-j", next)
	}
	r.nat.add(chain, "-j", chainMarkDrop)
	return chain
}

// podMatches are the matches of pod traffic, any one of which is enough,
// each with a trailing space: "-i cbr0 ", "-i veth+ ", or one "-s CIDR "
// per pod CIDR. None when the Ruleset does not tell pod traffic apart. The
// interface takes precedence, as in synth.Ruleset.IsPodTraffic.
func podMatches(rs *synth.Ruleset) []string {
	if m := rs.PodInterface; m.IsSet() {
		name := m.Name
		if m.Prefix {
			name += "+"
		}
		return []string{"-i " + name + " "}
	}
	out := make([]string, 0, len(rs.ClusterCIDRs))
	for _, c := range rs.ClusterCIDRs {
		out = append(out, srcMatch(c))
	}
	return out
}

// srcMatch is "-s PREFIX " as iptables-save prints it: a /0 match is
// not printed at all.
func srcMatch(p netip.Prefix) string {
	if p.Bits() == 0 {
		return ""
	}
	return "-s " + p.Masked().String() + " "
}
