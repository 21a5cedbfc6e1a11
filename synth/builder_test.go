package synth_test

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"

	"github.com/svcnat/svcnat/internal/gen"
	"github.com/svcnat/svcnat/internal/scenario"
	"github.com/svcnat/svcnat/synth"
)

// netipValues lets go-cmp compare netip values by ==.
var netipValues = cmpopts.EquateComparable(netip.Addr{}, netip.Prefix{})

// TestBuilderMatchesBuild replays a random sequence of changes (endpoints
// added and removed, Services deleted and re-created, slices replaced, the
// node config changed) and checks after every step that the remembering
// Builder gives exactly what a fresh Build gives.
func TestBuilderMatchesBuild(t *testing.T) {
	cfg := gen.Config{Services: 200, EndpointsPerService: 4, Seed: 7}.WithDefaults()
	in := gen.Cluster(cfg)
	node := synth.Config{NodeName: cfg.NodeName, NodeIPs: []netip.Addr{netip.MustParseAddr("172.18.0.1")}}
	rng := rand.New(rand.NewPCG(1, 2))
	var b synth.Builder
	var prev synth.Result
	named, withFields := 0, 0
	for step := range 200 {
		in = mutate(rng, in)
		if step%50 == 49 {
			node.MasqueradeAll = !node.MasqueradeAll
		}
		want := synth.Build(in, node)
		got := b.Build(in, node)
		if diff := cmp.Diff(want, got, netipValues, ignoreChanged); diff != "" {
			t.Fatalf("step %d: Builder differs from Build (-want +got):\n%s", step, diff)
		}
		if missed := unnamedChanges(prev, got); len(missed) > 0 {
			t.Fatalf("step %d: Changed %v misses changed ports %v", step, got.Changed, missed)
		}
		if got.Changed != nil {
			named += len(got.Changed.Ports[synth.IPv4])
			if !got.Changed.Fields && !fieldsEqual(prev, got) {
				t.Fatalf("step %d: Ruleset-wide fields changed, Changed.Fields is not set", step)
			}
			if got.Changed.Fields {
				withFields++
			}
		}
		prev = got
	}
	if named == 0 || named > 200*20 {
		t.Errorf("Changed named %d ports over 200 one-object steps; want some, and few", named)
	}
	if withFields == 0 || withFields > 150 {
		t.Errorf("Changed.Fields set in %d of 200 steps; want it for Service changes only", withFields)
	}
}

// fieldsEqual compares the Ruleset-wide fields (all but Services) of two
// Results.
func fieldsEqual(a, b synth.Result) bool {
	for _, f := range []synth.Family{synth.IPv4, synth.IPv6} {
		x, y := a.Ruleset(f), b.Ruleset(f)
		if x == nil || y == nil {
			if x != y {
				return false
			}
			continue
		}
		xf, yf := *x, *y
		xf.Services, yf.Services = nil, nil
		if !cmp.Equal(xf, yf, netipValues) {
			return false
		}
	}
	return true
}

// ignoreChanged leaves Result.Changed out of comparisons with Build, which
// never knows it.
var ignoreChanged = cmpopts.IgnoreFields(synth.Result{}, "Changed")

// unnamedChanges lists the service ports that differ between two Results
// but that next.Changed does not name (nothing when Changed is nil: not
// known, so a backend compares everything).
func unnamedChanges(prev, next synth.Result) []string {
	if next.Changed == nil {
		return nil
	}
	var missed []string
	for _, f := range []synth.Family{synth.IPv4, synth.IPv6} {
		named := map[synth.ServicePortName]bool{}
		for _, n := range next.Changed.Ports[f] {
			named[n] = true
		}
		ports := map[synth.ServicePortName]*synth.ServicePort{}
		if rs := prev.Ruleset(f); rs != nil {
			for i := range rs.Services {
				ports[rs.Services[i].Name] = rs.Services[i]
			}
		}
		if rs := next.Ruleset(f); rs != nil {
			for i := range rs.Services {
				sp := rs.Services[i]
				if p := ports[sp.Name]; (p == nil || !p.Equal(sp)) && !named[sp.Name] {
					missed = append(missed, sp.Name.String())
				}
				delete(ports, sp.Name)
			}
		}
		for n := range ports {
			if !named[n] {
				missed = append(missed, n.String()+" (gone)")
			}
		}
	}
	return missed
}

