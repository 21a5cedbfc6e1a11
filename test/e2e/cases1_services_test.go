//go:build e2e

package e2e

import (
	"net/netip"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// nodePort is the node's address and a node port, as the client dials it.
func nodePort(port int32) netip.AddrPort {
	return netip.AddrPortFrom(env.lab.Node.IPv4(), uint16(port))
}

func svcAddr(t *testing.T, svc *corev1.Service) netip.AddrPort {
	return netip.AddrPortFrom(clusterIP(t, svc), 80)
}

// TestAPIServer checks the harness itself: the API server allocates from
// the service range and stores what the cases write. It needs no agent.
func TestAPIServer(t *testing.T) {
	c := env.cluster.Client()
	k, err := c.CoreV1().Services("default").Get(ctx(t), "kubernetes", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("service kubernetes: %v", err)
	}
	if k.Spec.ClusterIP != "10.96.0.1" {
		t.Errorf("kubernetes clusterIP = %s, want 10.96.0.1", k.Spec.ClusterIP)
	}
	nodes, err := c.CoreV1().Nodes().List(ctx(t), metav1.ListOptions{})
	if err != nil || len(nodes.Items) != 2 {
		t.Fatalf("nodes: %v, %d", err, len(nodes.Items))
	}
	svc := createService(t, svcSpec{name: "harness", typ: corev1.ServiceTypeNodePort, nodePort: 30099})
	if !netip.MustParsePrefix(serviceCIDR).Contains(clusterIP(t, svc)) {
		t.Errorf("clusterIP %s outside %s", svc.Spec.ClusterIP, serviceCIDR)
	}
	setSlice(t, svc, portA, readyEps(pod{name: "x", ip: netip.MustParseAddr("10.244.1.250"), node: nodeName}))
	sel := labels.SelectorFromSet(labels.Set{"kubernetes.io/service-name": "harness"}).String()
	sl, err := c.DiscoveryV1().EndpointSlices("default").List(ctx(t), metav1.ListOptions{LabelSelector: sel})
	if err != nil || len(sl.Items) != 1 || len(sl.Items[0].Endpoints) != 1 {
		t.Fatalf("endpointslices of harness: %v %+v", err, sl)
	}
}

// TestSeedNodePort is the article's Service: client -> node:30080 ->
// ClusterIP:80 -> pod:8080, and a pod reaching the ClusterIP.
func TestSeedNodePort(t *testing.T) {
	requireAgent(t)
	pods := newPods(t, 2, false)
	client := newPod(t, false)
	svc := createService(t, svcSpec{name: "my-app-service", typ: corev1.ServiceTypeNodePort, nodePort: 30080})
	setSlice(t, svc, portA, readyEps(pods...))
	since := time.Now()
	np := nodePort(30080)
	measure(t, "create service", since, env.lab.Client, np, answers)
	seen := serversSeen(t, env.lab.Client, np, 30)
	for _, p := range pods {
		if seen[p.at(portA)] == 0 {
			t.Errorf("NodePort: endpoint %v never reached in 30 dials: %v", p.at(portA), seen)
		}
	}
	r := mustAnswer(t, env.lab.Client, np)
	if r.SeenSource.Addr() == env.lab.Client.IPv4() {
		t.Errorf("NodePort with externalTrafficPolicy Cluster: source not masqueraded: %v", r)
	}
	r = mustAnswer(t, client.host(), svcAddr(t, svc))
	if r.Server != pods[0].at(portA) && r.Server != pods[1].at(portA) {
		t.Errorf("ClusterIP from a pod answered by %v", r.Server)
	}
	if r.SeenSource.Addr() != client.ip {
		t.Errorf("ClusterIP from a pod: source %v, want the pod's %v unchanged", r.SeenSource, client.ip)
	}
}

// TestEndpointChanges scales the endpoints up and down, to zero and back,
// and changes the targetPort; traffic follows every write.
func TestEndpointChanges(t *testing.T) {
	requireAgent(t)
	p := newPods(t, 3, false)
	svc := createService(t, svcSpec{name: "scale", typ: corev1.ServiceTypeNodePort, nodePort: 30081})
	np := nodePort(30081)
	setSlice(t, svc, portA, readyEps(p[0]))
	measure(t, "create service", time.Now(), env.lab.Client, np, servedBy(p[0].at(portA)))
	for range 3 {
		setSlice(t, svc, portA, readyEps(p...))
		measure(t, "endpoints added", time.Now(), env.lab.Client, np, servedBy(p[1].at(portA), p[2].at(portA)))
		setSlice(t, svc, portA, readyEps(p[0]))
		measureRemoved(t, "endpoints removed", time.Now(), env.lab.Client, np, p[1].at(portA), p[2].at(portA))
	}
	setSlice(t, svc, portA, nil)
	measure(t, "last endpoint removed", time.Now(), env.lab.Client, np, noAnswer)
	// 3 s, not 1: the polling above drew many rejects, and the node sends
	// ICMP errors to one host at about one per second after a burst, so the
	// first SYN may go unanswered and only its retransmission (after 1 s)
	// gets the port-unreachable.
	if _, err := dial(env.lab.Client, np, 3*time.Second); !isRefused(err) {
		t.Errorf("NodePort without endpoints: %v, want refused (REJECT)", err)
	}
	setSlice(t, svc, portA, readyEps(p[1]))
	measure(t, "endpoints from zero", time.Now(), env.lab.Client, np, servedBy(p[1].at(portA)))

	// A targetPort change: the Service first, then the slice the
	// controller would rewrite; traffic moves with the slice.
	updateService(t, svc.Name, func(s *corev1.Service) { s.Spec.Ports[0].TargetPort.IntVal = portB })
	setSlice(t, svc, portB, readyEps(p[1]))
	measure(t, "targetPort changed", time.Now(), env.lab.Client, np, servedBy(p[1].at(portB)))
}

// TestServiceTypeChanges walks ClusterIP -> NodePort -> LoadBalancer ->
// ClusterIP and deletes the Service.
func TestServiceTypeChanges(t *testing.T) {
	requireAgent(t)
	p := newPods(t, 2, false)
	inside := newPod(t, false)
	eps := []netip.AddrPort{p[0].at(portA), p[1].at(portA)}
	lbIP := netip.MustParseAddr("192.168.1.240")
	routeViaNode(t, lbIP)

	svc := createService(t, svcSpec{name: "types", typ: corev1.ServiceTypeClusterIP})
	setSlice(t, svc, portA, readyEps(p...))
	vip := svcAddr(t, svc)
	measure(t, "create service", time.Now(), inside.host(), vip, servedBy(eps...))
	np := nodePort(30082)
	if _, err := dial(env.lab.Client, np, time.Second); err == nil {
		t.Fatalf("ClusterIP service answers on node port %v", np)
	}

	updateService(t, svc.Name, func(s *corev1.Service) {
		s.Spec.Type = corev1.ServiceTypeNodePort
		s.Spec.Ports[0].NodePort = 30082
	})
	measure(t, "type ClusterIP->NodePort", time.Now(), env.lab.Client, np, servedBy(eps...))

	updateService(t, svc.Name, func(s *corev1.Service) { s.Spec.Type = corev1.ServiceTypeLoadBalancer })
	setLoadBalancerIP(t, svc.Name, lbIP)
	measure(t, "type NodePort->LoadBalancer", time.Now(), env.lab.Client, netip.AddrPortFrom(lbIP, 80), servedBy(eps...))
	mustAnswer(t, env.lab.Client, np)

	updateService(t, svc.Name, func(s *corev1.Service) {
		s.Spec.Type = corev1.ServiceTypeClusterIP
		s.Spec.Ports[0].NodePort = 0
		s.Spec.ExternalTrafficPolicy = ""
		s.Spec.AllocateLoadBalancerNodePorts = nil
	})
	measure(t, "type LoadBalancer->ClusterIP", time.Now(), env.lab.Client, np, noAnswer)
	if _, err := dial(env.lab.Client, netip.AddrPortFrom(lbIP, 80), probeTimeout); err == nil {
		t.Errorf("former LoadBalancer IP %v still answers", lbIP)
	}
	mustAnswer(t, inside.host(), vip)

	deleteService(t, svc.Name)
	measure(t, "service deleted", time.Now(), inside.host(), vip, noAnswer)
}

// TestOtherProxyIgnored: a Service for another proxy gets no rule, while a
// twin created with it does.
func TestOtherProxyIgnored(t *testing.T) {
	requireAgent(t)
	p := newPod(t, false)
	inside := newPod(t, false)
	other := createService(t, svcSpec{name: "other-proxy", typ: corev1.ServiceTypeClusterIP,
		labels: map[string]string{"service.kubernetes.io/service-proxy-name": "other"}})
	setSlice(t, other, portA, readyEps(p))
	twin := createService(t, svcSpec{name: "other-twin", typ: corev1.ServiceTypeClusterIP})
	setSlice(t, twin, portA, readyEps(p))
	await(t, "twin", time.Now(), inside.host(), svcAddr(t, twin), servedBy(p.at(portA)))
	if r, err := dial(inside.host(), svcAddr(t, other), time.Second); err == nil {
		t.Errorf("ClusterIP of a service-proxy-name=other Service answers: %v", r)
	}
}
