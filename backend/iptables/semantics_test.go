package iptables

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/svcnat/svcnat/internal/scenario"
	"github.com/svcnat/svcnat/synth"
)

func simFor(t testing.TB, rs *synth.Ruleset) *sim {
	t.Helper()
	r, err := renderRuleset(rs, goldenOpts)
	if err != nil {
		t.Fatal(err)
	}
	return newSim(r.tables["nat"], func(a netip.Addr) bool {
		return a.IsLoopback() || slices.Contains(rs.NodeIPs, a)
	})
}

// TestScenarioFlowsRendered checks every scenario's packet-flow table
// against the rendered rules (evaluated by sim), like synth checks it
// against the tracer.
func TestScenarioFlowsRendered(t *testing.T) {
	for _, s := range scenario.All(t) {
		t.Run(s.Name, func(t *testing.T) { checkScenarioFlows(t, s) })
	}
}

func checkScenarioFlows(t *testing.T, s *scenario.Scenario) {
	res := synth.Build(s.Input, s.Config)
	sims := map[synth.Family]*sim{}
	for _, rs := range res.Rulesets() {
		if rs != nil {
			sims[rs.Family] = simFor(t, rs)
		}
	}
	for _, f := range s.Flows {
		p := f.Packet()
		if err := scenario.CheckTrace(f, res.Ruleset(synth.FamilyOf(f.Dst.Addr())).Trace(p)); err != nil {
			// The table disagrees with the tracer itself: the scenario's
			// problem, reported by synth's own test.
			t.Logf("flows.txt:%d: skipped, the tracer disagrees too: %v", f.Line, err)
			continue
		}
		tr := sims[synth.FamilyOf(f.Dst.Addr())].trace(simPacket{f.Src.Unmap(), string(f.Proto), f.Dst, f.InIface})
		if err := scenario.CheckTrace(f, tr); err != nil {
			t.Errorf("flows.txt:%d %s: %v", f.Line, f, err)
		}
	}
}

// TestRenderedAgreesWithTracer compares the rendered rules with the
// tracer on every combination of interesting source, destination,
// protocol and port of the hand-built ruleset and a generated one.
func TestRenderedAgreesWithTracer(t *testing.T) {
	bridge, prefix := handRuleset(), handRuleset()
	bridge.ClusterCIDRs, bridge.PodInterface = nil, synth.InterfaceMatch{Name: "cbr0"}
	prefix.ClusterCIDRs, prefix.PodInterface = nil, synth.InterfaceMatch{Name: "veth", Prefix: true}
	for _, rs := range []*synth.Ruleset{handRuleset(), genRuleset(300, 2, 1), bridge, prefix} {
		iifs := []string{""}
		if rs.PodInterface.IsSet() {
			// none (the node's own packets), the bridge, another bridge,
			// a pod veth, the LAN
			iifs = []string{"", "cbr0", "cbr1", "veth7", "eth0"}
		}
		sm := simFor(t, rs)
		srcs, dsts, ports := probeSet(rs)
		n := 0
		for _, src := range srcs {
			for _, dst := range dsts {
				for _, port := range ports {
					for _, proto := range []synth.Protocol{synth.TCP, synth.UDP, synth.SCTP} {
						for _, iif := range iifs {
							p := synth.Packet{Src: src, Proto: proto, Dst: netip.AddrPortFrom(dst, port), InIface: iif}
							want := rs.Trace(p)
							got := sm.trace(simPacket{src: src, proto: string(proto), dst: p.Dst, iif: iif})
							if d := traceDiff(want, got); d != "" {
								t.Fatalf("%s %s %s iif %q: %s\ntracer path: %s", src, proto, p.Dst, iif, d, strings.Join(want.Path, "; "))
							}
							n++
						}
					}
				}
			}
		}
		t.Logf("%d packets agree", n)
	}
}

func traceDiff(want, got synth.Trace) string {
	switch {
	case want.Verdict != got.Verdict:
		return "verdict " + string(got.Verdict) + ", tracer " + string(want.Verdict)
	case want.Verdict != synth.VerdictDNAT:
		return ""
	case !slices.Equal(want.Endpoints, got.Endpoints):
		return "endpoints differ"
	case scenario.TraceMasq(want) != scenario.TraceMasq(got):
		return "masquerade " + scenario.TraceMasq(got) + ", tracer " + scenario.TraceMasq(want)
	}
	return ""
}

// probeSet lists sources, destinations and ports worth trying on rs.
func probeSet(rs *synth.Ruleset) (srcs, dsts []netip.Addr, ports []uint16) {
	srcs = []netip.Addr{mustAddr("8.8.8.8"), mustAddr("127.0.0.1"), mustAddr("198.51.100.9"), mustAddr("10.244.9.9")}
	srcs = append(srcs, rs.NodeIPs...)
	dsts = []netip.Addr{mustAddr("10.96.255.254"), mustAddr("1.2.3.4"), mustAddr("127.0.0.1")}
	dsts = append(append(dsts, rs.NodePortAddrs...), rs.ClusterIPs...)
	ports = []uint16{1, 65535}
	for i, sp := range rs.Services {
		if i > 20 { // enough of a generated ruleset
			break
		}
		dsts = append(append(dsts, sp.ExternalIPs...), sp.LoadBalancerIPs...)
		ports = append(ports, sp.Port, sp.NodePort)
		for _, ep := range sp.AllEndpoints()[:min(2, len(sp.AllEndpoints()))] {
			srcs = append(srcs, ep.Addr)
		}
	}
	slices.SortFunc(srcs, netip.Addr.Compare)
	slices.SortFunc(dsts, netip.Addr.Compare)
	slices.Sort(ports)
	return slices.Compact(srcs), slices.Compact(dsts), slices.Compact(ports)
}
