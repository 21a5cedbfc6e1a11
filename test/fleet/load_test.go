//go:build fleet

package fleet

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"github.com/svcnat/svcnat/netns"
)

// namespace holds every object of the load.
const namespace = "fleet"

// load is the cluster state the load generator owns: its Services and
// their endpoints. Endpoints live in the nodes' pods namespaces, which
// answer on any pod address, so replacing one changes the rules, never
// whether a connection can succeed.
type load struct {
	client kubernetes.Interface
	nodes  []*netns.FleetNode

	mu       sync.Mutex
	services []*service // the generated ones, svc-00000 …
	probes   []*service // one endpoint each, moved to measure latency
	nextPod  []int      // per node: the next unused pod address
	rnd      *rand.Rand
}

// service is one Service and its single EndpointSlice.
type service struct {
	name      string
	clusterIP netip.Addr
	nodePort  uint16  // 0: not a NodePort Service
	onNodes   [2]int  // the nodes its endpoints are on
	endpoints []podIP // current
}

type podIP struct {
	ip   netip.Addr
	node int
}

func newLoad(client kubernetes.Interface, nodes []*netns.FleetNode, seed uint64) *load {
	return &load{client: client, nodes: nodes, nextPod: make([]int, len(nodes)), rnd: rand.New(rand.NewPCG(seed, 1))}
}

// newPod allocates a fresh pod address on node n.
func (l *load) newPod(n int) podIP {
	ip := l.nodes[n].PodIP(l.nextPod[n])
	l.nextPod[n]++
	return podIP{ip, n}
}

// plan decides Service i's shape: its endpoints alternate between two
// neighbouring nodes, so every node has Services whose pods are all
// elsewhere (the clients' targets).
func (l *load) plan(i, endpoints int) *service {
	n := len(l.nodes)
	s := &service{name: fmt.Sprintf("svc-%05d", i), onNodes: [2]int{i % n, (i + 1) % n}}
	if i%nodePortEvery == 0 {
		s.nodePort = uint16(firstNodePort + i/nodePortEvery)
	}
	for j := range endpoints {
		s.endpoints = append(s.endpoints, l.newPod(s.onNodes[j%2]))
	}
	return s
}

// createAll creates the probe Services, then count generated Services with
// their slices, from workers sharing the client's rate limiter.
func (l *load) createAll(ctx context.Context, count int) error {
	l.mu.Lock()
	for k := range probeServices {
		p := &service{name: fmt.Sprintf("probe-%d", k), onNodes: [2]int{k % len(l.nodes), k % len(l.nodes)}}
		p.endpoints = []podIP{l.newPod(p.onNodes[0])}
		l.probes = append(l.probes, p)
	}
	for i := range count {
		l.services = append(l.services, l.plan(i, endpointsPerService))
	}
	all := append(append([]*service(nil), l.probes...), l.services...)
	l.mu.Unlock()
	if _, err := l.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("namespace: %w", err)
	}
	return forEach(ctx, 32, all, l.create)
}

// forEach runs fn on every item from workers goroutines; the first error
// stops the others.
func forEach[T any](ctx context.Context, workers int, items []T, fn func(context.Context, T) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := make(chan T)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range next {
				if err := fn(ctx, it); err != nil {
					cancel(err)
				}
			}
		}()
	}
feed:
	for _, it := range items {
		select {
		case next <- it:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	return context.Cause(ctx)
}

func (l *load) create(ctx context.Context, s *service) error {
	svc, err := retry(ctx, func() (*corev1.Service, error) {
		svc, err := l.client.CoreV1().Services(namespace).Create(ctx, serviceObject(s), metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) { // an earlier attempt timed out but was done
			return l.client.CoreV1().Services(namespace).Get(ctx, s.name, metav1.GetOptions{})
		}
		return svc, err
	})
	if err != nil {
		return fmt.Errorf("create Service %s: %w", s.name, err)
	}
	ip, err := netip.ParseAddr(svc.Spec.ClusterIP)
	if err != nil {
		return fmt.Errorf("Service %s: ClusterIP %q: %w", s.name, svc.Spec.ClusterIP, err)
	}
	l.mu.Lock()
	s.clusterIP = ip
	slice := l.sliceObject(s, time.Now())
	l.mu.Unlock()
	_, err = retry(ctx, func() (*discoveryv1.EndpointSlice, error) {
		created, err := l.client.DiscoveryV1().EndpointSlices(namespace).Create(ctx, slice, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			return l.client.DiscoveryV1().EndpointSlices(namespace).Update(ctx, slice, metav1.UpdateOptions{})
		}
		return created, err
	})
	if err != nil {
		return fmt.Errorf("create EndpointSlice of %s: %w", s.name, err)
	}
	return nil
}

// retry calls fn until it succeeds, up to 5 times a second apart: an API
// server under the load of creation can time a request out or ask the
// client to come back later (429).
func retry[T any](ctx context.Context, fn func() (T, error)) (T, error) {
	var v T
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		if v, err = fn(); err == nil || !transient(err) {
			return v, err
		}
		select {
		case <-ctx.Done():
			return v, ctx.Err()
		case <-time.After(time.Second):
		}
	}
	return v, err
}

