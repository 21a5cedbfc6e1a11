package gen

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// slices builds the EndpointSlices of svc: its endpoints, at most
// maxSliceEndpoints per slice, and always at least one slice.
func (b *builder) slices(svc *corev1.Service) []*discoveryv1.EndpointSlice {
	n := b.cfg.EndpointsPerService
	podHash := b.randomSuffix()
	var out []*discoveryv1.EndpointSlice
	seen := map[string]bool{}
	for first := 0; first == 0 || first < n; first += maxSliceEndpoints {
		eps := b.newSlice(svc, seen)
		for k := first; k < min(n, first+maxSliceEndpoints); k++ {
			eps.Endpoints = append(eps.Endpoints, b.endpoint(svc, podHash))
		}
		out = append(out, eps)
	}
	return out
}

// newSlice returns an EndpointSlice of svc without endpoints, with a name
// not in seen.
func (b *builder) newSlice(svc *corev1.Service, seen map[string]bool) *discoveryv1.EndpointSlice {
	name := svc.Name + "-" + b.randomSuffix()
	for seen[name] {
		name = svc.Name + "-" + b.randomSuffix()
	}
	seen[name] = true
	eps := &discoveryv1.EndpointSlice{
		TypeMeta: metav1.TypeMeta{APIVersion: "discovery.k8s.io/v1", Kind: "EndpointSlice"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: svc.Namespace, Labels: map[string]string{
			discoveryv1.LabelServiceName: svc.Name,
			discoveryv1.LabelManagedBy:   "endpointslice-controller.k8s.io",
		}},
		AddressType: discoveryv1.AddressType(ipFamily(b.cfg.PodCIDR)),
	}
	for _, sp := range svc.Spec.Ports {
		eps.Ports = append(eps.Ports, discoveryv1.EndpointPort{
			Name:     ptr(sp.Name),
			Protocol: ptr(sp.Protocol),
			Port:     ptr(containerPort(sp)),
		})
	}
	return eps
}

// containerPort is the number behind a Service port's targetPort.
func containerPort(sp corev1.ServicePort) int32 {
	if sp.TargetPort.IntVal != 0 {
		return sp.TargetPort.IntVal
	}
	for _, set := range [][]portSpec{singlePort, webPorts, dnsPorts} {
		for _, ps := range set {
			if ps.containerName == sp.TargetPort.StrVal {
				return ps.containerPort
			}
		}
	}
	panic(fmt.Sprintf("gen: unknown container port %q", sp.TargetPort.StrVal))
}

// endpoint returns the next pod of svc: a new address, on a random node.
func (b *builder) endpoint(svc *corev1.Service, podHash string) discoveryv1.Endpoint {
	b.nextPod++
	addr := nthAddr(b.cfg.PodCIDR, b.nextPod).String()
	j := b.rng.IntN(len(b.nodes))
	return discoveryv1.Endpoint{
		Addresses: []string{addr},
		Conditions: discoveryv1.EndpointConditions{
			Ready: ptr(true), Serving: ptr(true), Terminating: ptr(false),
		},
		NodeName: ptr(b.nodes[j]),
		Zone:     ptr(b.zones[j]),
		TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: svc.Namespace,
			Name: svc.Name + "-" + podHash + "-" + b.randomSuffix()},
	}
}
