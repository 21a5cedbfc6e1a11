package iptables

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/svcnat/svcnat/backend"
	"github.com/svcnat/svcnat/synth"
)

var benchSizes = []int{1000, 10000}

// skipSlow skips the full benchmark with iptables-nft at 10k services:
// replacing every endpoint chain rewrites 10k existing chains that name
// 100k new ones in the one restore that must stay atomic, and
// iptables-nft-restore is quadratic in the chains a restore names (see
// chunk.go), so it takes minutes. A first sync is split and takes
// ≈ 15 s. SVCNAT_BENCH_NFT10K=1 runs it anyway.
func skipSlow(b *testing.B, mode Mode, n int) {
	if mode == ModeNFT && n >= 10000 && os.Getenv("SVCNAT_BENCH_NFT10K") == "" {
		b.Skip("replacing every chain of 10k services with iptables-nft takes minutes; set SVCNAT_BENCH_NFT10K=1")
	}
}

// BenchmarkApplyFull measures a full sync (Reconcile, then Apply: read
// the kernel, compare, rewrite) of n services with 10 endpoints each, 10%
// NodePorts, into a namespace whose rules differ in every service chain.
func BenchmarkApplyFull(b *testing.B) {
	for _, mode := range flavours {
		for _, n := range benchSizes {
			b.Run(fmt.Sprintf("%s/%dk", mode, n/1000), func(b *testing.B) {
				skipSlow(b, mode, n)
				netns := newNetNS(b)
				be := newBackend(b, netns, mode)
				rs := [2]*synth.Ruleset{genRuleset(n, 10, 1), genRuleset(n, 10, 2)}
				var rules int
				b.ResetTimer()
				for i := range b.N {
					be.Reconcile()
					st, err := backend.Apply(context.Background(), be, []*synth.Ruleset{rs[i%2]}, nil)
					if err != nil {
						b.Fatal(err)
					}
					rules = st.Rules
				}
				b.ReportMetric(float64(rules), "rules")
			})
		}
	}
}

// BenchmarkApplyOneEndpoint measures an incremental sync where one
// endpoint of one service changes.
func BenchmarkApplyOneEndpoint(b *testing.B) {
	for _, mode := range flavours {
		for _, n := range benchSizes {
			b.Run(fmt.Sprintf("%s/%dk", mode, n/1000), func(b *testing.B) {
				netns := newNetNS(b)
				be := newBackend(b, netns, mode)
				base := genRuleset(n, 10, 1)
				apply(b, be, base)
				alt := base.Clone()
				alt.Services[n/2].ClusterEndpoints[5].Port = 9999
				versions := [2]*synth.Ruleset{alt, base}
				var changes int
				b.ResetTimer()
				for i := range b.N {
					st, err := backend.Apply(context.Background(), be, []*synth.Ruleset{versions[i%2]}, nil)
					if err != nil {
						b.Fatal(err)
					}
					if st.Full {
						b.Fatal("incremental apply was full")
					}
					changes = st.Changes
				}
				b.ReportMetric(float64(changes), "changes")
			})
		}
	}
}