func transient(err error) bool {
	return apierrors.IsTimeout(err) || apierrors.IsServerTimeout(err) || apierrors.IsTooManyRequests(err) ||
		apierrors.IsInternalError(err) || apierrors.IsServiceUnavailable(err) || errors.Is(err, context.DeadlineExceeded) ||
		isNetError(err)
}

// isNetError: the request did not get an answer (a client timeout, a reset).
func isNetError(err error) bool {
	var ne net.Error
	return errors.As(err, &ne)
}

func serviceObject(s *service) *corev1.Service {
	port := corev1.ServicePort{Protocol: corev1.ProtocolTCP, Port: servicePort, TargetPort: intstr.FromInt32(targetPort)}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: s.name, Namespace: namespace},
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, Ports: []corev1.ServicePort{port}},
	}
	if s.nodePort != 0 {
		svc.Spec.Type = corev1.ServiceTypeNodePort
		svc.Spec.Ports[0].NodePort = int32(s.nodePort)
	}
	return svc
}

// sliceObject is s's EndpointSlice as the EndpointSlice controller would
// write it, the trigger-time annotation included: both proxies derive
// network_programming_duration_seconds from it. Called with l.mu held.
func (l *load) sliceObject(s *service, trigger time.Time) *discoveryv1.EndpointSlice {
	ready, portName, port, proto := true, "", int32(targetPort), corev1.ProtocolTCP
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{
			Name:      s.name + "-1",
			Namespace: namespace,
			Labels: map[string]string{
				discoveryv1.LabelServiceName: s.name,
				discoveryv1.LabelManagedBy:   "fleet-load-generator",
			},
			Annotations: map[string]string{corev1.EndpointsLastChangeTriggerTime: trigger.UTC().Format(time.RFC3339Nano)},
		},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: &portName, Port: &port, Protocol: &proto}},
	}
	for _, ep := range s.endpoints {
		node := l.nodes[ep.node].Name
		slice.Endpoints = append(slice.Endpoints, discoveryv1.Endpoint{
			Addresses:  []string{ep.ip.String()},
			Conditions: discoveryv1.EndpointConditions{Ready: &ready, Serving: &ready},
			NodeName:   &node,
		})
	}
	return slice
}

// replaceEndpoint replaces one endpoint of a random generated Service by a
// new pod on the same node (a pod rescheduled).
func (l *load) replaceEndpoint(ctx context.Context) error {
	l.mu.Lock()
	s := l.services[l.rnd.IntN(len(l.services))]
	j := l.rnd.IntN(len(s.endpoints))
	s.endpoints[j] = l.newPod(s.endpoints[j].node)
	slice := l.sliceObject(s, time.Now())
	l.mu.Unlock()
	_, err := l.client.DiscoveryV1().EndpointSlices(namespace).Update(ctx, slice, metav1.UpdateOptions{})
	return err
}

// moveProbe moves probe k's only endpoint to a new pod on the next node and
// returns the new address and the time just before the API write.
func (l *load) moveProbe(ctx context.Context, k int) (netip.Addr, time.Time, error) {
	l.mu.Lock()
	p := l.probes[k]
	node := (p.endpoints[0].node + 1) % len(l.nodes)
	p.endpoints[0] = l.newPod(node)
	ip := p.endpoints[0].ip
	written := time.Now()
	slice := l.sliceObject(p, written)
	l.mu.Unlock()
	_, err := l.client.DiscoveryV1().EndpointSlices(namespace).Update(ctx, slice, metav1.UpdateOptions{})
	return ip, written, err
}

// probe returns probe k's ClusterIP and current endpoint.
func (l *load) probe(k int) (netip.Addr, netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.probes[k].clusterIP, l.probes[k].endpoints[0].ip
}

// target picks a destination for a client pod on node self: a Service whose
// endpoints are all on other nodes, by ClusterIP or, for a NodePort
// Service, every other time by another node's address and NodePort.
// With three nodes or more, a third of the Services qualify at least.
func (l *load) target(self int) netip.AddrPort {
	l.mu.Lock()
	defer l.mu.Unlock()
	for {
		s := l.services[l.rnd.IntN(len(l.services))]
		if s.onNodes[0] == self || s.onNodes[1] == self {
			continue
		}
		if s.nodePort != 0 && l.rnd.IntN(2) == 0 {
			other := (self + 1 + l.rnd.IntN(len(l.nodes)-1)) % len(l.nodes)
			return netip.AddrPortFrom(l.nodes[other].Host.IPv4(), s.nodePort)
		}
		return netip.AddrPortFrom(s.clusterIP, servicePort)
	}
}

// sample returns n random generated Services and the last one created,
// for checking that a node has programmed them all.
func (l *load) sample(n int) []*service {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]*service, 0, n)
	for range n {
		out = append(out, l.services[l.rnd.IntN(len(l.services))])
	}
	return append(out, l.services[len(l.services)-1])
}
