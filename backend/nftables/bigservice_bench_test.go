package nftables

import (
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/svcnat/svcnat/backend"
	"github.com/svcnat/svcnat/synth"
)

// oneBigService is a Ruleset of one NodePort Service with n endpoints
// (sorted, as synth sorts them): a big Deployment or a DaemonSet-backed
// Service on a large cluster.
func oneBigService(n int) *synth.Ruleset {
	ip := netip.MustParseAddr("10.96.0.10")
	sp := synth.ServicePort{
		Name:      synth.ServicePortName{Namespace: "bench", Name: "big", Protocol: synth.TCP},
		ID:        "BIGSERVICE000000",
		ClusterIP: ip, Port: 80, NodePort: 30080,
	}
	for j := range n {
		sp.ClusterEndpoints = append(sp.ClusterEndpoints, synth.Endpoint{Addr: bigEndpointAddr(j), Port: 8080})
	}
	return &synth.Ruleset{
		Family:        synth.IPv4,
		NodeIPs:       addrs("192.168.1.1"),
		NodePortAddrs: addrs("192.168.1.1"),
		ClusterCIDRs:  prefixes("10.128.0.0/9"),
		ServiceCIDRs:  prefixes("10.96.0.0/12"),
		ClusterIPs:    []netip.Addr{ip},
		Services:      []*synth.ServicePort{&sp},
	}
}

func bigEndpointAddr(j int) netip.Addr {
	return netip.AddrFrom4([4]byte{10, 128 + byte(j>>16), byte(j >> 8), byte(j)})
}

// bigSizes are the endpoint counts of the one-Service benchmarks; 100k
// only with SVCNAT_BENCH_100K set (its full apply alone takes seconds).
func bigSizes(b *testing.B, f func(b *testing.B, n int)) {
	sizes := []int{1000, 10000}
	if os.Getenv("SVCNAT_BENCH_100K") != "" {
		sizes = append(sizes, 100000)
	}
	for _, n := range sizes {
		b.Run(fmt.Sprintf("%dk", n/1000), func(b *testing.B) { f(b, n) })
	}
}

// processCPU is the CPU time the process has used, user and system (the
// kernel's work on its netlink messages included): on a shared machine it
// shows the cost of a sync better than the wall clock.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkRenderOneBigService renders one Service with n endpoints.
func BenchmarkRenderOneBigService(b *testing.B) {
	bigSizes(b, func(b *testing.B, n int) {
		rs := oneBigService(n)
		for b.Loop() {
			if _, err := Render([]*synth.Ruleset{rs}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkApplyFullOneBigService applies one Service with n endpoints
// into an empty table.
func BenchmarkApplyFullOneBigService(b *testing.B) {
	bigSizes(b, func(b *testing.B, n int) {
		rs := oneBigService(n)
		be := newBackend(b, newNetNS(b))
		for b.Loop() {
			b.StopTimer()
			if err := be.Cleanup(b.Context()); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			mustApply(b, be, rs)
		}
	})
}

// BenchmarkApplyOneEndpointOneBigService removes the middle endpoint of
// one Service with n endpoints, then puts it back, as a pod replaced in a
// big Deployment does: each iteration is one sync, told which port changed.
// The list's length changes by one: inside its cell (sampledModuli) only
// map elements change; a list shorter than ownDNATMin would move to other
// shared chains.
func BenchmarkApplyOneEndpointOneBigService(b *testing.B) {
	bigSizes(b, func(b *testing.B, n int) {
		less := oneBigService(n)
		eps := &less.Services[0].ClusterEndpoints
		*eps = slices.Delete(*eps, n/2, n/2+1)
		benchBigServiceSyncs(b, n, less)
	})
}

// BenchmarkApplyMovedEndpointOneBigService changes the port of the middle
// endpoint and back: the list keeps its length and its chains.
func BenchmarkApplyMovedEndpointOneBigService(b *testing.B) {
	bigSizes(b, func(b *testing.B, n int) {
		moved := oneBigService(n)
		moved.Services[0].ClusterEndpoints[n/2].Port = 9999
		benchBigServiceSyncs(b, n, moved)
	})
}

// benchBigServiceSyncs applies oneBigService(n), then alternates between
// other and it, reporting changes and CPU time per sync.
func benchBigServiceSyncs(b *testing.B, n int, other *synth.Ruleset) {
	full := oneBigService(n)
	be := newBackend(b, newNetNS(b))
	mustApply(b, be, full)
	changed := &synth.Changes{Ports: map[synth.Family][]synth.ServicePortName{synth.IPv4: {full.Services[0].Name}}}
	runtime.GC() // the setup's garbage is not the sync's cost
	cpu0 := processCPU(b)
	for i := 0; b.Loop(); i++ {
		rs := []*synth.Ruleset{other, full}[i%2]
		st, err := backend.Apply(b.Context(), be, []*synth.Ruleset{rs}, changed)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(st.Changes), "changes")
	}
	b.ReportMetric(float64(processCPU(b)-cpu0)/float64(b.N)/1e6, "cpu-ms/op")
}
