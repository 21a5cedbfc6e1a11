package sync

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr/funcr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
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

// TestServers runs the agent with real listeners on loopback: metrics and
// health on one address, and a health check node port for an
// externalTrafficPolicy Local LoadBalancer with one local endpoint.
func TestServers(t *testing.T) {
	hcPort := freePort(t)
	in := dnsInput(time.Time{}, "10.244.1.5")
	svc := in.Services[0]
	svc.Spec.Type = corev1.ServiceTypeLoadBalancer
	svc.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
	svc.Spec.HealthCheckNodePort = int32(hcPort)
	svc.Spec.Ports[0].NodePort = 30053
	in.EndpointSlices[0].Endpoints[0].NodeName = ptr.To("node-1")

	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cfg := Config{MetricsAddr: addr, HealthzAddr: addr, HealthCheckBindAddress: "127.0.0.1",
		Logger: funcr.New(func(p, a string) { t.Log(p, a) }, funcr.Options{})}
	cfg.Synth.NodeName = "node-1"
	cfg.Conntrack = &fakeConntrack{}
	src := newFakeSource(in)
	close(src.synced)
	a := NewAgent(cfg, src, newFakeBackend())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	select {
	case <-a.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("no successful sync")
	}

	code, body := httpGet(t, "http://"+addr+"/healthz")
	var st struct {
		LastUpdated time.Time `json:"lastUpdated"`
		NodeHealthy bool      `json:"nodeHealthy"`
	}
	if err := json.Unmarshal([]byte(body), &st); code != 200 || err != nil || st.LastUpdated.IsZero() || !st.NodeHealthy {
		t.Errorf("/healthz = %d %s", code, body)
	}
	if code, _ := httpGet(t, "http://"+addr+"/livez"); code != 200 {
		t.Errorf("/livez = %d", code)
	}
	if code, body := httpGet(t, "http://"+addr+"/metrics"); code != 200 || !strings.Contains(body, "svcnat_sync_proxy_rules_last_timestamp_seconds") {
		t.Errorf("/metrics = %d", code)
	}
	code, body = httpGet(t, fmt.Sprintf("http://127.0.0.1:%d/", hcPort))
	if code != 200 || !strings.Contains(body, `"localEndpoints":1`) {
		t.Errorf("health check node port = %d %s", code, body)
	}
}

func TestServerListenError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	src := newFakeSource(dnsInput(time.Time{}))
	a := NewAgent(Config{MetricsAddr: ln.Addr().String(), Conntrack: &fakeConntrack{}}, src, newFakeBackend())
	if err := a.Run(t.Context()); err == nil {
		t.Error("Run succeeded although the metrics address is taken")
	}
}
