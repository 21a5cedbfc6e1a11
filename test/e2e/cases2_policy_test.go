//go:build e2e

package e2e

import (
	"fmt"
	"net/http"
	"net/netip"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// TestExternalTrafficPolicyLocal: with a local endpoint the node port goes
// only to it, keeps the client's source, and the health check node port
// says 200; without one, external traffic is dropped and it says 503.
func TestExternalTrafficPolicyLocal(t *testing.T) {
	requireAgent(t)
	local := newPod(t, false)
	remote := newPod(t, true)
	lbIP := netip.MustParseAddr("192.168.1.241")
	routeViaNode(t, lbIP)
	svc := createService(t, svcSpec{name: "local", typ: corev1.ServiceTypeLoadBalancer, nodePort: 30083,
		mutate: func(s *corev1.Service) {
			s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
		}})
	if svc.Spec.HealthCheckNodePort == 0 {
		t.Fatal("API server allocated no healthCheckNodePort")
	}
	setLoadBalancerIP(t, svc.Name, lbIP)
	setSlice(t, svc, portA, readyEps(local, remote))
	np := nodePort(30083)
	measure(t, "create service", time.Now(), env.lab.Client, np, servedBy(local.at(portA)))
	for _, dst := range []netip.AddrPort{np, netip.AddrPortFrom(lbIP, 80)} {
		await(t, "LoadBalancer IP", time.Now(), env.lab.Client, dst, answers)
		seen := serversSeen(t, env.lab.Client, dst, 20)
		if len(seen) != 1 || seen[local.at(portA)] != 20 {
			t.Errorf("%v with externalTrafficPolicy Local reached %v, want only the local %v", dst, seen, local.at(portA))
		}
		if r := mustAnswer(t, env.lab.Client, dst); r.SeenSource.Addr() != env.lab.Client.IPv4() {
			t.Errorf("%v with externalTrafficPolicy Local: pod saw %v, want the client's address", dst, r.SeenSource)
		}
	}
	hc := fmt.Sprintf("http://%s:%d/", env.lab.Node.IPv4(), svc.Spec.HealthCheckNodePort)
	awaitHTTP(t, hc, http.StatusOK)

	// Internal traffic still reaches every endpoint.
	inside := newPod(t, false)
	seen := serversSeen(t, inside.host(), svcAddr(t, svc), 30)
	if seen[remote.at(portA)] == 0 {
		t.Errorf("ClusterIP never reached the remote endpoint: %v", seen)
	}

	setSlice(t, svc, portA, readyEps(remote))
	measure(t, "last local endpoint removed", time.Now(), env.lab.Client, np, noAnswer)
	if _, err := dial(env.lab.Client, np, time.Second); err == nil || !isTimeout(err) {
		t.Errorf("node port without local endpoints: %v, want no answer (DROP)", err)
	}
	awaitHTTP(t, hc, http.StatusServiceUnavailable)
}

// awaitHTTP polls url from the client until it answers code (bounded).
func awaitHTTP(t *testing.T, url string, code int) {
	t.Helper()
	deadline := time.Now().Add(applyLimit)
	var got int
	var body string
	var err error
	for time.Now().Before(deadline) {
		got, body, err = env.lab.Client.HTTPGet(ctx(t), url, time.Second)
		if err == nil && got == code {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("GET %s: %d %q %v, want %d", url, got, body, err, code)
}

// TestSessionAffinity: with ClientIP affinity, one client lands on one
// endpoint, for NodePort and ClusterIP alike.
func TestSessionAffinity(t *testing.T) {
	requireAgent(t)
	p := newPods(t, 3, false)
	inside := newPod(t, false)
	svc := createService(t, svcSpec{name: "sticky", typ: corev1.ServiceTypeNodePort, nodePort: 30084,
		mutate: func(s *corev1.Service) { s.Spec.SessionAffinity = corev1.ServiceAffinityClientIP }})
	setSlice(t, svc, portA, readyEps(p...))
	np := nodePort(30084)
	measure(t, "create service", time.Now(), env.lab.Client, np, answers)
	for _, c := range []struct {
		name string
		from pod
		dst  netip.AddrPort
	}{{"NodePort from the client", pod{}, np}, {"ClusterIP from a pod", inside, svcAddr(t, svc)}} {
		from := env.lab.Client
		if c.from.name != "" {
			from = c.from.host()
		}
		if seen := serversSeen(t, from, c.dst, 15); len(seen) != 1 {
			t.Errorf("%s with sessionAffinity ClientIP reached %d endpoints: %v", c.name, len(seen), seen)
		}
	}
}

// TestTerminatingEndpoints: serving terminating endpoints take traffic only
// when no ready endpoint remains.
func TestTerminatingEndpoints(t *testing.T) {
	requireAgent(t)
	p := newPods(t, 2, false)
	svc := createService(t, svcSpec{name: "terminating", typ: corev1.ServiceTypeNodePort, nodePort: 30085})
	np := nodePort(30085)
	ready := ep{pod: p[0], ready: true, serving: true}
	term := ep{pod: p[1], serving: true, terminating: true}
	setSlice(t, svc, portA, []ep{ready, term})
	measure(t, "create service", time.Now(), env.lab.Client, np, answers)
	if seen := serversSeen(t, env.lab.Client, np, 20); seen[p[0].at(portA)] != 20 {
		t.Errorf("with one ready endpoint, traffic reached %v, want only %v", seen, p[0].at(portA))
	}
	setSlice(t, svc, portA, []ep{term})
	measure(t, "fallback to terminating", time.Now(), env.lab.Client, np, servedBy(p[1].at(portA)))
	term.serving = false
	setSlice(t, svc, portA, []ep{term})
	measure(t, "terminating stops serving", time.Now(), env.lab.Client, np, noAnswer)
}
