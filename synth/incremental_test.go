package synth_test

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/svcnat/svcnat/internal/gen"
	"github.com/svcnat/svcnat/synth"
)

// TestBuilderIncrementalMatchesBuild drives the Builder's indexes through
// changes the plain replay test does not make: Services created (older
// or younger than the rest) and deleted with their slices, externalIPs
// and load-balancer IPs taken from other Services' ClusterIPs (chains of
// claims), the same object listed twice, two slices of one name, lists
// reordered, nil entries. After every step the Result must be Build's,
// Changed must name every port that differs, and the previous Result must
// be as it was (Results share lists with the Builder).
func TestBuilderIncrementalMatchesBuild(t *testing.T) {
	for seed := range uint64(8) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			cfg := gen.Config{Services: 20, EndpointsPerService: 3, NodePortFraction: 0.5, Seed: int64(seed)}.WithDefaults()
			in := gen.Cluster(cfg)
			node := synth.Config{NodeName: cfg.NodeName, NodeIPs: []netip.Addr{netip.MustParseAddr("172.18.0.1")}}
			rng := rand.New(rand.NewPCG(seed, 99))
			var b synth.Builder
			var prev synth.Result
			for step := range 600 {
				in = mutateMore(rng, in, step)
				want := synth.Build(in, node)
				prevIPs := clusterIPs(prev)
				got := b.Build(in, node)
				if diff := cmp.Diff(prevIPs, clusterIPs(prev), netipValues); diff != "" {
					t.Fatalf("step %d: Build changed the previous Result's ClusterIPs (-before +after):\n%s", step, diff)
				}
				if diff := cmp.Diff(want, got, netipValues, ignoreChanged); diff != "" {
					t.Fatalf("step %d: Builder differs from Build (-want +got):\n%s", step, diff)
				}
				if missed := unnamedChanges(prev, got); len(missed) > 0 {
					t.Fatalf("step %d: Changed misses changed ports %v", step, missed)
				}
				if got.Changed != nil && !got.Changed.Fields && !fieldsEqual(prev, got) {
					t.Fatalf("step %d: Ruleset-wide fields changed, Changed.Fields is not set", step)
				}
				prev = got
			}
		})
	}
}

// clusterIPs copies the ClusterIPs of r's rulesets.
func clusterIPs(r synth.Result) [][]netip.Addr {
	var out [][]netip.Addr
	for _, rs := range []*synth.Ruleset{r.IPv4, r.IPv6} {
		if rs != nil {
			out = append(out, slices.Clone(rs.ClusterIPs))
		}
	}
	return out
}

// mutateMore returns a copy of in with one or two changes; unchanged
// objects keep their pointers.
func mutateMore(rng *rand.Rand, in synth.Input, step int) synth.Input {
	out := synth.Input{
		Services:       slices.Clone(in.Services),
		EndpointSlices: slices.Clone(in.EndpointSlices),
		Nodes:          in.Nodes,
	}
	out.Services = slices.DeleteFunc(out.Services, func(s *corev1.Service) bool { return s == nil })
	if len(out.Services) < 5 || len(out.EndpointSlices) < 5 {
		out.Services = append(out.Services, newService(rng, step, out.Services))
		return out
	}
	i, j := rng.IntN(len(out.Services)), rng.IntN(len(out.Services))
	switch rng.IntN(13) {
	case 0: // a new Service, sometimes older than every other, with a slice
		svc := newService(rng, step, out.Services)
		out.Services = slices.Insert(out.Services, rng.IntN(len(out.Services)+1), svc)
		out.EndpointSlices = append(out.EndpointSlices, newSlice(svc, step, rng))
	case 1: // a Service and its slices go
		gone := out.Services[i]
		out.Services = slices.Delete(out.Services, i, i+1)
		out.EndpointSlices = slices.DeleteFunc(out.EndpointSlices, func(s *discoveryv1.EndpointSlice) bool {
			return s.Namespace == gone.Namespace && s.Labels[discoveryv1.LabelServiceName] == gone.Name
		})
	case 2: // an externalIP that is another Service's ClusterIP
		s := out.Services[i].DeepCopy()
		s.Spec.ExternalIPs = append(s.Spec.ExternalIPs, out.Services[j].Spec.ClusterIP)
		out.Services[i] = s
	case 3: // a load-balancer IP that is another Service's ClusterIP
		s := out.Services[i].DeepCopy()
		s.Spec.Type = corev1.ServiceTypeLoadBalancer
		s.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: out.Services[j].Spec.ClusterIP}}
		out.Services[i] = s
	case 4: // the same Service object twice (Build must sort it out)
		out.Services = append(out.Services, out.Services[i])
		if rng.IntN(2) == 0 { // and later gone again
			out.Services = out.Services[:len(out.Services)-1]
		}
	case 5: // a second slice of the same name for a Service
		s := out.EndpointSlices[rng.IntN(len(out.EndpointSlices))].DeepCopy()
		s.Endpoints = s.Endpoints[:min(1, len(s.Endpoints))]
		out.EndpointSlices = append(out.EndpointSlices, s)
	case 6: // reordered lists (another source's order)
		rng.Shuffle(len(out.Services), func(a, b int) { out.Services[a], out.Services[b] = out.Services[b], out.Services[a] })
	case 7: // a nil entry
		out.Services = append(out.Services, nil)
	case 8: // a slice goes
		k := rng.IntN(len(out.EndpointSlices))
		out.EndpointSlices = slices.Delete(out.EndpointSlices, k, k+1)
	case 9, 10: // contested nodePorts
		stealNodePort(rng, out.Services)
	default: // the usual edits
		return mutate(rng, out)
	}
	return out
}

