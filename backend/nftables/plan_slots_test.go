package nftables

import (
	"bytes"
	"context"
	"net/netip"
	"runtime"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/svcnat/svcnat/backend"
	"github.com/svcnat/svcnat/synth"
)

func TestStableSlots(t *testing.T) {
	eps := func(last ...byte) []synth.Endpoint {
		var out []synth.Endpoint
		for _, b := range last {
			out = append(out, synth.Endpoint{Addr: netip.AddrFrom4([4]byte{10, 0, 0, b}), Port: 80})
		}
		return out
	}
	for _, tc := range []struct {
		name       string
		prev       []synth.Endpoint
		prevSlots  []int32
		next       []synth.Endpoint
		wantTarget []byte // last address byte of the endpoint in each slot
	}{
		{"unchanged", eps(1, 2, 3), nil, eps(1, 2, 3), []byte{1, 2, 3}},
		{"appended", eps(1, 2, 3), nil, eps(1, 2, 3, 4), []byte{1, 2, 3, 4}},
		{"added in the middle takes the next slot", eps(1, 3, 5), nil, eps(1, 2, 3, 5), []byte{1, 3, 5, 2}},
		{"removed: the last moves into its slot", eps(1, 2, 3, 4, 5), nil, eps(1, 2, 4, 5), []byte{1, 2, 5, 4}},
		{"replaced: the new one takes the freed slot", eps(1, 2, 3), nil, eps(1, 3, 9), []byte{1, 9, 3}},
		{"from a permuted list", eps(1, 2, 3), []int32{2, 0, 1}, eps(1, 2, 3, 4), []byte{3, 1, 2, 4}},
		{"many gone", eps(1, 2, 3, 4, 5, 6), nil, eps(2, 6), []byte{6, 2}},
		{"all gone", eps(1, 2), nil, nil, nil},
		{"all new", nil, nil, eps(7, 8), []byte{7, 8}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			slots := stableSlots(tc.prev, tc.prevSlots, tc.next)
			l := epList{maps: true, slots: slots}
			sp := &synth.ServicePort{ClusterEndpoints: tc.next}
			var got []byte
			for i := range tc.next {
				got = append(got, l.endpointAt(sp, i).Addr.As4()[3])
			}
			if !slices.Equal(got, tc.wantTarget) {
				t.Errorf("slots %v: targets %v, want %v", slots, got, tc.wantTarget)
			}
		})
	}
	unsorted := []synth.Endpoint{{Addr: netip.MustParseAddr("10.0.0.2")}, {Addr: netip.MustParseAddr("10.0.0.1")}}
	if s := stableSlots(unsorted[:1], nil, unsorted); s != nil {
		t.Errorf("unsorted list: slots %v, want nil (list order)", s)
	}
}

// TestOneEndpointChangeIsSmall replaces, removes and adds endpoints of a
// big Service one at a time: each sync must change a handful of elements
// (renumbering the list changed one element per endpoint after the
// change), and the kernel must hold exactly the table the model describes,
// with every endpoint in exactly one slot.
func TestOneEndpointChangeIsSmall(t *testing.T) {
	const n = 2000
	ns := newNetNS(t)
	b := newBackend(t, ns)
	rs := oneBigService(n)
	mustApply(t, b, rs)
	name := rs.Services[0].Name
	changed := &synth.Changes{Ports: map[synth.Family][]synth.ServicePortName{synth.IPv4: {name}}}
	edits := []func(eps []synth.Endpoint) []synth.Endpoint{
		func(eps []synth.Endpoint) []synth.Endpoint { return slices.Delete(eps, n/2, n/2+1) },
		func(eps []synth.Endpoint) []synth.Endpoint { return slices.Delete(eps, 10, 11) },
		func(eps []synth.Endpoint) []synth.Endpoint {
			e := synth.Endpoint{Addr: netip.MustParseAddr("10.128.0.5"), Port: 9090}
			i, _ := slices.BinarySearchFunc(eps, e, endpointCmp)
			return slices.Insert(eps, i, e)
		},
		func(eps []synth.Endpoint) []synth.Endpoint { eps[n/3].Port = 9999; return eps },
	}
	for i, edit := range edits {
		sp := rs.Services[0]
		sp.ClusterEndpoints = edit(slices.Clone(sp.ClusterEndpoints))
		st, err := backend.Apply(context.Background(), b, []*synth.Ruleset{rs}, changed)
		if err != nil {
			t.Fatal(err)
		}
		if st.Changes > 40 { // renumbering made it one per endpoint after the change: ~2000

			t.Errorf("edit %d: %d changes, want a handful", i, st.Changes)
		}
		checkSlots(t, b.applied[synth.IPv4], sp)
	}
	var script bytes.Buffer
	b.applied[synth.IPv4].materialize().render(&script)
	ref := newNetNS(t)
	nftScript(t, ref, script.Bytes(), false)
	if got, want := listing(t, ns), listing(t, ref); got != want {
		t.Fatalf("kernel after incremental syncs differs from the model:\n%s", cmp.Diff(want, got))
	}
	// A sync that reads the kernel back keeps the slots...
	b.Reconcile()
	if st := mustApply(t, b, rs); st.Changes != 0 {
		t.Errorf("Reconcile, same state: %d changes, want 0", st.Changes)
	}
	// ...and a new agent, which numbers in list order, converges.
	mustApply(t, newBackend(t, ns), rs)
	fresh := newNetNS(t)
	mustApply(t, newBackend(t, fresh), rs)
	if got, want := listing(t, ns), listing(t, fresh); got != want {
		t.Fatalf("a new backend's sync differs from a fresh table:\n%s", cmp.Diff(want, got))
	}
}

