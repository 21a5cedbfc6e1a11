package synth_test

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/svcnat/svcnat/internal/gen"
	"github.com/svcnat/svcnat/synth"
)

// BenchmarkBuild measures the model on generated clusters of N Services × 10
// endpoints (10% NodePort, every 10th Service with two ports).
func BenchmarkBuild(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("%dk", n/1000), func(b *testing.B) {
			in := gen.Cluster(gen.Config{Services: n, EndpointsPerService: 10}.WithDefaults())
			cfg := synth.Config{NodeName: "node-1"}
			b.ReportAllocs()
			for b.Loop() {
				synth.Build(in, cfg)
			}
		})
	}
}

// BenchmarkBuilderHeap reports the live heap a Builder holds (builder-MB)
// after its first Build of 10k Services × 10 endpoints, besides its input:
// its indexes and the Result's Rulesets, what an agent keeps between
// syncs. The input is allocated before the first measurement.
func BenchmarkBuilderHeap(b *testing.B) {
	in := gen.Cluster(gen.Config{Services: 10000, EndpointsPerService: 10}.WithDefaults())
	cfg := synth.Config{NodeName: "node-1"}
	var held *synth.Builder
	var res synth.Result
	var mb float64
	for range b.N {
		held, res = nil, synth.Result{}
		before := liveHeap()
		held = &synth.Builder{}
		res = held.Build(in, cfg)
		mb = float64(liveHeap()-before) / 1e6
	}
	runtime.KeepAlive(held)
	runtime.KeepAlive(res)
	runtime.KeepAlive(in)
	b.ReportMetric(mb, "builder-MB")
}

func liveHeap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
