package iptables

import (
	"math"
	"net/netip"
	"testing"

	"github.com/svcnat/svcnat/synth"
)

// worstDispatch returns the most rules any probed packet evaluates in the
// nat table before its verdict (the longest statistic branch counts).
// Probes: every ClusterIP, LB IP and NodePort with the right and a wrong
// port, plus misses in and outside the service range.
func worstDispatch(t testing.TB, rs *synth.Ruleset) int {
	sm := simFor(t, rs)
	src := mustAddr("8.8.8.8")
	var probes []netip.AddrPort
	for _, sp := range rs.Services {
		probes = append(probes, netip.AddrPortFrom(sp.ClusterIP, sp.Port), netip.AddrPortFrom(sp.ClusterIP, 1))
		for _, a := range sp.LoadBalancerIPs {
			probes = append(probes, netip.AddrPortFrom(a, sp.Port), netip.AddrPortFrom(a, 1))
		}
		if sp.NodePort != 0 {
			probes = append(probes, netip.AddrPortFrom(rs.NodePortAddrs[0], sp.NodePort))
		}
	}
	probes = append(probes, netip.MustParseAddrPort("10.96.255.254:80"), netip.MustParseAddrPort("1.2.3.4:80"),
		netip.AddrPortFrom(rs.NodePortAddrs[0], 22))
	worst := 0
	for _, dst := range probes {
		for _, o := range sm.run(chainServices, 0, simPacket{src: src, proto: "tcp", dst: dst}, simOutcome{}, 0) {
			worst = max(worst, o.rules)
		}
	}
	return worst
}

// TestDispatchIsLogarithmic renders 10 … 10,000 Services and checks that
// the worst number of rules a new connection meets grows with log n, not
// with n as in kube-proxy's linear KUBE-SERVICES chain.
func TestDispatchIsLogarithmic(t *testing.T) {
	sizes := []int{10, 100, 1000, 10000}
	if testing.Short() {
		sizes = []int{10, 1000}
	}
	worst := map[int]int{}
	for _, n := range sizes {
		worst[n] = worstDispatch(t, genRuleset(n, 10, 1))
		t.Logf("%6d services: worst case %d rules", n, worst[n])
	}
	for _, n := range sizes {
		// ≤ one full level (16 siblings + the matched rules of a leaf, ≈ 60)
		// per factor 16: a linear layout would need ≥ n rules.
		bound := 60 * (1 + math.Log(float64(n))/math.Log(16))
		if float64(worst[n]) > bound {
			t.Errorf("%d services: %d rules, want ≤ %.0f", n, worst[n], bound)
		}
	}
	if w := worst[sizes[len(sizes)-1]]; w >= 4*worst[10] {
		t.Errorf("worst case grew from %d (10 services) to %d: not logarithmic", worst[10], w)
	}
}