// checkSlots checks that every entry point of the model's endpoint maps
// has slots 0..N-1, each sending to a different endpoint of sp.
func checkSlots(t *testing.T, m *model, sp *synth.ServicePort) {
	t.Helper()
	want := map[netip.AddrPort]bool{}
	for _, ep := range sp.ClusterEndpoints {
		want[netip.AddrPortFrom(ep.Addr, ep.Port)] = true
	}
	bySet := map[string]map[uint32]netip.AddrPort{}
	for _, s := range m.materialize().sets {
		if s.name != mapEndpoints && s.name != mapNPEndpoints {
			continue
		}
		bySet[s.name] = map[uint32]netip.AddrPort{}
		for _, e := range s.elems {
			bySet[s.name][e.slot] = e.to
		}
	}
	for set, slots := range bySet {
		seen := map[netip.AddrPort]bool{}
		for i := range uint32(len(want)) {
			to, ok := slots[i]
			if !ok || !want[to] || seen[to] {
				t.Fatalf("%s slot %d: %v (present %v), want a distinct endpoint of the Service", set, i, to, ok)
			}
			seen[to] = true
		}
		if len(slots) != len(want) {
			t.Fatalf("%s: %d slots, want %d", set, len(slots), len(want))
		}
	}
}

// TestBigServiceRenderIsLinear renders one Service with 1k and with 40k
// endpoints, with and without session affinity. Searching a list per
// endpoint (the hairpin keys, the affinity endpoint chains) made this
// quadratic: 40k endpoints took 6 s, 100k 40 s. The 40 times bigger
// Service must cost less than 200 times as much (quadratic: 1600; cache
// and GC effects make linear code cost up to ~100); the best of two runs
// each, in CPU time, to ride out a busy machine.
func TestBigServiceRenderIsLinear(t *testing.T) {
	if testing.Short() {
		t.Skip("renders 40k endpoints")
	}
	for _, affinity := range []bool{false, true} {
		small, big := renderTime(t, 1000, affinity), renderTime(t, 40000, affinity)
		t.Logf("affinity %v: 1k endpoints %v, 40k %v", affinity, small, big)
		if big > 200*small && big > time.Second {
			t.Errorf("affinity %v: 40 times the endpoints took %.0f times as long (%v, %v)", affinity, float64(big)/float64(small), small, big)
		}
	}
}

func renderTime(t *testing.T, n int, affinity bool) time.Duration {
	rs := oneBigService(n)
	if affinity {
		rs.Services[0].AffinitySeconds = 10800
	}
	best := time.Duration(1 << 62)
	for range 2 {
		runtime.GC()
		start := cpuTime(t)
		if _, err := Render([]*synth.Ruleset{rs}); err != nil {
			t.Fatal(err)
		}
		best = min(best, cpuTime(t)-start)
	}
	return best
}

// cpuTime is the CPU time the process has used (GC included); unlike the
// wall clock it does not grow while other processes have the CPUs.
func cpuTime(t *testing.T) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestCountElems checks the arithmetic count of a fragment's elements
// against enumerating them, for ports of every shape.
func TestCountElems(t *testing.T) {
	big := oneBigService(50)
	big.Services[0].ExternalIPs = addrs("203.0.113.1", "203.0.113.1")
	big.Services[0].ExternalPolicyLocal = true
	big.Services[0].LocalEndpoints = big.Services[0].ClusterEndpoints[:3]
	for _, rs := range []*synth.Ruleset{handRuleset(), handRuleset6(), handRulesetB(), big, bigRuleset(20)} {
		m, _, err := buildModel(rs, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range m.frags.all() {
			owned, shared := 0, 0
			f.eachElem(func(e mapElem) {
				if sharedSet(e.set) {
					shared++
				} else {
					owned++
				}
			})
			if f.owned != owned || f.shared != shared {
				t.Errorf("%s: counted %d owned, %d shared; enumerated %d, %d", f.sp.Name, f.owned, f.shared, owned, shared)
			}
		}
	}
}
