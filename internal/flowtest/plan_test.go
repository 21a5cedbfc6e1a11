package flowtest

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/svcnat/svcnat/synth"
)

// TestPlanPods needs no root: the seed scenario's pods and their servers.
func TestPlanPods(t *testing.T) {
	s := load(t, "seed-nodeport")
	res := synth.Build(s.Input, s.Config)
	inCluster := func(a netip.Addr) bool { return netip.MustParsePrefix("10.244.0.0/16").Contains(a) }
	p := planPods(s, res, inCluster)
	got := fmt.Sprint(p.addrs())
	if want := "[10.244.1.2 10.244.1.3 10.244.1.50 10.244.2.2 10.244.2.50]"; got != want {
		t.Errorf("pods %s, want %s", got, want)
	}
	if got := p.servers(netip.MustParseAddr("10.244.1.2")); len(got) != 1 || got[0] != (server{synth.TCP, 8080}) {
		t.Errorf("servers of 10.244.1.2: %v, want tcp 8080", got)
	}
	if got := p.servers(netip.MustParseAddr("10.244.1.50")); len(got) != 0 {
		t.Errorf("servers of the source-only pod 10.244.1.50: %v, want none", got)
	}
}

// TestStates needs no root: the watched Service keeps its stable
// endpoints in every state, and the other objects really change.
func TestStates(t *testing.T) {
	s := load(t, "seed-nodeport")
	st := &states{svc: s.Input.Services[0], slice: s.Input.EndpointSlices[0],
		stable: []string{"10.244.1.2", "10.244.2.2"}, extra: "10.244.1.3"}
	seen := map[string]bool{}
	for i := range applies + 1 {
		res := synth.Build(st.state(i), s.Config)
		if len(res.Warnings) > 0 {
			t.Fatalf("state %d: warnings %v", i, res.Warnings)
		}
		if n := len(st.allowed(i)); n < 2 || n > 3 {
			t.Fatalf("state %d: %d endpoints of the watched Service", i, n)
		}
		seen[fmt.Sprint(res.IPv4.Services)] = true
	}
	if len(seen) < 20 {
		t.Errorf("only %d distinct states in %d", len(seen), applies+1)
	}
}
