package source

import (
	"context"
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	fakediscovery "k8s.io/client-go/discovery/fake"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"

	"github.com/svcnat/svcnat/agent/kubeclient"
	"github.com/svcnat/svcnat/agent/kubeclient/kubeclienttest"
)

func svcObj(name string, labels map[string]string) *corev1.Service {
	return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "prod", Name: name, Labels: labels},
		Spec: corev1.ServiceSpec{ClusterIP: "10.96.0.10", Ports: []corev1.ServicePort{{Port: 80}}}}
}

func sliceObj(name string, labels map[string]string) *discoveryv1.EndpointSlice {
	return &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Namespace: "prod", Name: name, Labels: labels},
		AddressType: discoveryv1.AddressTypeIPv4}
}

func nodeObj(name string) *corev1.Node {
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}
}

func names(st State) []string {
	var out []string
	for _, s := range st.Input.Services {
		out = append(out, "svc/"+s.Name)
	}
	for _, s := range st.Input.Slices {
		out = append(out, "eps/"+s.Name)
	}
	for _, n := range st.Input.Nodes {
		out = append(out, "node/"+n.Name)
	}
	return out
}

func startAPI(t *testing.T, client *fake.Clientset, rec *recorder) (*APIServer, context.CancelFunc) {
	t.Helper()
	a := NewAPIServer(kubeclienttest.Clientset{Interface: client}, "node-1")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx, rec) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	select {
	case <-a.Synced():
	case <-time.After(10 * time.Second):
		t.Fatal("caches did not sync")
	}
	return a, cancel
}

// eventually polls cond for up to 10 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

func TestAPIServer(t *testing.T) {
	client := fake.NewClientset(
		svcObj("web", nil),
		svcObj("other-proxy", map[string]string{LabelServiceProxyName: "cilium"}),
		sliceObj("web-1", map[string]string{discoveryv1.LabelServiceName: "web"}),
		sliceObj("headless-1", map[string]string{LabelHeadless: ""}),
		nodeObj("node-1"),
		nodeObj("node-2"),
	)
	rec := &recorder{}
	a, _ := startAPI(t, client, rec)
	want := []string{"svc/web", "eps/web-1", "node/node-1"}
	if diff := cmp.Diff(want, names(a.Snapshot())); diff != "" {
		t.Errorf("initial snapshot (-want +got):\n%s", diff)
	}
	if kinds, _ := rec.take(); !slices.Contains(kinds, Service) || !slices.Contains(kinds, EndpointSlice) || !slices.Contains(kinds, Node) {
		t.Errorf("initial notifications %v", kinds)
	}
	if a.Snapshot().ServiceCIDRs != nil {
		t.Error("ServiceCIDRs without the API serving them")
	}

	ctx := t.Context()
	if _, err := client.CoreV1().Services("prod").Create(ctx, svcObj("db", nil), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.CoreV1().Services("prod").Create(ctx, svcObj("skip", map[string]string{LabelServiceProxyName: "x"}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := client.DiscoveryV1().EndpointSlices("prod").Delete(ctx, "web-1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the changes", func() bool {
		return cmp.Equal([]string{"svc/db", "svc/web", "node/node-1"}, names(a.Snapshot()))
	})
	kinds, _ := rec.take()
	if !slices.Contains(kinds, Service) || !slices.Contains(kinds, EndpointSlice) {
		t.Errorf("notifications %v", kinds)
	}
}

func TestAPIServerServiceCIDRs(t *testing.T) {
	client := fake.NewClientset(
		&networkingv1.ServiceCIDR{ObjectMeta: metav1.ObjectMeta{Name: "kubernetes"},
			Spec: networkingv1.ServiceCIDRSpec{CIDRs: []string{"10.96.0.0/16", "fd00:10:96::/112"}}},
		&networkingv1.ServiceCIDR{ObjectMeta: metav1.ObjectMeta{Name: "extra"},
			Spec: networkingv1.ServiceCIDRSpec{CIDRs: []string{"10.97.0.0/16", "10.96.0.0/16"}}},
	)
	client.Discovery().(*fakediscovery.FakeDiscovery).Resources = []*metav1.APIResourceList{{
		GroupVersion: networkingv1.SchemeGroupVersion.String(),
		APIResources: []metav1.APIResource{{Name: "servicecidrs", Kind: "ServiceCIDR"}},
	}}
	a, _ := startAPI(t, client, &recorder{})
	want := []netip.Prefix{
		netip.MustParsePrefix("10.96.0.0/16"),
		netip.MustParsePrefix("10.97.0.0/16"),
		netip.MustParsePrefix("fd00:10:96::/112"),
	}
	if diff := cmp.Diff(want, a.Snapshot().ServiceCIDRs, cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
		t.Errorf("ServiceCIDRs (-want +got):\n%s", diff)
	}
}

// closedPort returns a loopback address nothing listens on: connections
// are refused at once, which client-go retries for seconds.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestAPIServerUnreachableStopsPromptly: SIGTERM while the API server is
// unreachable ends Run within a second, whatever call is in flight
// (discovery first, then the informers' lists).
func TestAPIServerUnreachableStopsPromptly(t *testing.T) {
	for _, after := range []time.Duration{50 * time.Millisecond, 1500 * time.Millisecond} {
		client, err := kubeclient.New(&rest.Config{Host: "http://" + closedPort(t), Timeout: 30 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		a := NewAPIServer(client, "node-1")
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- a.Run(ctx, &recorder{}) }()
		time.Sleep(after)
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("cancelled after %v: Run: %v", after, err)
			}
		case <-time.After(time.Second):
			t.Errorf("cancelled after %v: Run still running a second later", after)
			<-done // do not leak it into the next case
		}
		select {
		case <-a.Synced():
			t.Errorf("synced without an API server")
		default:
		}
	}
}
