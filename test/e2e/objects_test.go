//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/svcnat/svcnat/netns"
)

const ns = "default"

// createNodes registers node-1 (the node under test) and node-2 (hosting
// the "remote" pods) with their InternalIPs and pod CIDRs, as the kubelet
// and the node IPAM controller would.
func createNodes(ctx context.Context, c kubernetes.Interface, lab *netns.Lab) error {
	o := lab.Options()
	for _, n := range []struct {
		name string
		ip   netip.Addr
		cidr netip.Prefix
	}{
		{nodeName, lab.Node.IPv4(), o.Node.PodCIDRs[0]},
		{node2Name, lab.Node2.IPv4(), o.Node2.PodCIDRs[0]},
	} {
		node := &corev1.Node{
			ObjectMeta: metav1.ObjectMeta{Name: n.name, Labels: map[string]string{"kubernetes.io/hostname": n.name}},
			Spec:       corev1.NodeSpec{PodCIDR: n.cidr.String(), PodCIDRs: []string{n.cidr.String()}},
		}
		created, err := c.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
		if err != nil {
			return fmt.Errorf("create node %s: %w", n.name, err)
		}
		created.Status.Addresses = []corev1.NodeAddress{
			{Type: corev1.NodeInternalIP, Address: n.ip.String()},
			{Type: corev1.NodeHostName, Address: n.name},
		}
		created.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue,
			LastHeartbeatTime: metav1.Now(), LastTransitionTime: metav1.Now(), Reason: "KubeletReady"}}
		if _, err := c.CoreV1().Nodes().UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("node %s status: %w", n.name, err)
		}
	}
	return nil
}

// Echo ports every lab pod serves (TCP): the "old" and "new" targetPort.
const (
	portA = 8080
	portB = 9090
)

// pod is a lab pod registered as a (would-be) Kubernetes pod.
type pod struct {
	name string
	ip   netip.Addr
	node string
}

// host is the pod's network namespace, to send traffic from.
func (p pod) host() *netns.Host { return env.lab.Pod(p.name).Host }

// at is the pod's echo server on port.
func (p pod) at(port uint16) netip.AddrPort { return netip.AddrPortFrom(p.ip, port) }

var podSeq struct {
	sync.Mutex
	local, remote int
}

// newPod adds a lab pod on node-1 (or node-2 when remote) serving TCP on
// portA and portB. Names and addresses are unique for the whole suite.
func newPod(t *testing.T, remote bool) pod {
	t.Helper()
	podSeq.Lock()
	var p pod
	if remote {
		podSeq.remote++
		p = pod{name: fmt.Sprintf("r%d", podSeq.remote), ip: netip.AddrFrom4([4]byte{10, 244, 2, byte(10 + podSeq.remote)}), node: node2Name}
	} else {
		podSeq.local++
		p = pod{name: fmt.Sprintf("l%d", podSeq.local), ip: netip.AddrFrom4([4]byte{10, 244, 1, byte(10 + podSeq.local)}), node: nodeName}
	}
	podSeq.Unlock()
	add := env.lab.AddPod
	if remote {
		add = env.lab.AddRemotePod
	}
	lp, err := add(p.name, p.ip)
	if err != nil {
		t.Fatalf("pod %s: %v", p.name, err)
	}
	for _, port := range []uint16{portA, portB} {
		if _, err := lp.Serve(netns.TCP, port); err != nil {
			t.Fatalf("pod %s serve %d: %v", p.name, port, err)
		}
	}
	return p
}

func newPods(t *testing.T, n int, remote bool) []pod {
	var ps []pod
	for range n {
		ps = append(ps, newPod(t, remote))
	}
	return ps
}

// ep is one endpoint of a slice with its conditions.
type ep struct {
	pod
	ready, serving, terminating bool
}

func readyEps(ps ...pod) []ep {
	var out []ep
	for _, p := range ps {
		out = append(out, ep{pod: p, ready: true, serving: true})
	}
	return out
}

// svcSpec is the part of a Service the cases vary.
type svcSpec struct {
	name     string
	typ      corev1.ServiceType
	nodePort int32
	labels   map[string]string
	mutate   func(*corev1.Service)
}

// createService creates a one-port TCP Service (port 80, targetPort
// portA, port name "http"), deleted at the end of t.
func createService(t *testing.T, s svcSpec) *corev1.Service {
	t.Helper()
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: s.name, Namespace: ns, Labels: s.labels},
		Spec: corev1.ServiceSpec{
			Type:     s.typ,
			Selector: map[string]string{"app": s.name},
			Ports: []corev1.ServicePort{{Name: "http", Protocol: corev1.ProtocolTCP, Port: 80,
				TargetPort: intstr.FromInt32(portA), NodePort: s.nodePort}},
		},
	}
	if s.mutate != nil {
		s.mutate(svc)
	}
	c := env.cluster.Client()
	created, err := c.CoreV1().Services(ns).Create(ctx(t), svc, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create service %s: %v", s.name, err)
	}
	t.Cleanup(func() {
		err := c.CoreV1().Services(ns).Delete(context.Background(), s.name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("delete service %s: %v", s.name, err)
		}
	})
	return created
}

