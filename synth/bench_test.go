package synth_test

import (
	"fmt"
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
