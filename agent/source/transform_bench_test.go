package source

import (
	"encoding/json"
	"fmt"
	"runtime"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"
)

// BenchmarkLeanSlicesHeap reports the live heap (cache-MB) that 10k
// EndpointSlices of 10 endpoints each hold once decoded from the API's
// JSON and transformed, as in an agent's informer cache at 10k Services:
// with their trigger times, and on a node's start, when every trigger time
// is older than the source.
func BenchmarkLeanSlicesHeap(b *testing.B) {
	b.Run("triggers", func(b *testing.B) { benchLeanSlices(b, leanObject) })
	b.Run("start", func(b *testing.B) { benchLeanSlices(b, leanObjectsSince(time.Now())) })
}

func benchLeanSlices(b *testing.B, lean cache.TransformFunc) {
	const n = 10000
	raw := make([][]byte, n)
	for i := range n {
		s := fatSlice(fmt.Sprintf("svc-%05d-abcde", i), fmt.Sprintf("svc-%05d", i))
		for len(s.Endpoints) < 10 { // 10 endpoints on 3 nodes, addresses unique
			e := s.Endpoints[len(s.Endpoints)%3]
			e.Addresses = []string{fmt.Sprintf("10.%d.%d.%d", 128+i>>14, (i>>6)&255, len(s.Endpoints))}
			s.Endpoints = append(s.Endpoints, e)
		}
		raw[i] = mustJSON(b, s)
	}
	reportCacheHeap(b, raw, func() any { return &discoveryv1.EndpointSlice{} }, lean)
}

func mustJSON(b *testing.B, v any) []byte {
	raw, err := json.Marshal(v)
	if err != nil {
		b.Fatal(err)
	}
	return raw
}

// reportCacheHeap decodes every object of raw into a new() object, keeps
// what lean makes of it, and reports the live heap they hold (cache-MB).
func reportCacheHeap(b *testing.B, raw [][]byte, newObject func() any, lean cache.TransformFunc) {
	var held []any
	var mb float64
	for range b.N {
		held = nil
		before := liveHeap()
		held = make([]any, len(raw))
		for i, r := range raw {
			obj := newObject()
			if err := json.Unmarshal(r, obj); err != nil {
				b.Fatal(err)
			}
			held[i], _ = lean(obj)
		}
		mb = float64(liveHeap()-before) / 1e6
	}
	runtime.KeepAlive(held)
	b.ReportMetric(mb, "cache-MB")
}

func liveHeap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// BenchmarkLeanServicesHeap reports the live heap (cache-MB) that 10k
// Services hold once decoded from the API's JSON and transformed, as in an
// agent's informer cache at 10k Services: ClusterIP Services with the
// fields the API server fills in, every tenth a NodePort.
func BenchmarkLeanServicesHeap(b *testing.B) {
	const n = 10000
	raw := make([][]byte, n)
	for i := range n {
		s := fatService(fmt.Sprintf("svc-%05d", i), fmt.Sprintf("10.96.%d.%d", i>>8, i&255), "", nil)
		s.Spec.Type, s.Spec.ExternalTrafficPolicy, s.Spec.HealthCheckNodePort = corev1.ServiceTypeClusterIP, "", 0
		s.Spec.SessionAffinity, s.Spec.LoadBalancerSourceRanges = corev1.ServiceAffinityNone, nil
		s.Spec.Ports[0].NodePort = 0
		if i%10 == 0 {
			s.Spec.Type, s.Spec.ExternalTrafficPolicy = corev1.ServiceTypeNodePort, corev1.ServiceExternalTrafficPolicyCluster
			s.Spec.Ports[0].NodePort = int32(30000 + i/10)
		}
		s.Spec.IPFamilies = []corev1.IPFamily{corev1.IPv4Protocol}
		s.Spec.IPFamilyPolicy = ptr.To(corev1.IPFamilyPolicySingleStack)
		s.Spec.InternalTrafficPolicy = ptr.To(corev1.ServiceInternalTrafficPolicyCluster)
		s.Status = corev1.ServiceStatus{}
		raw[i] = mustJSON(b, s)
	}
	reportCacheHeap(b, raw, func() any { return &corev1.Service{} }, leanObject)
}
