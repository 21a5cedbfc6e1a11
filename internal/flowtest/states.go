package flowtest

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"

	"github.com/svcnat/svcnat/synth"
)

// states derives changing cluster states from the seed scenario's Input:
// one Service (svc) with one EndpointSlice (slice), used as templates.
type states struct {
	svc    *corev1.Service
	slice  *discoveryv1.EndpointSlice
	stable []string // endpoint addresses of svc that never go away
	extra  string   // endpoint address of svc that comes and goes
}

// node names the node of a pod address of the seed (10.244.N.x: node-N).
func node(addr string) string {
	if len(addr) > 7 && addr[:7] == "10.244." {
		return "node-" + addr[7:8]
	}
	return "node-1"
}

// state returns the i-th state: state 0 is the stable Service alone; later
// states toggle the extra endpoint, create and delete other Services and
// grow and shrink their endpoints.
func (s *states) state(i int) synth.Input {
	watched := s.stable
	if i%4 == 1 || i%4 == 2 {
		watched = append(append([]string(nil), s.stable...), s.extra)
	}
	in := synth.Input{
		Services:       []*corev1.Service{s.svc},
		EndpointSlices: []*discoveryv1.EndpointSlice{s.sliceFor(s.svc.Name, "watched", watched)},
	}
	if i == 0 {
		return in
	}
	if i%5 != 4 {
		in = s.with(in, "other", "10.96.0.81", 30081, endpoints("10.244.2.", 20, i%6))
	}
	for k := range i % 7 {
		in = s.with(in, fmt.Sprintf("churn-%d", k), fmt.Sprintf("10.96.1.%d", k+1), 0,
			endpoints("10.244.1.", 30+k, 1+(i+k)%3))
	}
	return in
}

// endpoints returns n addresses prefix+first, prefix+first+1, ...
func endpoints(prefix string, first, n int) []string {
	var out []string
	for j := range n {
		out = append(out, fmt.Sprintf("%s%d", prefix, first+j))
	}
	return out
}

// with adds a Service like the template named name, on clusterIP, with a
// NodePort unless nodePort is 0, and its slice of addrs.
func (s *states) with(in synth.Input, name, clusterIP string, nodePort int32, addrs []string) synth.Input {
	svc := s.svc.DeepCopy()
	svc.Name = name
	svc.Spec.ClusterIP, svc.Spec.ClusterIPs = clusterIP, []string{clusterIP}
	svc.Spec.Ports[0].NodePort = nodePort
	if nodePort == 0 {
		svc.Spec.Type = corev1.ServiceTypeClusterIP
	}
	in.Services = append(in.Services, svc)
	in.EndpointSlices = append(in.EndpointSlices, s.sliceFor(name, name, addrs))
	return in
}

// sliceFor returns a copy of the template slice for Service svc with one
// ready endpoint per address.
func (s *states) sliceFor(svc, suffix string, addrs []string) *discoveryv1.EndpointSlice {
	sl := s.slice.DeepCopy()
	sl.Name = svc + "-" + suffix
	sl.Labels = map[string]string{discoveryv1.LabelServiceName: svc}
	sl.Endpoints = nil
	for _, a := range addrs {
		ep := *s.slice.Endpoints[0].DeepCopy()
		ep.Addresses = []string{a}
		n := node(a)
		ep.NodeName = &n
		sl.Endpoints = append(sl.Endpoints, ep)
	}
	return sl
}
