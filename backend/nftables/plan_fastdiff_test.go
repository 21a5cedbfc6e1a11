package nftables

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/svcnat/svcnat/backend"
	"github.com/svcnat/svcnat/synth"
)

// TestFastPathMatchesFresh applies a sequence of small changes to a
// generated cluster incrementally and checks after each that the kernel
// holds exactly what a fresh Apply of the same Ruleset programs, and that
// a one-endpoint change sends only a handful of objects.
func TestFastPathMatchesFresh(t *testing.T) {
	fastPathSteps(t, func(b *Backend, prev, rs *synth.Ruleset) (backend.Stats, error) {
		return backend.Apply(t.Context(), b, []*synth.Ruleset{rs}, nil)
	})
}

// TestApplyChangedMatchesFresh runs the same steps through plans told
// which ports changed, as the agent does.
func TestApplyChangedMatchesFresh(t *testing.T) {
	fastPathSteps(t, func(b *Backend, prev, rs *synth.Ruleset) (backend.Stats, error) {
		names := changedPorts(prev, rs)
		before := b.fromChanges
		changed := &synth.Changes{Ports: map[synth.Family][]synth.ServicePortName{rs.Family: names}, Fields: !fieldsEqual(prev, rs)}
		st, err := backend.Apply(t.Context(), b, []*synth.Ruleset{rs}, changed)
		if b.fromChanges != before+1 && prev.MasqueradeAll == rs.MasqueradeAll {
			t.Errorf("the plan did not use the change list %v", names)
		}
		if err == nil {
			checkCounts(t, b.applied[rs.Family])
		}
		return st, err
	})
}

// TestApplyChangedFallsBack checks that a change list that leaves out an
// added or a removed port is noticed (the ports no longer line up) and the
// Ruleset is compared in full.
func TestApplyChangedFallsBack(t *testing.T) {
	rs := bigRuleset(40)
	ns := newNetNS(t)
	b := newBackend(t, ns)
	mustApply(t, b, rs)
	nothing := &synth.Changes{Fields: true}
	added := rs.Services[3].Clone()
	added.Name.Name, added.ID = "svc-00003a", "ADDEDAAAAAAAAAAA"
	added.ClusterIP = netip.MustParseAddr("10.97.0.1")
	rs.Services = slices.Insert(rs.Services, 4, &added)
	rs.ClusterIPs = append(rs.ClusterIPs, added.ClusterIP)
	for _, change := range []func(){func() {}, func() { rs.Services = slices.Delete(rs.Services, 20, 21) }} {
		change()
		st, err := backend.Apply(t.Context(), b, []*synth.Ruleset{rs}, nothing)
		if err != nil {
			t.Fatal(err)
		}
		if st.Changes == 0 || b.fromChanges != 0 {
			t.Fatalf("a plan with an incomplete change list: %d changes, %d models from it", st.Changes, b.fromChanges)
		}
		fresh := newNetNS(t)
		mustApply(t, newBackend(t, fresh), rs)
		if got, want := listing(t, ns), listing(t, fresh); got != want {
			t.Fatalf("differs from fresh:\n%s", cmp.Diff(want, got))
		}
	}
}

// changedPorts names the ports that differ between two Rulesets.
func changedPorts(prev, next *synth.Ruleset) []synth.ServicePortName {
	old := map[synth.ServicePortName]*synth.ServicePort{}
	for i := range prev.Services {
		old[prev.Services[i].Name] = prev.Services[i]
	}
	var out []synth.ServicePortName
	for i := range next.Services {
		sp := next.Services[i]
		if p := old[sp.Name]; p == nil || !p.Equal(sp) {
			out = append(out, sp.Name)
		}
		delete(old, sp.Name)
	}
	for n := range old {
		out = append(out, n)
	}
	return out
}

// fieldsEqual compares the Ruleset-wide fields of two Rulesets.
func fieldsEqual(a, b *synth.Ruleset) bool {
	x, y := *a, *b
	x.Services, y.Services = nil, nil
	return cmp.Equal(x, y, cmpopts.EquateComparable(netip.Addr{}, netip.Prefix{}))
}

// cloneRuleset copies rs deeply enough for changedPorts: steps change
// endpoint lists in place.
func cloneRuleset(rs *synth.Ruleset) *synth.Ruleset {
	return rs.Clone()
}

