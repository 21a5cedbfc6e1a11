//go:build e2e

package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/svcnat/svcnat/internal/labtest"
)

// afterFault bounds the wait for a change written right after a fault.
// After an API server restart the agent's watches fail with "too old
// resource version" (the new watch cache has no history) and client-go's
// reflectors relist only after their backoff (800 ms doubling to 30 s,
// with jitter up to twice that): 30-70 s were measured after a 30 s outage.
const afterFault = 150 * time.Second

// faultService creates a NodePort Service with one endpoint and waits until
// it answers; it returns the Service and its pods (the first one serving).
func faultService(t *testing.T, name string, port int32) (*corev1.Service, []pod) {
	t.Helper()
	p := newPods(t, 2, false)
	svc := createService(t, svcSpec{name: name, typ: corev1.ServiceTypeNodePort, nodePort: port})
	setSlice(t, svc, portA, readyEps(p[0]))
	await(t, "service "+name, time.Now(), env.lab.Client, nodePort(port), servedBy(p[0].at(portA)))
	return svc, p
}

// checkTraffic fails t if any background dial failed.
func checkTraffic(t *testing.T, tr *labtest.Traffic) {
	t.Helper()
	r := tr.Stop()
	t.Logf("background traffic: %d answered, %d failed", r.OK, len(r.Failures))
	if len(r.Failures) > 0 {
		t.Errorf("%d of %d dials failed, first ones:\n%s", len(r.Failures), r.Total(), strings.Join(r.Failures[:min(5, len(r.Failures))], "\n"))
	}
}

// TestAPIServerOutage: the rules keep serving while kube-apiserver is down,
// and a change made after it returns is applied.
func TestAPIServerOutage(t *testing.T) {
	requireAgent(t)
	svc, p := faultService(t, "outage", 30086)
	np := nodePort(30086)
	tr := startTraffic(env.lab.Client, np, 50*time.Millisecond)
	outage := 30 * time.Second
	if d, err := time.ParseDuration(envOr("E2E_OUTAGE", "30s")); err == nil {
		outage = d
	}
	if err := env.cluster.StopAPIServer(); err != nil {
		t.Fatal(err)
	}
	t.Logf("kube-apiserver stopped for %v", outage)
	time.Sleep(outage)
	if err := env.agent.Exited(); err != nil {
		t.Errorf("svcnat died during the API outage: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	if err := env.cluster.StartAPIServer(ctx); err != nil {
		t.Fatal(err)
	}
	changesApplied(t, "after API outage", svc, p)
	checkTraffic(t, tr)
}

// changesApplied writes an endpoint change to svc and creates a new
// Service (each informer must be back: EndpointSlices and Services), and
// waits for both in the kernel.
func changesApplied(t *testing.T, after string, svc *corev1.Service, p []pod) {
	t.Helper()
	np := svc.Spec.Ports[0].NodePort
	setSliceEventually(t, svc, portA, readyEps(p...))
	measureWithin(t, "endpoints "+after, afterFault, time.Now(), env.lab.Client, nodePort(np), servedBy(p[1].at(portA)))
	fresh := createService(t, svcSpec{name: svc.Name + "-new", typ: corev1.ServiceTypeNodePort, nodePort: np + 100})
	setSlice(t, fresh, portA, readyEps(p[1]))
	measureWithin(t, "new service "+after, afterFault, time.Now(), env.lab.Client, nodePort(np+100), servedBy(p[1].at(portA)))
}

// TestAgentKilled: SIGKILL and restart under traffic; an established
// connection survives and no new connection fails.
func TestAgentKilled(t *testing.T) {
	requireAgent(t)
	svc, p := faultService(t, "restart", 30087)
	np := nodePort(30087)
	conn, err := env.lab.Client.OpenConn(t.Context(), np)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	tr := startTraffic(env.lab.Client, np, 20*time.Millisecond)
	time.Sleep(300 * time.Millisecond)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	t0 := time.Now()
	if err := env.agent.killAndRestart(ctx); err != nil {
		env.agentErr = err
		t.Fatal(err)
	}
	t.Logf("svcnat killed and healthy again in %v", time.Since(t0).Round(time.Millisecond))
	time.Sleep(500 * time.Millisecond) // traffic across the first syncs
	r, err := conn.Ping()
	if err != nil {
		t.Errorf("established connection broken by the restart: %v", err)
	} else if r.Server != conn.First().Server {
		t.Errorf("established connection moved from %v to %v", conn.First().Server, r.Server)
	}
	changesApplied(t, "after agent restart", svc, p)
	if _, err := conn.Ping(); err != nil {
		t.Errorf("established connection broken after the post-restart changes: %v", err)
	}
	checkTraffic(t, tr)
}

// TestEtcdRestart: etcd restarts under traffic; svcnat keeps serving and
// later changes are applied.
func TestEtcdRestart(t *testing.T) {
	requireAgent(t)
	svc, p := faultService(t, "etcd-restart", 30088)
	np := nodePort(30088)
	tr := startTraffic(env.lab.Client, np, 50*time.Millisecond)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	if err := env.cluster.RestartEtcd(ctx, 3*time.Second); err != nil {
		t.Fatal(err)
	}
	changesApplied(t, "after etcd restart", svc, p)
	checkTraffic(t, tr)
	if err := env.agent.Exited(); err != nil {
		t.Errorf("svcnat died: %v", err)
	}
}