// sliceFor builds the EndpointSlice the EndpointSlice controller would
// write for svc: owned by it, labelled with its name, one port named like
// the Service port, the given targetPort.
func sliceFor(svc *corev1.Service, targetPort int32, eps []ep) *discoveryv1.EndpointSlice {
	sl := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{
			Name:      svc.Name + "-e2e",
			Namespace: svc.Namespace,
			Labels: map[string]string{
				discoveryv1.LabelServiceName: svc.Name,
				discoveryv1.LabelManagedBy:   "endpointslice-controller.k8s.io",
			},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "Service", Name: svc.Name,
				UID: svc.UID, Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true)}},
		},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports: []discoveryv1.EndpointPort{{Name: ptr.To("http"), Protocol: ptr.To(corev1.ProtocolTCP),
			Port: ptr.To(targetPort)}},
	}
	for _, e := range eps {
		sl.Endpoints = append(sl.Endpoints, discoveryv1.Endpoint{
			Addresses: []string{e.ip.String()},
			Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(e.ready), Serving: ptr.To(e.serving),
				Terminating: ptr.To(e.terminating)},
			NodeName:  ptr.To(e.node),
			TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: svc.Namespace, Name: svc.Name + "-" + e.name},
		})
	}
	return sl
}

// setSlice creates or replaces the Service's one EndpointSlice.
func setSlice(t *testing.T, svc *corev1.Service, targetPort int32, eps []ep) {
	t.Helper()
	if err := trySetSlice(ctx(t), svc, targetPort, eps); err != nil {
		t.Fatal(err)
	}
}

func trySetSlice(ctx context.Context, svc *corev1.Service, targetPort int32, eps []ep) error {
	c := env.cluster.Client().DiscoveryV1().EndpointSlices(ns)
	want := sliceFor(svc, targetPort, eps)
	cur, err := c.Get(ctx, want.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		_, err = c.Create(ctx, want, metav1.CreateOptions{})
	case err == nil:
		want.ResourceVersion = cur.ResourceVersion
		_, err = c.Update(ctx, want, metav1.UpdateOptions{})
	}
	if err != nil {
		return fmt.Errorf("endpointslice %s: %w", want.Name, err)
	}
	return nil
}

// setSliceEventually is setSlice retried for up to a minute, for writes
// right after an API server or etcd restart.
func setSliceEventually(t *testing.T, svc *corev1.Service, targetPort int32, eps []ep) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		err := trySetSlice(ctx(t), svc, targetPort, eps)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after retrying for a minute: %v", err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// updateService applies fn to the current Service and writes it back,
// retrying on conflicts; it returns the stored result.
func updateService(t *testing.T, name string, fn func(*corev1.Service)) *corev1.Service {
	t.Helper()
	c := env.cluster.Client().CoreV1().Services(ns)
	for range 5 {
		svc, err := c.Get(ctx(t), name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("get service %s: %v", name, err)
		}
		fn(svc)
		out, err := c.Update(ctx(t), svc, metav1.UpdateOptions{})
		if apierrors.IsConflict(err) {
			continue
		}
		if err != nil {
			t.Fatalf("update service %s: %v", name, err)
		}
		return out
	}
	t.Fatalf("update service %s: conflicts", name)
	return nil
}

// setLoadBalancerIP writes status.loadBalancer.ingress, as a cloud
// controller would.
func setLoadBalancerIP(t *testing.T, name string, ip netip.Addr) {
	t.Helper()
	patch := fmt.Sprintf(`{"status":{"loadBalancer":{"ingress":[{"ip":%q}]}}}`, ip)
	_, err := env.cluster.Client().CoreV1().Services(ns).Patch(ctx(t), name, types.MergePatchType,
		[]byte(patch), metav1.PatchOptions{}, "status")
	if err != nil {
		t.Fatalf("patch service %s status: %v", name, err)
	}
}

func deleteService(t *testing.T, name string) {
	t.Helper()
	if err := env.cluster.Client().CoreV1().Services(ns).Delete(ctx(t), name, metav1.DeleteOptions{}); err != nil {
		t.Fatalf("delete service %s: %v", name, err)
	}
}

// ctx bounds one API call.
func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	t.Cleanup(cancel)
	return c
}

func clusterIP(t *testing.T, svc *corev1.Service) netip.Addr {
	t.Helper()
	ip, err := netip.ParseAddr(svc.Spec.ClusterIP)
	if err != nil {
		t.Fatalf("service %s clusterIP %q: %v", svc.Name, svc.Spec.ClusterIP, err)
	}
	return ip
}