// fastPathSteps applies each step's change to a generated cluster with
// apply (given the Ruleset before and after) and compares with a fresh
// Apply.
func fastPathSteps(t *testing.T, apply func(b *Backend, prev, rs *synth.Ruleset) (backend.Stats, error)) {
	rs := bigRuleset(40)
	ns := newNetNS(t)
	b := newBackend(t, ns)
	mustApply(t, b, rs)
	steps := []struct {
		name       string
		change     func(rs *synth.Ruleset)
		maxChanges int
	}{
		{"endpoint port", func(rs *synth.Ruleset) { rs.Services[7].ClusterEndpoints[0].Port++ }, 20},
		// The first port with 9 endpoints also creates svc-9 and dnat-9.
		{"endpoint gone", func(rs *synth.Ruleset) {
			rs.Services[8].ClusterEndpoints = rs.Services[8].ClusterEndpoints[1:]
		}, 40},
		{"no endpoints", func(rs *synth.Ruleset) { rs.Services[9].ClusterEndpoints = nil }, 60},
		{"service added", func(rs *synth.Ruleset) {
			sp := rs.Services[3].Clone()
			sp.Name.Name, sp.ID, sp.NodePort = "zz-added", "ADDEDAAAAAAAAAAA", 31999
			sp.ClusterIP = netip.MustParseAddr("10.97.0.1")
			rs.Services = append(rs.Services, &sp)
			rs.ClusterIPs = append(rs.ClusterIPs, sp.ClusterIP)
		}, 60},
		{"service removed", func(rs *synth.Ruleset) {
			rs.ClusterIPs = slices.DeleteFunc(rs.ClusterIPs, func(a netip.Addr) bool { return a == rs.Services[5].ClusterIP })
			rs.Services = slices.Delete(rs.Services, 5, 6)
		}, 60},
		{"external IP moves between ports", func(rs *synth.Ruleset) {
			ip := netip.MustParseAddr("192.168.1.100")
			rs.Services[1].ExternalIPs = []netip.Addr{ip}
		}, 0},
		{"moved", func(rs *synth.Ruleset) {
			rs.Services[1].ExternalIPs = nil
			rs.Services[2].ExternalIPs = []netip.Addr{netip.MustParseAddr("192.168.1.100")}
		}, 0},
		// Ports 10 and 11 select the same pods: their hairpin elements
		// are shared, and must outlive either port alone.
		{"endpoints shared", func(rs *synth.Ruleset) {
			rs.Services[10].ClusterEndpoints = slices.Clone(rs.Services[11].ClusterEndpoints)
		}, 60},
		{"one sharing port gone", func(rs *synth.Ruleset) {
			rs.ClusterIPs = slices.DeleteFunc(rs.ClusterIPs, func(a netip.Addr) bool { return a == rs.Services[11].ClusterIP })
			rs.Services = slices.Delete(rs.Services, 11, 12)
		}, 60},
		{"other sharing port gone", func(rs *synth.Ruleset) {
			rs.ClusterIPs = slices.DeleteFunc(rs.ClusterIPs, func(a netip.Addr) bool { return a == rs.Services[10].ClusterIP })
			rs.Services = slices.Delete(rs.Services, 10, 11)
		}, 60},
		{"affinity", func(rs *synth.Ruleset) { rs.Services[4].AffinitySeconds = 60 }, 0},
		{"affinity timeout", func(rs *synth.Ruleset) { rs.Services[4].AffinitySeconds = 90 }, 0},
		{"masquerade all", func(rs *synth.Ruleset) { rs.MasqueradeAll = true }, 0},
	}
	for _, s := range steps {
		// The backend keeps what it was given: each step changes a copy.
		prev := rs
		rs = cloneRuleset(prev)
		s.change(rs)
		st, err := apply(b, prev, rs)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if s.maxChanges > 0 && (st.Changes == 0 || st.Changes > s.maxChanges) {
			t.Errorf("%s: %d changes, want 1..%d", s.name, st.Changes, s.maxChanges)
		}
		fresh := newNetNS(t)
		mustApply(t, newBackend(t, fresh), rs)
		if got, want := listing(t, ns), listing(t, fresh); got != want {
			t.Fatalf("%s: incremental differs from fresh:\n%s", s.name, cmp.Diff(want, got))
		}
		if st := mustApply(t, b, rs); st.Changes != 0 {
			t.Errorf("%s: same state again: %d changes", s.name, st.Changes)
		}
	}
}

// TestEndpointReplacedByElementsOnly checks the point of the endpoint
// maps: when an endpoint is replaced (same number of endpoints) no rule or
// chain changes, only map elements, so the kernel does not revalidate the
// table's rules.
func TestEndpointReplacedByElementsOnly(t *testing.T) {
	rs := bigRuleset(20)
	b := newBackend(t, newNetNS(t))
	mustApply(t, b, rs)
	rs = cloneRuleset(rs) // the backend keeps what it was given
	ep := &rs.Services[7].ClusterEndpoints[0]
	ep.Addr = netip.MustParseAddr("10.250.0.1")
	d, err := diffText(t.Context(), b, []*synth.Ruleset{rs})
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(d)), "\n")
	if len(lines) < 2 {
		t.Fatalf("diff too short:\n%s", d)
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "add element ") && !strings.HasPrefix(l, "delete element ") {
			t.Errorf("endpoint replacement changes more than elements: %q", l)
		}
	}
}

// TestModelCountsMatchTable checks the model's cheap counts (reported in
// Stats) against the assembled table, shared DNAT chains included.
func TestModelCountsMatchTable(t *testing.T) {
	for _, rs := range []*synth.Ruleset{bigRuleset(30), handRuleset(), handRuleset6()} {
		m, _, err := buildModel(rs, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		checkCounts(t, m)
	}
}

func checkCounts(t *testing.T, m *model) {
	t.Helper()
	r, e := m.ownSize()
	e += newElemIndex(m).refs.len()
	wr, we := m.materialize().size()
	if r != wr || e != we {
		t.Errorf("%s: model counts %d rules, %d elements; table has %d, %d", m.params.family, r, e, wr, we)
	}
}
