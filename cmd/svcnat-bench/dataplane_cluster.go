package main

import (
	"net/netip"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/svcnat/svcnat/internal/gen"
	"github.com/svcnat/svcnat/synth"
)

// The measured Service and its one endpoint, a pod of the lab's node. The
// ClusterIP is inside the lab's routed service range (10.96.0.0/16) and
// above every generated one; the namespace sorts after gen's, so the
// Service comes last in every list that synth sorts by name.
var (
	targetNamespace = "zz-dataplane"
	targetName      = "target"
	targetClusterIP = netip.MustParseAddr("10.96.255.254")
	targetPort      = uint16(80)
	podIP           = netip.MustParseAddr("10.244.1.5")
	podPort         = uint16(8080)
)

// dataplaneCluster is a generated cluster of n Services (gen's defaults,
// 10 endpoints each) plus the measured Service, with a NodePort no
// generated Service uses; it returns the cluster and that NodePort.
func dataplaneCluster(n int) (synth.Input, uint16) {
	in := gen.Cluster(gen.Config{Services: n, EndpointsPerService: 10})
	nodePort := freeNodePort(in.Services)
	svc, slice := targetService(nodePort)
	in.Services = append(in.Services, svc)
	in.EndpointSlices = append(in.EndpointSlices, slice)
	return in, nodePort
}

// freeNodePort returns the highest port of the NodePort range that no
// Service holds (gen leaves some free: at most 2768 are NodePorts).
func freeNodePort(svcs []*corev1.Service) uint16 {
	used := map[int32]bool{}
	for _, s := range svcs {
		for _, p := range s.Spec.Ports {
			used[p.NodePort] = true
		}
	}
	for p := int32(gen.NodePortMax); p >= gen.NodePortMin; p-- {
		if !used[p] {
			return uint16(p)
		}
	}
	panic("svcnat-bench: every NodePort is taken") // gen never takes them all
}

// targetService is a NodePort Service (externalTrafficPolicy Cluster, so
// both paths masquerade a client from outside the cluster) with one ready
// endpoint: the lab pod that runs the server.
func targetService(nodePort uint16) (*corev1.Service, *discoveryv1.EndpointSlice) {
	ip := targetClusterIP.String()
	cluster := corev1.ServiceExternalTrafficPolicyCluster
	svc := &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: metav1.ObjectMeta{Namespace: targetNamespace, Name: targetName},
		Spec: corev1.ServiceSpec{
			Type:                  corev1.ServiceTypeNodePort,
			ClusterIP:             ip,
			ClusterIPs:            []string{ip},
			IPFamilies:            []corev1.IPFamily{corev1.IPv4Protocol},
			ExternalTrafficPolicy: cluster,
			Ports: []corev1.ServicePort{{Protocol: corev1.ProtocolTCP, Port: int32(targetPort),
				TargetPort: intstr.FromInt32(int32(podPort)), NodePort: int32(nodePort)}},
		},
	}
	ready, tcp, port, node, empty := true, corev1.ProtocolTCP, int32(podPort), nodeName, ""
	slice := &discoveryv1.EndpointSlice{
		TypeMeta: metav1.TypeMeta{APIVersion: "discovery.k8s.io/v1", Kind: "EndpointSlice"},
		ObjectMeta: metav1.ObjectMeta{Namespace: targetNamespace, Name: targetName + "-1",
			Labels: map[string]string{discoveryv1.LabelServiceName: targetName}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints: []discoveryv1.Endpoint{{Addresses: []string{podIP.String()},
			Conditions: discoveryv1.EndpointConditions{Ready: &ready}, NodeName: &node}},
		Ports: []discoveryv1.EndpointPort{{Name: &empty, Protocol: &tcp, Port: &port}},
	}
	return svc, slice
}

// dataplaneConfig is the node of the lab as synth sees it: its LAN address
// takes NodePorts, and gen's pod range (which holds the lab's pods) is the
// cluster's, so the lab client is outside the cluster and masqueraded.
func dataplaneConfig(nodeIP netip.Addr) synth.Config {
	c := synthConfig()
	c.NodeIPs = []netip.Addr{nodeIP}
	return c
}
