package agent

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-logr/logr/funcr"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/svcnat/svcnat/agent/source"
	"github.com/svcnat/svcnat/synth"
)

func dnsService() *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "dns"},
		Spec: corev1.ServiceSpec{
			Type: corev1.ServiceTypeClusterIP, ClusterIP: "10.96.0.10", ClusterIPs: []string{"10.96.0.10"},
			IPFamilies: []corev1.IPFamily{corev1.IPv4Protocol},
			Ports:      []corev1.ServicePort{{Name: "dns", Port: 53, Protocol: corev1.ProtocolUDP}},
		},
	}
}

func dnsSlice(trigger time.Time, addrs ...string) *discoveryv1.EndpointSlice {
	s := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "dns-1",
			Labels: map[string]string{discoveryv1.LabelServiceName: "dns"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("dns"), Port: ptr.To[int32](53), Protocol: ptr.To(corev1.ProtocolUDP)}},
	}
	if !trigger.IsZero() {
		s.Annotations = map[string]string{corev1.EndpointsLastChangeTriggerTime: trigger.Format(time.RFC3339Nano)}
	}
	for _, a := range addrs {
		s.Endpoints = append(s.Endpoints, discoveryv1.Endpoint{Addresses: []string{a},
			Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}})
	}
	return s
}

func dnsInput(trigger time.Time, addrs ...string) synth.Input {
	return synth.Input{Services: []*corev1.Service{dnsService()}, EndpointSlices: []*discoveryv1.EndpointSlice{dnsSlice(trigger, addrs...)}}
}

type harness struct {
	agent *Agent
	src   *fakeSource
	be    *fakeBackend
	ct    *fakeConntrack
	done  chan error
	stop  context.CancelFunc
	logs  logLines
}

// logLines keeps the agent's log lines for tests that look for one.
type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) add(line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, line)
}

// find returns the first line containing every one of parts.
func (l *logLines) find(parts ...string) (string, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range l.lines {
		if !slices.ContainsFunc(parts, func(p string) bool { return !strings.Contains(line, p) }) {
			return line, true
		}
	}
	return "", false
}

// startAgent runs an agent with fakes in the synctest bubble.
func startAgent(t *testing.T, in synth.Input, cfg Config) *harness {
	t.Helper()
	h := &harness{src: newFakeSource(in), be: newFakeBackend(), ct: &fakeConntrack{}, done: make(chan error, 1)}
	cfg.Synth.NodeName = "node-1"
	cfg.Conntrack = h.ct
	cfg.Logger = funcr.New(func(prefix, args string) {
		t.Log(prefix, args)
		h.logs.add(args)
	}, funcr.Options{Verbosity: 4})
	h.agent = NewAgent(cfg, h.src, h.be)
	ctx, cancel := context.WithCancel(context.Background())
	h.stop = cancel
	go func() { h.done <- h.agent.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-h.done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	synctest.Wait()
	return h
}

func (h *harness) sync() {
	close(h.src.synced)
	synctest.Wait()
}

func checkCalls(t *testing.T, b *fakeBackend, want []call) {
	t.Helper()
	if diff := cmp.Diff(want, b.got()); diff != "" {
		t.Errorf("backend calls (-want +got):\n%s", diff)
	}
}

func scrape(t *testing.T, a *Agent) string {
	t.Helper()
	rec := httptest.NewRecorder()
	a.Metrics().Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	return string(body)
}

func hasMetric(t *testing.T, a *Agent, line string) {
	t.Helper()
	if text := scrape(t, a); !strings.Contains(text, "\n"+line+"\n") {
		t.Errorf("metrics lack %q", line)
	}
}

func TestNothingProgrammedBeforeSourceSynced(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startAgent(t, dnsInput(time.Time{}, "10.244.1.5"), Config{})
		<-h.src.ready
		h.src.set(dnsInput(time.Time{}), source.EndpointSlice) // events before the sync
		time.Sleep(time.Minute)
		checkCalls(t, h.be, nil)
		h.sync()
		// First sync: full reconcile (adopts rules of a previous run), no gap, no Cleanup.
		checkCalls(t, h.be, []call{{"reconcile", time.Minute}, {"apply", time.Minute}})
		select {
		case <-h.agent.Ready():
		default:
			t.Error("not Ready after the first sync")
		}
	})
}