func newService(rng *rand.Rand, step int, existing []*corev1.Service) *corev1.Service {
	name := fmt.Sprintf("new-%d", step)
	created := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	if rng.IntN(2) == 0 && len(existing) > 0 {
		created = existing[0].CreationTimestamp.Add(-time.Hour)
	}
	ip := fmt.Sprintf("10.99.%d.%d", step/250, step%250+1)
	if rng.IntN(4) == 0 && len(existing) > 0 { // a ClusterIP already in use
		ip = existing[rng.IntN(len(existing))].Spec.ClusterIP
	}
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, CreationTimestamp: metav1.NewTime(created)},
		Spec: corev1.ServiceSpec{
			Type: corev1.ServiceTypeNodePort, ClusterIP: ip, ClusterIPs: []string{ip},
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP, NodePort: int32(30000 + rng.IntN(40))}},
		},
	}
}

func newSlice(svc *corev1.Service, step int, rng *rand.Rand) *discoveryv1.EndpointSlice {
	name, port, proto := "http", int32(8080), corev1.ProtocolTCP
	return &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Namespace: svc.Namespace, Name: svc.Name + "-x",
			Labels: map[string]string{discoveryv1.LabelServiceName: svc.Name}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{fmt.Sprintf("10.251.%d.%d", step%250, rng.IntN(250)+1)}}},
		Ports:       []discoveryv1.EndpointPort{{Name: &name, Port: &port, Protocol: &proto}},
	}
}

// TestListChanges checks the pointer diff against a plain set difference.
func TestListChanges(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 2000 {
		old := rng.Perm(rng.IntN(12))
		next := slices.Clone(old)
		for range rng.IntN(4) {
			switch rng.IntN(3) {
			case 0:
				next = slices.Insert(next, rng.IntN(len(next)+1), 100+rng.IntN(5))
			case 1:
				if len(next) > 0 {
					k := rng.IntN(len(next))
					next = slices.Delete(next, k, k+1)
				}
			case 2:
				if len(next) > 0 {
					next[rng.IntN(len(next))] = 200 + rng.IntN(5)
				}
			}
		}
		added, removed, ok := synth.ListChanges(old, next)
		dup := len(slices.Compact(slices.Sorted(slices.Values(next)))) != len(next)
		if !ok {
			if !dup {
				t.Fatalf("ListChanges(%v, %v): not ok without a duplicate", old, next)
			}
			continue
		}
		wantAdded := slices.DeleteFunc(slices.Clone(next), func(x int) bool { return slices.Contains(old, x) })
		wantRemoved := slices.DeleteFunc(slices.Clone(old), func(x int) bool { return slices.Contains(next, x) })
		slices.Sort(added)
		slices.Sort(removed)
		slices.Sort(wantRemoved)
		wantAdded = slices.Compact(slices.Sorted(slices.Values(wantAdded)))
		if !slices.Equal(added, wantAdded) || !slices.Equal(removed, wantRemoved) {
			t.Fatalf("ListChanges(%v, %v) = +%v -%v; want +%v -%v", old, next, added, removed, wantAdded, wantRemoved)
		}
	}
}
