package iptables

import (
	"fmt"
	"net/netip"
	"os"
	"slices"
	"testing"

	"github.com/svcnat/svcnat/synth"
)

// oneBigService is one NodePort Service with n endpoints, sorted.
func oneBigService(n int) *synth.Ruleset {
	ip := mustAddr("10.96.0.10")
	sp := synth.ServicePort{
		Name:      synth.ServicePortName{Namespace: "bench", Name: "big", Protocol: synth.TCP},
		ID:        "BIGSERVICE000000",
		ClusterIP: ip, Port: 80, NodePort: 30080,
	}
	for j := range n {
		sp.ClusterEndpoints = append(sp.ClusterEndpoints, synth.Endpoint{
			Addr: netip.AddrFrom4([4]byte{10, 128 + byte(j>>16), byte(j >> 8), byte(j)}), Port: 8080})
	}
	return &synth.Ruleset{
		Family: synth.IPv4, NodeIPs: []netip.Addr{mustAddr("192.168.1.1")},
		ClusterCIDRs: []netip.Prefix{mustPrefix("10.128.0.0/9")}, ServiceCIDRs: []netip.Prefix{mustPrefix("10.96.0.0/12")},
		ClusterIPs: []netip.Addr{ip}, Services: []*synth.ServicePort{&sp},
	}
}

// bigSizes runs f at 1k and 10k endpoints, and 100k with SVCNAT_BENCH_100K.
// iptables-nft is quadratic in the chains one restore names (chunk.go),
// so it stops at 10k.
func bigSizes(b *testing.B, f func(b *testing.B, mode Mode, n int)) {
	sizes := []int{1000, 10000}
	if os.Getenv("SVCNAT_BENCH_100K") != "" {
		sizes = append(sizes, 100000)
	}
	for _, mode := range flavours {
		for _, n := range sizes {
			b.Run(fmt.Sprintf("%s/%dk", mode, n/1000), func(b *testing.B) {
				if mode == ModeNFT && n > 10000 {
					b.Skip("iptables-nft-restore of 100k endpoint chains takes minutes")
				}
				f(b, mode, n)
			})
		}
	}
}

func BenchmarkRenderOneBigService(b *testing.B) {
	bigSizes(b, func(b *testing.B, mode Mode, n int) {
		if mode != ModeLegacy {
			b.Skip("rendering does not depend on the flavour")
		}
		rs := oneBigService(n)
		for b.Loop() {
			if _, err := Render([]*synth.Ruleset{rs}, goldenOpts); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkApplyFullOneBigService: a full sync (Reconcile, Apply) of
// one Service with n endpoints, alternating between two endpoint sets.
func BenchmarkApplyFullOneBigService(b *testing.B) {
	bigSizes(b, func(b *testing.B, mode Mode, n int) {
		be := newBackend(b, newNetNS(b), mode)
		rs := [2]*synth.Ruleset{oneBigService(n), oneBigService(n)}
		rs[1].Services[0].ClusterEndpoints = rs[1].Services[0].ClusterEndpoints[1:]
		for i := 0; b.Loop(); i++ {
			be.Reconcile()
			apply(b, be, rs[i%2])
		}
	})
}

// BenchmarkApplyOneEndpointOneBigService removes the middle endpoint and
// puts it back, one incremental sync each.
func BenchmarkApplyOneEndpointOneBigService(b *testing.B) {
	bigSizes(b, func(b *testing.B, mode Mode, n int) {
		be := newBackend(b, newNetNS(b), mode)
		full, less := oneBigService(n), oneBigService(n)
		eps := &less.Services[0].ClusterEndpoints
		*eps = slices.Delete(*eps, n/2, n/2+1)
		apply(b, be, full)
		for i := 0; b.Loop(); i++ {
			st := apply(b, be, []*synth.Ruleset{less, full}[i%2])
			b.ReportMetric(float64(st.Changes), "changes")
		}
	})
}