func TestBurstCoalescedAndPeriodicReconcile(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startAgent(t, dnsInput(time.Time{}, "10.244.1.5"), Config{})
		h.sync()
		time.Sleep(time.Second)
		for i := range 20 {
			addrs := []string{"10.244.1.5"}
			if i%2 == 0 {
				addrs = append(addrs, "10.244.2.6")
			}
			h.src.set(dnsInput(time.Time{}, addrs...), source.EndpointSlice)
			time.Sleep(2 * time.Millisecond)
		}
		time.Sleep(31 * time.Second)
		synctest.Wait()
		checkCalls(t, h.be, []call{
			{"reconcile", 0}, {"apply", 0},
			{"apply", time.Second},                                       // the first event, at once
			{"apply", time.Second + 100*time.Millisecond},                // the other 19, coalesced
			{"reconcile", 30 * time.Second}, {"apply", 30 * time.Second}, // periodic full sync
		})
		hasMetric(t, h.agent, "kubeproxy_sync_proxy_rules_endpoint_changes_total 20")
		hasMetric(t, h.agent, "kubeproxy_sync_proxy_rules_endpoint_changes_pending 0")
		hasMetric(t, h.agent, `kubeproxy_sync_full_proxy_rules_duration_seconds_count{ip_family="IPv4"} 2`)
		hasMetric(t, h.agent, `kubeproxy_sync_partial_proxy_rules_duration_seconds_count{ip_family="IPv6"} 2`)
		hasMetric(t, h.agent, "svcnat_programmed_rules 7")
	})
}

func TestRetryAfterFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startAgent(t, dnsInput(time.Time{}, "10.244.1.5"), Config{SyncPeriod: time.Hour})
		h.be.setFail(2)
		h.sync()
		time.Sleep(10 * time.Second)
		synctest.Wait()
		checkCalls(t, h.be, []call{
			{"reconcile", 0}, {"apply", 0}, // fails
			{"reconcile", 500 * time.Millisecond}, {"apply", 500 * time.Millisecond}, // fails
			{"reconcile", 1500 * time.Millisecond}, {"apply", 1500 * time.Millisecond}, // succeeds
		})
		hasMetric(t, h.agent, `kubeproxy_sync_proxy_rules_nftables_sync_failures_total{ip_family="IPv4"} 2`)
		if !h.agent.Health().Healthy() {
			t.Error("unhealthy after the retry succeeded")
		}
	})
}

// TestBackendToldWhatChanged checks that the backend hears which service
// ports changed since its last successful Apply: nothing is known at the
// start, an endpoint change names the port, and the changes of a sync
// whose Apply failed are still named by the next one.
func TestBackendToldWhatChanged(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		svc := dnsService()
		with := func(addrs ...string) synth.Input {
			return synth.Input{Services: []*corev1.Service{svc}, EndpointSlices: []*discoveryv1.EndpointSlice{dnsSlice(time.Time{}, addrs...)}}
		}
		h := startAgent(t, with("10.244.1.5"), Config{SyncPeriod: time.Hour})
		h.sync()
		h.src.set(with("10.244.1.6"), source.EndpointSlice)
		synctest.Wait()
		time.Sleep(time.Second)
		h.be.setFail(1)
		h.src.set(synth.Input{Services: []*corev1.Service{dnsService()}}, source.Service, source.EndpointSlice)
		synctest.Wait()
		time.Sleep(10 * time.Second)
		synctest.Wait()
		dns := synth.ServicePortName{Namespace: "kube-system", Name: "dns", Port: "dns", Protocol: synth.UDP}
		// The Builder names the port of the entry it dropped and of the one
		// it made.
		twice := map[synth.Family][]synth.ServicePortName{synth.IPv4: {dns, dns}}
		want := []*synth.Changes{
			nil,                          // first sync: not known
			{Ports: twice},               // endpoint changed
			{Ports: twice, Fields: true}, // the Service object is new; Apply fails
			{Ports: twice, Fields: true}, // the retry names it still
		}
		if diff := cmp.Diff(want, h.be.changes(), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("changes told to the backend (-want +got):\n%s", diff)
		}
	})
}

