package manifest

import (
	"slices"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"

	"github.com/svcnat/svcnat/synth"
)

// trimService drops what svcnat never reads from a decoded Service:
// managed fields, the selector (EndpointSlices say which pods back a
// Service) and the labels other than the two synth looks at. Most of a
// large cluster's manifest is such detail, and the objects stay in memory
// while the model is built.
func trimService(svc *corev1.Service) {
	svc.ManagedFields = nil
	svc.Spec.Selector = nil
	var kept map[string]string
	for _, k := range []string{synth.ProxyNameLabel, synth.HeadlessLabel} {
		if v, ok := svc.Labels[k]; ok {
			if kept == nil {
				kept = map[string]string{}
			}
			kept[k] = v
		}
	}
	svc.Labels = kept
}

// trimEndpointSlice drops managed fields and each endpoint's targetRef,
// hostname and deprecated topology, and gives the endpoint list its exact
// length (decoding grows it by doubling).
func trimEndpointSlice(s *discoveryv1.EndpointSlice) {
	s.ManagedFields = nil
	for i := range s.Endpoints {
		ep := &s.Endpoints[i]
		ep.TargetRef, ep.Hostname, ep.DeprecatedTopology = nil, nil, nil
	}
	if cap(s.Endpoints) > len(s.Endpoints) {
		s.Endpoints = slices.Clone(s.Endpoints)
	}
}

// trimNode keeps a Node's metadata (its zone label), addresses and
// nothing of its status besides: images and conditions are large.
func trimNode(n *corev1.Node) {
	n.ManagedFields = nil
	n.Status = corev1.NodeStatus{Addresses: n.Status.Addresses}
}
