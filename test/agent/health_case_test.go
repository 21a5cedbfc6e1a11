package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"testing"
	"time"

	"github.com/svcnat/svcnat/netns"
)

const hcNodePort = 30300

// TestHealth: /healthz answers 200 once the agent has synced, and the
// healthCheckNodePort of a Local LoadBalancer Service tells load balancers
// from the client's side whether node-1 has a local endpoint.
func TestHealth(t *testing.T) {
	forEachBackend(t, testHealth)
}

func testHealth(t *testing.T, backend string) {
	f := newFixture(t, []netip.Addr{pod1}, remote)
	lb := service{name: "lb", typ: "LoadBalancer", clusterIP: netip.MustParseAddr("10.96.0.80"),
		port: 80, targetPort: echoPort, nodePort: 30081, local: true, hcNodePort: hcNodePort,
		endpoints: on("node-1", pod1)}
	f.write(t, lb)
	a := startAgent(t, f.lab, f.dir, agentOpts{backend: backend})
	ctx, cancel := context.WithTimeout(t.Context(), testLimit)
	defer cancel()
	within(ctx, t, "first sync", time.Now(), startLimit,
		answeredBy(f.lab.Client, netns.TCP, netip.AddrPortFrom(nodeIP, 30081), pod1))

	code, body, err := a.node.HTTPGet(ctx, "http://"+healthzAddr+"/healthz", 2*time.Second)
	if err != nil || code != http.StatusOK {
		t.Fatalf("GET /healthz after the first sync: %d %q %v, want 200", code, body, err)
	}
	within(ctx, t, "health check node port with a local endpoint", time.Now(), changeLimit,
		serviceHealth(f.lab.Client, http.StatusOK, 1))

	lb.endpoints = on("node-2", remote)
	since := f.writer(t, lb)()
	within(ctx, t, "endpoint moved to node-2", since, changeLimit,
		serviceHealth(f.lab.Client, http.StatusServiceUnavailable, 0))
}

// serviceHealth checks what http://<node>:hcNodePort/ answers the client.
func serviceHealth(cl *netns.Host, wantCode, wantLocal int) func(context.Context) error {
	url := fmt.Sprintf("http://%s/", netip.AddrPortFrom(nodeIP, hcNodePort))
	return func(ctx context.Context) error {
		code, body, err := cl.HTTPGet(ctx, url, 2*time.Second)
		if err != nil {
			return err
		}
		var st struct {
			LocalEndpoints int `json:"localEndpoints"`
		}
		if err := json.Unmarshal([]byte(body), &st); err != nil {
			return fmt.Errorf("GET %s: %d %q: %w", url, code, body, err)
		}
		if code != wantCode || st.LocalEndpoints != wantLocal {
			return fmt.Errorf("GET %s: %d %q, want %d with localEndpoints %d", url, code, body, wantCode, wantLocal)
		}
		return nil
	}
}
