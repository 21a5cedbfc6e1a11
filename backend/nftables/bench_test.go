package nftables

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"testing"

	"github.com/svcnat/svcnat/backend"
	"github.com/svcnat/svcnat/synth"
)

// bigRuleset is a synthetic cluster: n Services with 10 endpoints each,
// every tenth with a NodePort, sorted by name as synth sorts.
func bigRuleset(n int) *synth.Ruleset {
	rs := &synth.Ruleset{
		Family:        synth.IPv4,
		NodeIPs:       addrs("192.168.1.1"),
		NodePortAddrs: addrs("192.168.1.1"),
		ClusterCIDRs:  prefixes("10.128.0.0/9"),
		ServiceCIDRs:  prefixes("10.96.0.0/12"),
	}
	for i := range n {
		ip := netip.AddrFrom4([4]byte{10, 96 + byte(i>>16), byte(i >> 8), byte(i)})
		sp := synth.ServicePort{
			Name:      synth.ServicePortName{Namespace: "bench", Name: fmt.Sprintf("svc-%05d", i), Protocol: synth.TCP},
			ID:        fmt.Sprintf("B%015d", i),
			ClusterIP: ip, Port: 80,
		}
		if i%10 == 0 {
			sp.NodePort = uint16(30000 + i/10)
		}
		for j := range 10 {
			sp.ClusterEndpoints = append(sp.ClusterEndpoints, synth.Endpoint{
				Addr: netip.AddrFrom4([4]byte{10, 128 + byte(i>>14), byte(i >> 6), byte(i&63)<<2 | byte(j&3)}), Port: uint16(8000 + j)})
		}
		rs.ClusterIPs = append(rs.ClusterIPs, ip)
		rs.Services = append(rs.Services, &sp)
	}
	return rs
}

// benchSizes runs f at 1k and 10k Services, and at 50k too when
// SVCNAT_BENCH_50K is set (a full apply at 50k takes about ten seconds).
func benchSizes(b *testing.B, f func(b *testing.B, n int)) {
	sizes := []int{1000, 10000}
	if os.Getenv("SVCNAT_BENCH_50K") != "" {
		sizes = append(sizes, 50000)
	}
	for _, n := range sizes {
		b.Run(fmt.Sprintf("%dk", n/1000), func(b *testing.B) { f(b, n) })
	}
}

// BenchmarkRender measures the dry run (`svcnat render` without reading
// the manifests and synth): model, whole table, nft script.
func BenchmarkRender(b *testing.B) {
	benchSizes(b, func(b *testing.B, n int) {
		rs := []*synth.Ruleset{bigRuleset(n)}
		b.ResetTimer()
		for b.Loop() {
			out, err := Render(rs)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(out)))
		}
	})
}

// BenchmarkApplyFull measures a full sync into an empty namespace (a
// Reconcile of an unchanged table sends nothing: BenchmarkReconcileNoChange).
func BenchmarkApplyFull(b *testing.B) {
	benchSizes(b, func(b *testing.B, n int) {
		rs := bigRuleset(n)
		be := newBackend(b, newNetNS(b))
		b.ResetTimer()
		for b.Loop() {
			b.StopTimer()
			if err := be.Cleanup(context.Background()); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			st := mustApply(b, be, rs)
			b.ReportMetric(float64(st.Rules), "rules")
		}
	})
}

// BenchmarkApplyOneEndpoint measures an incremental sync where one
// endpoint of one Service changed, told which port changed (as the agent
// tells it; BenchmarkApplyOneEndpointUnhinted compares every port).
func BenchmarkApplyOneEndpoint(b *testing.B) { benchOneEndpoint(b, true) }

// BenchmarkApplyOneEndpointUnhinted is BenchmarkApplyOneEndpoint through
// plain Apply, which compares every service port.
func BenchmarkApplyOneEndpointUnhinted(b *testing.B) { benchOneEndpoint(b, false) }

func benchOneEndpoint(b *testing.B, told bool) {
	benchSizes(b, func(b *testing.B, n int) {
		rs := bigRuleset(n)
		be := newBackend(b, newNetNS(b))
		mustApply(b, be, rs)
		eps := rs.Services[n/2].ClusterEndpoints
		var changed *synth.Changes // nil: not known, exactly Apply
		if told {
			changed = &synth.Changes{Ports: map[synth.Family][]synth.ServicePortName{synth.IPv4: {rs.Services[n/2].Name}}}
		}
		b.ResetTimer()
		for i := 0; b.Loop(); i++ {
			eps[0].Port = uint16(9000 + i%2)
			st, err := backend.Apply(b.Context(), be, []*synth.Ruleset{rs}, changed)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(st.Changes), "changes")
		}
	})
}

// BenchmarkFirstPlan measures a starting agent's first plan, into an empty
// namespace and (restarted) into one holding the table an earlier Backend
// applied from the same Rulesets, which it reads back and compares
// (nothing to change). held-MB is the heap the plan keeps alive until
// Commit, measured after a collection: the model, and whatever the
// comparison with the kernel's table leaves behind.
func BenchmarkFirstPlan(b *testing.B) {
	for _, applied := range []bool{false, true} {
		b.Run(map[bool]string{false: "empty", true: "applied"}[applied], func(b *testing.B) {
			benchSizes(b, func(b *testing.B, n int) {
				rs := []*synth.Ruleset{bigRuleset(n)}
				ns := newNetNS(b)
				if applied {
					mustApply(b, newBackend(b, ns), rs...)
				}
				b.ResetTimer()
				for b.Loop() {
					firstPlan(b, ns, rs, applied)
				}
			})
		})
	}
}

func firstPlan(b *testing.B, ns string, rs []*synth.Ruleset, applied bool) {
	be, err := New(backend.Options{NetNS: ns})
	if err != nil {
		b.Fatal(err)
	}
	defer be.Close()
	before := heapAfterGC()
	p, err := be.Plan(b.Context(), rs, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(heapAfterGC()-before)/(1<<20), "held-MB")
	if p.Empty() == !applied {
		b.Fatalf("applied=%v, plan:\n%.2000s", applied, p)
	}
}

// heapAfterGC is the live heap in bytes.
func heapAfterGC() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