func TestUnhealthyWhenSyncsKeepFailing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startAgent(t, dnsInput(time.Time{}, "10.244.1.5"), Config{SyncPeriod: 10 * time.Second})
		h.be.setFail(1000)
		h.sync()
		time.Sleep(19 * time.Second)
		if !h.agent.Health().Healthy() {
			t.Error("unhealthy before 2×SyncPeriod")
		}
		time.Sleep(2 * time.Second)
		if h.agent.Health().Healthy() {
			t.Error("healthy although nothing was applied for 2×SyncPeriod")
		}
		rec := httptest.NewRecorder()
		h.agent.Health().Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
		if rec.Code != http.StatusServiceUnavailable {
			t.Errorf("/healthz = %d", rec.Code)
		}
	})
}

func TestNoConcurrentSyncs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startAgent(t, dnsInput(time.Time{}, "10.244.1.5"), Config{})
		h.be.takes = 250 * time.Millisecond
		h.sync()
		for range 40 {
			h.src.set(dnsInput(time.Time{}, "10.244.1.5"), source.Service)
			time.Sleep(25 * time.Millisecond)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if h.be.overlap {
			t.Error("two Applies overlapped")
		}
	})
}

// TestPlanLoggedAtV4 checks that at -v=4 every sync logs its plan's
// operations before committing it.
func TestPlanLoggedAtV4(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startAgent(t, dnsInput(time.Time{}, "10.244.1.5"), Config{})
		h.sync()
		if _, ok := h.logs.find(`"Sync plan"`, `"operations"="fake plan"`, `"full"`); !ok {
			t.Error("no sync plan with its operations in the log")
		}
	})
}

func TestShutdownLeavesRules(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startAgent(t, dnsInput(time.Time{}, "10.244.1.5"), Config{})
		h.sync()
		h.stop()
		if err := <-h.done; err != nil {
			t.Errorf("Run: %v", err)
		}
		h.done <- nil // for the cleanup
		for _, c := range h.be.got() {
			if c.Op == "cleanup" {
				t.Error("Cleanup called on shutdown")
			}
		}
		if n := h.be.closes(); n != 1 {
			t.Errorf("backend closed %d times on shutdown, want once", n)
		}
	})
}

func TestConntrackAndProgrammingLatency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		old := time.Now().Add(-time.Hour) // before the agent started: ignored
		h := startAgent(t, dnsInput(old, "10.244.1.5", "10.244.2.6"), Config{})
		h.sync()
		first := h.ct.take()
		if len(first) != 1 || len(first[0]) != 1 || !first[0][0].NotNATed {
			t.Errorf("first sync: conntrack flows %+v, want the cached-reject cleanup of the cluster IP", first)
		}

		time.Sleep(time.Second)
		trigger := time.Now()
		time.Sleep(500 * time.Millisecond) // the controller took 0.5s to write the slice
		h.src.set(dnsInput(trigger, "10.244.1.5"), source.EndpointSlice)
		synctest.Wait()
		flows := h.ct.take()
		if len(flows) != 1 || len(flows[0]) != 1 || flows[0][0].ReplySrc.Addr().String() != "10.244.2.6" {
			t.Errorf("after removing 10.244.2.6: conntrack flows %+v", flows)
		}
		hasMetric(t, h.agent, `kubeproxy_network_programming_duration_seconds_bucket{ip_family="IPv4",le="0.5"} 1`)
		hasMetric(t, h.agent, `kubeproxy_network_programming_duration_seconds_count{ip_family="IPv4"} 1`)
	})
}

func TestWarningsCountedOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		in := dnsInput(time.Time{}, "10.244.1.5")
		bad := dnsService()
		bad.Name = "bad"
		bad.Spec.ClusterIP, bad.Spec.ClusterIPs = "not-an-ip", []string{"not-an-ip"}
		in.Services = append(in.Services, bad)
		h := startAgent(t, in, Config{})
		h.sync()
		h.src.set(in, source.Service)
		time.Sleep(time.Second)
		synctest.Wait()
		// synth reports two warnings for the bad Service; the second sync
		// sees the same two and counts nothing new.
		hasMetric(t, h.agent, `svcnat_warnings{reason="InvalidClusterIP"} 2`)
		hasMetric(t, h.agent, `svcnat_warnings_total{reason="InvalidClusterIP"} 2`)
		h.src.set(dnsInput(time.Time{}, "10.244.1.5"), source.Service) // fixed
		time.Sleep(time.Second)
		synctest.Wait()
		if text := scrape(t, h.agent); strings.Contains(text, "svcnat_warnings{") {
			t.Errorf("warning gauge not cleared:\n%s", text)
		}
	})
}

