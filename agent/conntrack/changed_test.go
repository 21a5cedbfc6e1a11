package conntrack

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/svcnat/svcnat/synth"
)

// TestChangesOfMatchesChanges: over random sequences of port changes
// (endpoints moved, added, removed, ports gone and new, policies flipped),
// the flows computed from the change list alone equal those of the full
// comparison. The change list names every changed port plus some
// unchanged ones, as synth.Builder may.
func TestChangesOfMatchesChanges(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	cur := []*synth.Ruleset{randomRuleset(rng, synth.IPv4), randomRuleset(rng, synth.IPv6)}
	nonEmpty := 0
	for step := range 500 {
		next, changed := mutateRulesets(rng, cur)
		want, got := Changes(cur, next), ChangesOf(cur, next, changed)
		if !slices.Equal(want, got) {
			diff := cmp.Diff(fmt.Sprint(want), fmt.Sprint(got))
			t.Fatalf("step %d: ChangesOf differs from Changes (-want +got):\n%s", step, diff)
		}
		if len(want) > 0 {
			nonEmpty++
		}
		cur = next
	}
	if nonEmpty < 100 {
		t.Errorf("only %d of 500 steps had flows to delete; the test changes too little", nonEmpty)
	}
	if got, want := ChangesOf(nil, cur, &synth.Changes{}), Changes(nil, cur); !slices.Equal(got, want) {
		t.Errorf("ChangesOf without an old state: %d flows, Changes: %d", len(got), len(want))
	}
}

var protos = []synth.Protocol{synth.UDP, synth.SCTP, synth.TCP}

func randomRuleset(rng *rand.Rand, f synth.Family) *synth.Ruleset {
	rs := &synth.Ruleset{Family: f}
	for i := range 30 {
		sp := randomPort(rng, f, i)
		rs.Services = append(rs.Services, &sp)
	}
	sortPorts(rs.Services)
	return rs
}

func randomPort(rng *rand.Rand, f synth.Family, i int) synth.ServicePort {
	sp := synth.ServicePort{
		Name:      synth.ServicePortName{Namespace: "ns", Name: fmt.Sprintf("svc-%02d", i), Port: "p", Protocol: protos[i%3]},
		ClusterIP: addr(f, 96, i), Port: 53,
	}
	if rng.IntN(3) == 0 {
		sp.NodePort = uint16(30000 + i)
	}
	if rng.IntN(4) == 0 {
		sp.ExternalIPs = []netip.Addr{addr(f, 200, i)}
	}
	randomEndpoints(rng, f, &sp)
	return sp
}

func randomEndpoints(rng *rand.Rand, f synth.Family, sp *synth.ServicePort) {
	sp.ClusterEndpoints, sp.LocalEndpoints = nil, nil
	sp.InternalPolicyLocal, sp.ExternalPolicyLocal = rng.IntN(4) == 0, rng.IntN(4) == 0
	for range rng.IntN(4) {
		ep := synth.Endpoint{Addr: addr(f, 244, rng.IntN(6)), Port: 53, Local: rng.IntN(2) == 0}
		if !slices.ContainsFunc(sp.ClusterEndpoints, func(e synth.Endpoint) bool { return e.Addr == ep.Addr }) {
			sp.ClusterEndpoints = append(sp.ClusterEndpoints, ep)
			if ep.Local {
				sp.LocalEndpoints = append(sp.LocalEndpoints, ep)
			}
		}
	}
}

func addr(f synth.Family, a, i int) netip.Addr {
	if f == synth.IPv6 {
		return netip.AddrFrom16([16]byte{0xfd, byte(a), 15: byte(i + 1)})
	}
	return netip.AddrFrom4([4]byte{10, byte(a), 0, byte(i + 1)})
}

func sortPorts(ps []*synth.ServicePort) {
	slices.SortFunc(ps, func(a, b *synth.ServicePort) int { return a.Name.Compare(b.Name) })
}

// mutateRulesets returns new rulesets with a few ports changed, gone or
// new, and the change list naming them (and a few unchanged ones).
func mutateRulesets(rng *rand.Rand, cur []*synth.Ruleset) ([]*synth.Ruleset, *synth.Changes) {
	ch := &synth.Changes{Ports: map[synth.Family][]synth.ServicePortName{}}
	var out []*synth.Ruleset
	for _, rs := range cur {
		n := *rs
		n.Services = slices.Clone(rs.Services)
		for range 1 + rng.IntN(3) {
			i := rng.IntN(40)
			name := synth.ServicePortName{Namespace: "ns", Name: fmt.Sprintf("svc-%02d", i), Port: "p", Protocol: protos[i%3]}
			ch.Ports[n.Family] = append(ch.Ports[n.Family], name)
			at := slices.IndexFunc(n.Services, func(sp *synth.ServicePort) bool { return sp.Name == name })
			switch {
			case at < 0:
				sp := randomPort(rng, n.Family, i)
				n.Services = append(n.Services, &sp)
				sortPorts(n.Services)
			case rng.IntN(4) == 0:
				n.Services = slices.Delete(n.Services, at, at+1)
			case rng.IntN(3) == 0: // named, not changed
			default:
				sp := n.Services[at].Clone()
				randomEndpoints(rng, n.Family, &sp)
				n.Services[at] = &sp
			}
		}
		out = append(out, &n)
	}
	return out, ch
}
