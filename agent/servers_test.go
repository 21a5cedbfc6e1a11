package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr/funcr"
	corev1 "k8s.io/api/core/v1"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"

	"github.com/svcnat/svcnat/synth"
)

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// runAgent runs an agent with fakes and real listeners until the test
// ends, and waits for its first sync.
func runAgent(t *testing.T, cfg Config, src *fakeSource) *Agent {
	t.Helper()
	cfg.Logger = funcr.New(func(p, a string) { t.Log(p, a) }, funcr.Options{})
	cfg.Synth.NodeName = "node-1"
	cfg.Conntrack = &fakeConntrack{}
	close(src.synced)
	a := NewAgent(cfg, src, newFakeBackend())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	select {
	case <-a.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("no successful sync")
	}
	return a
}

// TestServers runs the agent with real listeners on loopback: the metrics
// and the health servers on their own addresses, and a health check node
// port for an externalTrafficPolicy Local LoadBalancer with one local
// endpoint.
func TestServers(t *testing.T) {
	hcPort := freePort(t)
	in := dnsInput(time.Time{}, "10.244.1.5")
	svc := in.Services[0]
	svc.Spec.Type = corev1.ServiceTypeLoadBalancer
	svc.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
	svc.Spec.HealthCheckNodePort = int32(hcPort)
	svc.Spec.Ports[0].NodePort = 30053
	in.EndpointSlices[0].Endpoints[0].NodeName = ptr.To("node-1")

	metricsAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	healthAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	runAgent(t, Config{MetricsAddr: metricsAddr, HealthzAddr: healthAddr, HealthCheckBindAddress: "127.0.0.1"}, newFakeSource(in))

	code, body := httpGet(t, "http://"+healthAddr+"/healthz")
	var st struct {
		LastUpdated  time.Time `json:"lastUpdated"`
		NodeEligible *bool     `json:"nodeEligible"`
	}
	if err := json.Unmarshal([]byte(body), &st); code != 200 || err != nil || st.LastUpdated.IsZero() || st.NodeEligible == nil || !*st.NodeEligible {
		t.Errorf("/healthz = %d %s", code, body)
	}
	if code, _ := httpGet(t, "http://"+healthAddr+"/livez"); code != 200 {
		t.Errorf("/livez = %d", code)
	}
	if code, body := httpGet(t, "http://"+metricsAddr+"/healthz"); code != 200 || body != "ok" {
		t.Errorf("metrics server /healthz = %d %q, want 200 ok", code, body)
	}
	if code, body := httpGet(t, "http://"+metricsAddr+"/metrics"); code != 200 || !strings.Contains(body, `kubeproxy_sync_proxy_rules_last_timestamp_seconds{ip_family="IPv4"}`) {
		t.Errorf("/metrics = %d", code)
	}
	if code, _ := httpGet(t, "http://"+healthAddr+"/metrics"); code != 404 {
		t.Errorf("health server /metrics = %d, want 404", code)
	}
	code, body = httpGet(t, fmt.Sprintf("http://127.0.0.1:%d/", hcPort))
	if code != 200 || !strings.Contains(body, `"localEndpoints":1`) {
		t.Errorf("health check node port = %d %s", code, body)
	}
}

// get serves one request with h.
func get(h http.Handler, path string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec
}

// TestMetricsServerEndpoints checks every route of the metrics server.
func TestMetricsServerEndpoints(t *testing.T) {
	type configz struct {
		Mode string `json:"mode"`
	}
	cfg := Config{
		Version: "v0.9.0", ProxyMode: "nftables", Configz: configz{Mode: "nftables"},
		Flagz:           func() map[string]string { return map[string]string{"v": "2", "proxy-mode": "nftables"} },
		EnableProfiling: true,
	}
	a := runAgent(t, cfg, newFakeSource(dnsInput(time.Time{}, "10.244.1.5")))
	h, _ := a.Handlers()
	for _, tc := range []struct {
		path, contentType string
		code              int
		body              func(string) bool
	}{
		{"/healthz", "text/plain; charset=utf-8", 200, func(b string) bool { return b == "ok" }},
		{"/proxyMode", "text/plain; charset=utf-8", 200, func(b string) bool { return b == "nftables" }},
		{"/configz", "application/json", 200, func(b string) bool { return b == `{"kubeproxy.config.k8s.io":{"mode":"nftables"}}` }},
		{"/flagz", "text/plain; charset=utf-8", 200, func(b string) bool {
			return strings.HasPrefix(b, "\nsvcnat flagz\n") && strings.HasSuffix(b, "\n\nproxy-mode=nftables\nv=2\n")
		}},
		{"/metrics", "", 200, func(b string) bool {
			return strings.Contains(b, "# TYPE kubeproxy_sync_proxy_rules_duration_seconds histogram")
		}},
		{"/debug/pprof/", "", 200, func(b string) bool { return strings.Contains(b, "goroutine") }},
		{"/debug/pprof/goroutine?debug=1", "", 200, func(b string) bool { return strings.Contains(b, "goroutine profile") }},
		{"/svcnat/status", "application/json", 200, func(b string) bool { return strings.Contains(b, `"version":"v0.9.0"`) }},
		{"/livez", "", 404, func(string) bool { return true }},
	} {
		rec := get(h, tc.path)
		body := rec.Body.String()
		if rec.Code != tc.code || !tc.body(body) {
			t.Errorf("GET %s = %d %q", tc.path, rec.Code, body)
		}
		if ct := rec.Header().Get("Content-Type"); tc.contentType != "" && ct != tc.contentType {
			t.Errorf("GET %s: Content-Type %q, want %q", tc.path, ct, tc.contentType)
		}
	}
}

