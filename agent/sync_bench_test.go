package agent

import (
	"context"
	"fmt"
	"net/netip"
	"testing"

	discoveryv1 "k8s.io/api/discovery/v1"

	"github.com/svcnat/svcnat/agent/runner"
	"github.com/svcnat/svcnat/backend"
	"github.com/svcnat/svcnat/internal/gen"
	"github.com/svcnat/svcnat/synth"
)

// BenchmarkSyncOneEndpoint is the agent's work for one endpoint change in
// a cluster of N Services × 10 endpoints, outside the kernel: snapshot,
// synth.Builder, conntrack and health check diffs, metrics and status, with
// a backend that only records (the nftables backend's own share is
// BenchmarkApplyOneEndpoint in backend/nftables). Each sync removes or
// restores the first endpoint of one slice, a different slice each time.
func BenchmarkSyncOneEndpoint(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("%dk", n/1000), func(b *testing.B) {
			in := gen.Cluster(gen.Config{Services: n, EndpointsPerService: 10}.WithDefaults())
			a, src := benchAgent(in)
			ctx := context.Background()
			if err := a.sync(ctx, runner.Reason{Changed: true}); err != nil {
				b.Fatal(err)
			}
			orig := in.EndpointSlices
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				src.st.Input = oneEndpointChanged(src.st.Input, orig, i)
				if err := a.sync(ctx, runner.Reason{Changed: true}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// benchAgent is an agent on a fake source and backend, ready for syncs
// called directly (no runner, no servers).
func benchAgent(in synth.Input) (*Agent, *fakeSource) {
	src := newFakeSource(in)
	cfg := Config{
		Synth:     synth.Config{NodeName: "node-1", NodeIPs: []netip.Addr{netip.MustParseAddr("172.18.0.1")}},
		Conntrack: &fakeConntrack{},
	}
	a := NewAgent(cfg, src, &benchBackend{})
	return a, src
}

// oneEndpointChanged returns in with slice i%len replaced: its first
// endpoint dropped on even rounds through the list, restored (the original
// object) on odd ones. Other objects keep their pointers, as in an
// informer cache.
func oneEndpointChanged(in synth.Input, orig []*discoveryv1.EndpointSlice, i int) synth.Input {
	out := in
	out.EndpointSlices = append([]*discoveryv1.EndpointSlice(nil), in.EndpointSlices...)
	j := i % len(orig)
	if (i/len(orig))%2 == 1 {
		out.EndpointSlices[j] = orig[j]
		return out
	}
	s := orig[j].DeepCopy()
	if len(s.Endpoints) > 0 {
		s.Endpoints = s.Endpoints[1:]
	}
	out.EndpointSlices[j] = s
	return out
}

// benchBackend accepts every plan at no cost, so that the benchmark
// measures the agent's own work.
type benchBackend struct{}

func (benchBackend) Name() string                            { return "nftables" }
func (benchBackend) Render([]*synth.Ruleset) ([]byte, error) { return nil, nil }
func (benchBackend) Plan(context.Context, []*synth.Ruleset, *synth.Changes) (backend.Plan, error) {
	return backend.Plan{}, nil
}
func (benchBackend) Commit(context.Context, backend.Plan) (backend.Stats, error) {
	return backend.Stats{}, nil
}
func (benchBackend) Reconcile()                    {}
func (benchBackend) Close() error                  { return nil }
func (benchBackend) Cleanup(context.Context) error { return nil }
