//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/svcnat/svcnat/netns"
)

// healthzPort is where the agent serves /healthz (kube-proxy's port).
const healthzPort = 10256

// agent is `svcnat run` inside the node namespace, configured like
// kube-proxy would be on that node.
type agent struct {
	*proc
	lab *netns.Lab
}

func newAgent(s *suite, bin string) *agent {
	node := s.lab.Node.IPv4().String()
	argv := []string{bin, "run",
		"--kubeconfig=" + s.cluster.kubeconfig,
		"--hostname-override=" + nodeName,
		"--node-ip=" + node,
		"--cluster-cidr=" + clusterCIDR,
		"--service-cidr=" + serviceCIDR,
		"--backend=" + envOr("E2E_BACKEND", "nftables"),
		"--sync-period=30s",
		"--metrics-bind-address=127.0.0.1:10249",
		fmt.Sprintf("--healthz-bind-address=0.0.0.0:%d", healthzPort),
	}
	if extra := os.Getenv("E2E_AGENT_ARGS"); extra != "" {
		argv = append(argv, strings.Fields(extra)...)
	}
	return &agent{proc: newProc("svcnat", s.lab.Node, filepath.Join(s.dir, "svcnat.log"), argv...), lab: s.lab}
}

// start runs the agent and waits (bounded) until /healthz answers 200,
// which kube-proxy semantics define as "rules synced recently".
func (a *agent) start(ctx context.Context) error {
	if err := a.proc.start(); err != nil {
		return err
	}
	return a.waitHealthy(ctx, 60*time.Second)
}

func (a *agent) waitHealthy(ctx context.Context, timeout time.Duration) error {
	url := fmt.Sprintf("http://%s:%d/healthz", a.lab.Node.IPv4(), healthzPort)
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		if err := a.exited(); err != nil {
			return fmt.Errorf("svcnat run: %w\n%s", err, a.logTail(0, 3000))
		}
		code, _, err := a.lab.Client.HTTPGet(ctx, url, time.Second)
		if err == nil && code == http.StatusOK {
			return nil
		}
		last = fmt.Errorf("GET %s: %d %v", url, code, err)
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("svcnat run not healthy after %v: %v\n%s", timeout, last, a.logTail(0, 3000))
}

func (a *agent) stop() error { return a.proc.stop(10 * time.Second) }

// restart SIGKILLs the agent (no cleanup of any kind) and starts it again.
func (a *agent) killAndRestart(ctx context.Context) error {
	if err := a.kill(); err != nil {
		return err
	}
	return a.start(ctx)
}

// requireAgent fails t when the agent is not running, and prints what the
// agent logged during t if t fails.
func requireAgent(t *testing.T) {
	t.Helper()
	a := env.agent
	if env.agentErr != nil {
		t.Fatalf("svcnat run did not start: %v", env.agentErr)
	}
	if err := a.exited(); err != nil {
		t.Fatalf("svcnat run is not running: %v", err)
	}
	from := a.logSize()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("svcnat log during %s:\n%s", t.Name(), a.logTail(from, 12000))
		}
	})
}