// mutate returns a copy of in with one change; objects not changed keep
// their pointers, as in an informer cache.
func mutate(rng *rand.Rand, in synth.Input) synth.Input {
	out := synth.Input{
		Services:       append([]*corev1.Service(nil), in.Services...),
		EndpointSlices: append([]*discoveryv1.EndpointSlice(nil), in.EndpointSlices...),
		Nodes:          in.Nodes,
	}
	switch i := rng.IntN(len(out.EndpointSlices)); rng.IntN(5) {
	case 0: // drop an endpoint
		s := out.EndpointSlices[i].DeepCopy()
		if len(s.Endpoints) > 0 {
			s.Endpoints = s.Endpoints[1:]
		}
		out.EndpointSlices[i] = s
	case 1: // add an endpoint
		s := out.EndpointSlices[i].DeepCopy()
		addr := fmt.Sprintf("10.250.%d.%d", rng.IntN(250), rng.IntN(250))
		s.Endpoints = append(s.Endpoints, discoveryv1.Endpoint{Addresses: []string{addr}})
		out.EndpointSlices[i] = s
	case 2: // delete a Service
		j := rng.IntN(len(out.Services))
		out.Services = append(out.Services[:j:j], out.Services[j+1:]...)
	case 3: // replace a Service object by an equal copy
		j := rng.IntN(len(out.Services))
		out.Services[j] = out.Services[j].DeepCopy()
	case 4: // claim another Service's nodePort: the younger one loses it
		stealNodePort(rng, out.Services)
	}
	return out
}

// stealNodePort gives one NodePort Service the nodePort of another, so
// that claims decide, and later deletions or copies change who wins.
func stealNodePort(rng *rand.Rand, svcs []*corev1.Service) {
	var np []int
	for i, s := range svcs {
		if len(s.Spec.Ports) > 0 && s.Spec.Ports[0].NodePort != 0 {
			np = append(np, i)
		}
	}
	if len(np) < 2 {
		return
	}
	thief, victim := np[rng.IntN(len(np))], np[rng.IntN(len(np))]
	s := svcs[thief].DeepCopy()
	s.Spec.Ports[0].NodePort = svcs[victim].Spec.Ports[0].NodePort
	svcs[thief] = s
}

func TestBuilderScenarios(t *testing.T) {
	var b synth.Builder
	for _, s := range scenario.All(t) {
		for range 2 { // the second Build reuses every entry
			if diff := cmp.Diff(synth.Build(s.Input, s.Config), b.Build(s.Input, s.Config), netipValues, ignoreChanged); diff != "" {
				t.Fatalf("%s: Builder differs from Build (-want +got):\n%s", s.Name, diff)
			}
		}
	}
}

// BenchmarkBuilderFirstBuild is an agent's first sync: a new Builder
// takes the whole cluster at once.
func BenchmarkBuilderFirstBuild(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("%dk", n/1000), func(b *testing.B) {
			in := gen.Cluster(gen.Config{Services: n, EndpointsPerService: 10}.WithDefaults())
			cfg := synth.Config{NodeName: "node-1"}
			b.ReportAllocs()
			for b.Loop() {
				var builder synth.Builder
				builder.Build(in, cfg)
			}
		})
	}
}

// BenchmarkBuilderOneEndpoint is the agent's case: one slice changed. The
// input alternates between two lists, as a source hands out a new list
// per change: changing the list the Builder holds in place would hide the
// change from it (it compares the new input with the previous one), and
// copying the whole list per round would time the benchmark, not Build.
func BenchmarkBuilderOneEndpoint(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("%dk", n/1000), func(b *testing.B) {
			in := gen.Cluster(gen.Config{Services: n, EndpointsPerService: 10}.WithDefaults())
			cfg := synth.Config{NodeName: "node-1"}
			var builder synth.Builder
			builder.Build(in, cfg)
			lists := [2][]*discoveryv1.EndpointSlice{in.EndpointSlices, slices.Clone(in.EndpointSlices)}
			b.ReportAllocs()
			prev := 0
			for i := 0; b.Loop(); i++ {
				cur, held := lists[(i+1)%2], lists[i%2]
				cur[prev] = held[prev] // catch up with the previous round's change
				j := i % len(held)
				s := held[j].DeepCopy()
				if len(s.Endpoints) > 0 { // long runs empty every slice: then only the object changes
					s.Endpoints = s.Endpoints[1:]
				}
				cur[j], prev = s, j
				in.EndpointSlices = cur
				if res := builder.Build(in, cfg); i < 3 && len(res.Changed.Ports[synth.IPv4]) == 0 {
					b.Fatal("Build saw no change")
				}
			}
		})
	}
}
