package gen_test

import (
	"net/netip"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"

	"github.com/svcnat/svcnat/internal/gen"
	"github.com/svcnat/svcnat/synth"
)

// checkValid checks what the API server and the EndpointSlice controller
// would guarantee: unique names, addresses and nodePorts, slices that
// belong to a Service and carry its port names, endpoints on known nodes.
func checkValid(t *testing.T, in synth.Input, localNode string) {
	t.Helper()
	nodes := map[string]bool{}
	for _, n := range in.Nodes {
		nodes[n.Name] = true
	}
	if !nodes[localNode] {
		t.Errorf("local node %q is not among the nodes", localNode)
	}
	services := checkServices(t, in.Services)
	addrs := map[netip.Addr]bool{}
	for _, eps := range in.EndpointSlices {
		svc := services[eps.Namespace+"/"+eps.Labels[discoveryv1.LabelServiceName]]
		if svc == nil {
			t.Errorf("slice %s/%s belongs to no Service", eps.Namespace, eps.Name)
			continue
		}
		checkSlicePorts(t, svc, eps)
		for _, ep := range eps.Endpoints {
			a := netip.MustParseAddr(ep.Addresses[0])
			if addrs[a] || !*ep.Conditions.Ready || !nodes[*ep.NodeName] {
				t.Errorf("endpoint %+v: duplicate, not ready or on an unknown node", ep)
			}
			addrs[a] = true
		}
	}
}

func checkServices(t *testing.T, svcs []*corev1.Service) map[string]*corev1.Service {
	t.Helper()
	byName := map[string]*corev1.Service{}
	ips := map[string]bool{}
	nodePorts := map[int32]bool{}
	for _, svc := range svcs {
		key := svc.Namespace + "/" + svc.Name
		if byName[key] != nil || ips[svc.Spec.ClusterIP] {
			t.Errorf("Service %s: duplicate name or ClusterIP %s", key, svc.Spec.ClusterIP)
		}
		byName[key], ips[svc.Spec.ClusterIP] = svc, true
		for _, p := range svc.Spec.Ports {
			isNodePort := svc.Spec.Type == corev1.ServiceTypeNodePort
			if isNodePort != (p.NodePort != 0) || nodePorts[p.NodePort] ||
				(isNodePort && (p.NodePort < gen.NodePortMin || p.NodePort > gen.NodePortMax)) {
				t.Errorf("Service %s: bad or duplicate nodePort %d", key, p.NodePort)
			}
			if p.NodePort != 0 {
				nodePorts[p.NodePort] = true
			}
			if len(svc.Spec.Ports) > 1 && p.Name == "" {
				t.Errorf("Service %s: unnamed port in a multi-port Service", key)
			}
		}
	}
	return byName
}

func checkSlicePorts(t *testing.T, svc *corev1.Service, eps *discoveryv1.EndpointSlice) {
	t.Helper()
	if len(eps.Ports) != len(svc.Spec.Ports) {
		t.Errorf("slice %s: %d ports, Service has %d", eps.Name, len(eps.Ports), len(svc.Spec.Ports))
		return
	}
	for i, sp := range svc.Spec.Ports {
		ep := eps.Ports[i]
		if *ep.Name != sp.Name || *ep.Protocol != sp.Protocol {
			t.Errorf("slice %s port %d is %s/%s, Service port is %s/%s", eps.Name, i, *ep.Name, *ep.Protocol, sp.Name, sp.Protocol)
		}
		if sp.TargetPort.IntVal != 0 && sp.TargetPort.IntVal != *ep.Port {
			t.Errorf("slice %s port %d number %d, targetPort %d", eps.Name, i, *ep.Port, sp.TargetPort.IntVal)
		}
	}
}

// TestModelAcceptsEverything checks the generated cluster with the model
// itself: no warning, every Service port programmed with all its endpoints.
func TestModelAcceptsEverything(t *testing.T) {
	cfg := gen.Config{Services: 300, EndpointsPerService: 10}.WithDefaults()
	in := gen.Cluster(cfg)
	res := synth.Build(in, synth.Config{NodeName: cfg.NodeName, NodeIPs: []netip.Addr{netip.MustParseAddr("172.18.0.1")}})
	if len(res.Warnings) != 0 {
		t.Fatalf("%d warnings, first: %v", len(res.Warnings), res.Warnings[0])
	}
	ports := 0
	for _, svc := range in.Services {
		ports += len(svc.Spec.Ports)
	}
	if got := len(res.IPv4.Services); got != ports {
		t.Fatalf("%d service ports programmed, want %d", got, ports)
	}
	for _, sp := range res.IPv4.Services {
		if len(sp.ClusterEndpoints) != cfg.EndpointsPerService {
			t.Fatalf("%s: %d endpoints, want %d", sp.Name, len(sp.ClusterEndpoints), cfg.EndpointsPerService)
		}
	}
}