func probe(t *testing.T, a *Agent, path string) int {
	t.Helper()
	rec := httptest.NewRecorder()
	a.Health().Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Code
}

// TestUnhealthyWhenSourceNeverSyncs: an API server unreachable from the
// start never gives a first sync: /healthz fails at once (nothing is
// programmed), /livez one health timeout after the start.
func TestUnhealthyWhenSourceNeverSyncs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startAgent(t, dnsInput(time.Time{}, "10.244.1.5"), Config{SyncPeriod: 10 * time.Second})
		if hz, lz := probe(t, h.agent, "/healthz"), probe(t, h.agent, "/livez"); hz != 503 || lz != 200 {
			t.Errorf("at the start: /healthz, /livez = %d, %d; want 503, 200", hz, lz)
		}
		time.Sleep(20 * time.Second)
		if hz, lz := probe(t, h.agent, "/healthz"), probe(t, h.agent, "/livez"); hz != 503 || lz != 503 {
			t.Errorf("after the health timeout: /healthz, /livez = %d, %d; want 503, 503", hz, lz)
		}
		hasMetric(t, h.agent, `kubeproxy_proxy_healthz_total{code="503"} 2`)
		hasMetric(t, h.agent, `kubeproxy_proxy_livez_total{code="200"} 1`)
		hasMetric(t, h.agent, `kubeproxy_proxy_livez_total{code="503"} 1`)
		if st := h.agent.Status(); st.Healthy || st.LastSync != "" {
			t.Errorf("status %+v", st)
		}
	})
}

// TestUnhealthyAfterFailingAfterOneGoodSync: applies failing for ten
// minutes after one good sync (the periodic syncs and their retries), with
// no change queued, make it unhealthy.
func TestUnhealthyAfterFailingAfterOneGoodSync(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startAgent(t, dnsInput(time.Time{}, "10.244.1.5"), Config{})
		h.sync()
		if probe(t, h.agent, "/healthz") != 200 {
			t.Fatal("unhealthy after the first sync")
		}
		h.be.setFail(1000)
		time.Sleep(10 * time.Minute)
		synctest.Wait()
		if hz, lz := probe(t, h.agent, "/healthz"), probe(t, h.agent, "/livez"); hz != 503 || lz != 503 {
			t.Errorf("/healthz, /livez = %d, %d; want 503", hz, lz)
		}
		st := h.agent.Status()
		if st.Healthy || st.LastError == "" || st.LastErrorTime == "" || st.LastSync == "" {
			t.Errorf("status %+v", st)
		}
	})
}

// TestNodeBeingDeleted: /healthz drains the node (nodeEligible false)
// while its Node has a deletionTimestamp; /livez stays 200.
func TestNodeBeingDeleted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		in := dnsInput(time.Time{}, "10.244.1.5")
		node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-1"}}
		in.Nodes = []*corev1.Node{node}
		h := startAgent(t, in, Config{})
		h.sync()
		if hz, lz := probe(t, h.agent, "/healthz"), probe(t, h.agent, "/livez"); hz != 200 || lz != 200 {
			t.Errorf("before: /healthz, /livez = %d, %d; want 200, 200", hz, lz)
		}
		deleting := node.DeepCopy()
		deleting.DeletionTimestamp = &metav1.Time{Time: time.Now()}
		in.Nodes = []*corev1.Node{deleting}
		h.src.set(in, source.Node)
		time.Sleep(time.Second)
		synctest.Wait()
		if hz, lz := probe(t, h.agent, "/healthz"), probe(t, h.agent, "/livez"); hz != 503 || lz != 200 {
			t.Errorf("being deleted: /healthz, /livez = %d, %d; want 503, 200", hz, lz)
		}
	})
}