// TestMetricsServerDefaults: without Configz, Flagz and profiling,
// /configz is empty, /flagz and /debug/pprof/ are not served, and
// /proxyMode is the backend's name.
func TestMetricsServerDefaults(t *testing.T) {
	a := runAgent(t, Config{}, newFakeSource(dnsInput(time.Time{}, "10.244.1.5")))
	h, _ := a.Handlers()
	if rec := get(h, "/configz"); rec.Code != 200 || rec.Body.String() != "{}" {
		t.Errorf("/configz = %d %q", rec.Code, rec.Body)
	}
	if rec := get(h, "/proxyMode"); rec.Body.String() != "nftables" {
		t.Errorf("/proxyMode = %q", rec.Body)
	}
	for _, p := range []string{"/flagz", "/debug/pprof/"} {
		if rec := get(h, p); rec.Code != 404 {
			t.Errorf("GET %s = %d, want 404", p, rec.Code)
		}
	}
}

// TestStatusSchema checks /svcnat/status field for field.
func TestStatusSchema(t *testing.T) {
	in := dnsInput(time.Time{}, "10.244.1.5")
	bad := dnsService()
	bad.Name = "bad"
	bad.Spec.ClusterIP, bad.Spec.ClusterIPs = "not-an-ip", []string{"not-an-ip"}
	in.Services = append(in.Services, bad)
	a := runAgent(t, Config{Version: "v0.9.0"}, newFakeSource(in))
	h, _ := a.Handlers()
	rec := get(h, "/svcnat/status")
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(rec.Body.Bytes(), &raw); err != nil {
		t.Fatalf("%v: %s", err, rec.Body)
	}
	var keys []string
	for k := range raw {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	want := []string{"backend", "families", "healthy", "lastError", "lastErrorTime", "lastSync", "nodeName", "version", "warnings"}
	if !slices.Equal(keys, want) {
		t.Errorf("keys %v, want %v", keys, want)
	}
	var st Status
	if err := json.Unmarshal(rec.Body.Bytes(), &st); err != nil {
		t.Fatal(err)
	}
	if _, err := time.Parse(time.RFC3339, st.LastSync); err != nil {
		t.Errorf("lastSync %q: %v", st.LastSync, err)
	}
	if st.Version != "v0.9.0" || st.Backend != "nftables" || st.NodeName != "node-1" || !st.Healthy ||
		st.LastError != "" || st.LastErrorTime != "" {
		t.Errorf("status %+v", st)
	}
	wantFams := []FamilyStatus{{Family: "ipv4", ServicePorts: 1, Rules: 5, Elements: 2}, {Family: "ipv6", ServicePorts: 0, Rules: 2, Elements: 1}}
	if !slices.Equal(st.Families, wantFams) {
		t.Errorf("families %+v, want %+v", st.Families, wantFams)
	}
	if len(st.Warnings) == 0 || st.Warnings[0].Object != "Service kube-system/bad" || st.Warnings[0].Reason != "InvalidClusterIP" || st.Warnings[0].Message == "" {
		t.Errorf("warnings %+v", st.Warnings)
	}
}

// TestServerListenError: with BindAddressHardFail a taken address stops Run.
func TestServerListenError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	src := newFakeSource(dnsInput(time.Time{}))
	a := NewAgent(Config{MetricsAddr: ln.Addr().String(), BindAddressHardFail: true, Conntrack: &fakeConntrack{}}, src, newFakeBackend())
	if err := a.Run(t.Context()); err == nil {
		t.Error("Run succeeded although the metrics address is taken and BindAddressHardFail is set")
	}
}

// TestOneAddressForBoth: with equal addresses one server serves both route
// lists, and /healthz is the health server's JSON.
func TestOneAddressForBoth(t *testing.T) {
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	runAgent(t, Config{MetricsAddr: addr, HealthzAddr: addr}, newFakeSource(dnsInput(time.Time{}, "10.244.1.5")))
	if code, body := httpGet(t, "http://"+addr+"/healthz"); code != 200 || !strings.Contains(body, `"nodeEligible":true`) {
		t.Errorf("/healthz = %d %s", code, body)
	}
	for _, p := range []string{"/livez", "/metrics", "/proxyMode", "/svcnat/status"} {
		if code, _ := httpGet(t, "http://"+addr+p); code != 200 {
			t.Errorf("GET %s = %d", p, code)
		}
	}
}

// TestTakenAddress: like kube-proxy, a metrics or health address held by
// another process (the kube-proxy being replaced) is retried until it is
// free, unless BindAddressHardFail makes it an error of Run.
func TestTakenAddress(t *testing.T) {
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := held.Addr().String()
	fc := clocktesting.NewFakeClock(time.Now())
	a := NewAgent(Config{MetricsAddr: addr, Clock: fc, Logger: funcr.New(func(p, a string) { t.Log(p, a) }, funcr.Options{})},
		newFakeSource(synth.Input{}), newFakeBackend())
	stop, err := a.startServers()
	if err != nil {
		t.Fatalf("a taken address without hard fail: %v", err)
	}
	defer stop()
	held.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		fc.Step(listenRetry) // the ticker of the retry loop
		resp, err := (&http.Client{Timeout: time.Second}).Get("http://" + addr + "/proxyMode")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still not serving on %s after it was freed: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}

	again, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	hard := NewAgent(Config{MetricsAddr: again.Addr().String(), BindAddressHardFail: true},
		newFakeSource(synth.Input{}), newFakeBackend())
	if stop, err := hard.startServers(); err == nil {
		stop()
		t.Error("BindAddressHardFail: a taken address is no error")
	}
}
