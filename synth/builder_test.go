package synth_test

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
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
	for step := range 200 {
		in = mutate(rng, in)
		if step%50 == 49 {
			node.MasqueradeAll = !node.MasqueradeAll
		}
		want := synth.Build(in, node)
		got := b.Build(in, node)
		if diff := cmp.Diff(want, got, netipValues); diff != "" {
			t.Fatalf("step %d: Builder differs from Build (-want +got):\n%s", step, diff)
		}
	}
}

// mutate returns a copy of in with one change; objects not changed keep
// their pointers, as in an informer cache.
func mutate(rng *rand.Rand, in synth.Input) synth.Input {
	out := synth.Input{
		Services:       append([]*corev1.Service(nil), in.Services...),
		EndpointSlices: append([]*discoveryv1.EndpointSlice(nil), in.EndpointSlices...),
		Nodes:          in.Nodes,
	}
	switch i := rng.IntN(len(out.EndpointSlices)); rng.IntN(4) {
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
	}
	return out
}

func TestBuilderScenarios(t *testing.T) {
	var b synth.Builder
	for _, s := range scenario.All(t) {
		for range 2 { // the second Build reuses every entry
			if diff := cmp.Diff(synth.Build(s.Input, s.Config), b.Build(s.Input, s.Config), netipValues); diff != "" {
				t.Fatalf("%s: Builder differs from Build (-want +got):\n%s", s.Name, diff)
			}
		}
	}
}

// BenchmarkBuilderOneEndpoint is the agent's case: one slice changed.
func BenchmarkBuilderOneEndpoint(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("%dk", n/1000), func(b *testing.B) {
			in := gen.Cluster(gen.Config{Services: n, EndpointsPerService: 10}.WithDefaults())
			cfg := synth.Config{NodeName: "node-1"}
			var builder synth.Builder
			builder.Build(in, cfg)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				s := in.EndpointSlices[i%len(in.EndpointSlices)].DeepCopy()
				s.Endpoints = s.Endpoints[1:]
				in.EndpointSlices[i%len(in.EndpointSlices)] = s
				builder.Build(in, cfg)
			}
		})
	}
}
