package agent

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"

	"github.com/svcnat/svcnat/agent/kubeclient"
	"github.com/svcnat/svcnat/agent/kubeclient/kubeclienttest"
)

// waitEvent waits until client holds an Event with reason, and returns it.
func waitEvent(t *testing.T, client *fake.Clientset, reason string) *eventsv1.Event {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		list, err := client.EventsV1().Events(metav1.NamespaceAll).List(context.Background(), metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for i := range list.Items {
			if list.Items[i].Reason == reason {
				return &list.Items[i]
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no %s Event", reason)
	return nil
}

// TestEvents: a Starting Event on the Node when the agent starts, and a
// Warning on the Service whose health check node port is taken, through
// the events.k8s.io API as kube-proxy records them.
func TestEvents(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	in := dnsInput(time.Time{}, "10.244.1.5")
	svc := in.Services[0]
	svc.Spec.Type = corev1.ServiceTypeLoadBalancer
	svc.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
	svc.Spec.HealthCheckNodePort = int32(busy.Addr().(*net.TCPAddr).Port)
	svc.Spec.Ports[0].NodePort = 30053

	busyHealthz, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busyHealthz.Close()

	client := fake.NewClientset()
	a := runAgent(t, Config{EventClient: kubeclienttest.Clientset{Interface: client}, Version: "v0.9.0", HealthCheckBindAddress: "127.0.0.1",
		HealthzAddr: busyHealthz.Addr().String()}, newFakeSource(in))

	start := waitEvent(t, client, "Starting")
	if start.Type != corev1.EventTypeNormal || start.Action != "StartKubeProxy" || start.Note != "Starting svcnat v0.9.0." ||
		start.Regarding.Kind != "Node" || start.Regarding.Name != "node-1" || start.ReportingController != "svcnat" {
		t.Errorf("Starting Event %+v", start)
	}
	warn := waitEvent(t, client, "FailedToStartServiceHealthcheck")
	if warn.Type != corev1.EventTypeWarning || warn.Action != "Listen" || warn.Regarding.Kind != "Service" ||
		warn.Regarding.Namespace != "kube-system" || warn.Regarding.Name != "dns" {
		t.Errorf("Warning Event %+v", warn)
	}
	hasMetric(t, a, "svcnat_healthcheck_node_port_errors_total 1")
	// The health server's address is taken (as by the kube-proxy being
	// replaced): kube-proxy's Warning on the Node, and a retry.
	hz := waitEvent(t, client, "FailedToStartProxierHealthcheck")
	if hz.Type != corev1.EventTypeWarning || hz.Action != "StartKubeProxy" || hz.Regarding.Kind != "Node" {
		t.Errorf("FailedToStartProxierHealthcheck Event %+v", hz)
	}
}

// TestEventsUnreachableStopPromptly: Events the API server cannot take
// do not delay a shutdown.
func TestEventsUnreachableStopPromptly(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	host := ln.Addr().String()
	ln.Close() // refused from now on
	client, err := kubeclient.New(&rest.Config{Host: "http://" + host})
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{EventClient: client, Conntrack: &fakeConntrack{}}
	cfg.Synth.NodeName = "node-1"
	a := NewAgent(cfg, newFakeSource(dnsInput(time.Time{})), newFakeBackend())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	time.Sleep(500 * time.Millisecond) // the Starting Event is being refused
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(time.Second):
		t.Error("Run still running a second after cancel")
		<-done
	}
}

// flakySink fails its first failures writes, then records; it blocks
// every write until release is closed, and tells entered when one begins.
type flakySink struct {
	failures int
	entered  chan struct{}
	release  chan struct{}
	written  chan *eventsv1.Event
}

func (s *flakySink) CreateEvent(ctx context.Context, ev *eventsv1.Event) error {
	select {
	case s.entered <- struct{}{}:
	default:
	}
	select {
	case <-s.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	if s.failures > 0 {
		s.failures--
		return errors.New("connection refused")
	}
	s.written <- ev
	return nil
}

// TestEventRecorderBounds: a failed write is tried again; Events beyond
// the queue are dropped without blocking the caller; a long note is cut
// to the API's limit; cluster-scoped objects' Events go to "default".
func TestEventRecorderBounds(t *testing.T) {
	sink := &flakySink{failures: 1, entered: make(chan struct{}, 1), release: make(chan struct{}),
		written: make(chan *eventsv1.Event, 2*eventQueue)}
	a := &Agent{cfg: Config{EventClient: sink}}
	r, stop := a.startEvents(context.Background())
	defer stop()
	node := &corev1.ObjectReference{Kind: "Node", Name: "node-1"}
	start := time.Now()
	r.Eventf(node, corev1.EventTypeNormal, "First", "Test", "%s", strings.Repeat("x", 2*maxNoteLength))
	<-sink.entered // the first is being written: the queue is empty
	for range 2 * eventQueue {
		r.Eventf(node, corev1.EventTypeNormal, "More", "Test", "more")
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Eventf blocked for %v with a stuck sink", d)
	}
	close(sink.release)
	first := <-sink.written // after one refusal and eventRetry
	if first.Reason != "First" || len(first.Note) != maxNoteLength || first.Namespace != metav1.NamespaceDefault ||
		first.ReportingController != eventsComponent || first.Regarding.Name != "node-1" {
		t.Errorf("first Event: reason %q, note of %d bytes, namespace %q, controller %q", first.Reason, len(first.Note),
			first.Namespace, first.ReportingController)
	}
	got := 1
	for deadline := time.After(5 * time.Second); got <= eventQueue; got++ {
		select {
		case <-sink.written:
		case <-deadline:
			t.Fatalf("%d Events written, want %d (the first and a full queue)", got, eventQueue+1)
		}
	}
	select {
	case <-sink.written:
		t.Errorf("more than %d Events written: the queue did not drop", eventQueue+1)
	case <-time.After(100 * time.Millisecond):
	}
}
