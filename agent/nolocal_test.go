package agent

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"

	"github.com/svcnat/svcnat/synth"
)

// randomPort is a service port of a random kind: Local policies or not,
// endpoints local, remote or none, with a node port or not.
func randomPort(rng *rand.Rand, name int) synth.ServicePort {
	sp := synth.ServicePort{
		Name:                synth.ServicePortName{Namespace: "ns", Name: fmt.Sprintf("s%02d", name), Port: "http"},
		InternalPolicyLocal: rng.IntN(2) == 0,
		ExternalPolicyLocal: rng.IntN(2) == 0,
	}
	if rng.IntN(2) == 0 {
		sp.NodePort = 30000
	}
	ep := synth.Endpoint{Addr: netip.MustParseAddr("10.244.0.5"), Port: 80}
	switch rng.IntN(3) {
	case 0:
		sp.ClusterEndpoints = []synth.Endpoint{ep}
	case 1:
		sp.ClusterEndpoints, sp.LocalEndpoints = []synth.Endpoint{ep}, []synth.Endpoint{ep}
	}
	return sp
}

// TestNoLocalTallyFollowsChanges: a tally updated from the named changes
// equals a count over every port, after each of many random changes
// (ports changed, added, removed; a name given twice).
func TestNoLocalTallyFollowsChanges(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	ports := map[int]synth.ServicePort{}
	for i := range 20 {
		ports[i] = randomPort(rng, i)
	}
	ruleset := func() *synth.Ruleset {
		rs := &synth.Ruleset{Family: synth.IPv4}
		for _, i := range slices.Sorted(func(yield func(int) bool) {
			for i := range ports {
				if !yield(i) {
					return
				}
			}
		}) {
			sp := ports[i]
			rs.Services = append(rs.Services, &sp)
		}
		return rs
	}
	prev := []*synth.Ruleset{ruleset(), nil}
	tally := noLocalTally{}
	tally.update(nil, prev, nil)
	for step := range 300 {
		changes := &synth.Changes{Ports: map[synth.Family][]synth.ServicePortName{}}
		for range 1 + rng.IntN(3) {
			i := rng.IntN(25)
			if rng.IntN(4) == 0 {
				delete(ports, i)
			} else {
				ports[i] = randomPort(rng, i)
			}
			name := randomPort(rng, i).Name
			changes.Ports[synth.IPv4] = append(changes.Ports[synth.IPv4], name, name)
		}
		next := []*synth.Ruleset{ruleset(), nil}
		tally.update(prev, next, changes)
		if want := countNoLocal(next[0].Services); tally[synth.IPv4] != want {
			t.Fatalf("step %d: tally %+v, a count of every port gives %+v", step, tally[synth.IPv4], want)
		}
		prev = next
	}
	tally.update(prev, []*synth.Ruleset{nil, {Family: synth.IPv6}}, nil)
	if _, ok := tally[synth.IPv4]; ok || len(tally) != 1 {
		t.Errorf("tally after IPv4 went away: %+v", tally)
	}
}
