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

	"github.com/svcnat/svcnat/internal/labtest"
	"github.com/svcnat/svcnat/netns"
)

const (
	// healthzPort is where the agent serves /healthz (kube-proxy's port).
	healthzPort = 10256
	// stopGrace is how long svcnat and kube-proxy get after SIGTERM.
	stopGrace = 10 * time.Second
	// healthyLimit bounds an agent's start-up to /healthz 200.
	healthyLimit = 60 * time.Second
)

// agent is `svcnat run` inside the node namespace, configured like
// kube-proxy would be on that node.
type agent struct {
	*labtest.Proc
	lab *netns.Lab
}

func newAgent(s *suite, bin string) *agent {
	node := s.lab.Node.IPv4().String()
	argv := []string{bin, "run",
		"--kubeconfig=" + s.cluster.Kubeconfig(),
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
	return &agent{Proc: labtest.NewProc("svcnat", s.lab.Node, filepath.Join(s.dir, "svcnat.log"), argv...), lab: s.lab}
}

// start runs the agent and waits (bounded) until /healthz answers 200,
// which kube-proxy semantics define as "rules synced recently".
func (a *agent) start(ctx context.Context) error {
	if err := a.Start(); err != nil {
		return err
	}
	if _, err := waitHealthz(ctx, a.Proc, a.lab.Client, a.lab.Node); err != nil {
		return fmt.Errorf("svcnat run: %w\n%s", err, a.LogTail(0, 3000))
	}
	return nil
}

// waitHealthz waits until p, running on node, answers /healthz 200 to
// client, and returns the body; it gives up when p exits or after
// healthyLimit. (TestMain's agent starts before env is set.)
func waitHealthz(ctx context.Context, p *labtest.Proc, client, node *netns.Host) (string, error) {
	url := fmt.Sprintf("http://%s:%d/healthz", node.IPv4(), healthzPort)
	var body string
	_, err := labtest.Eventually(ctx, healthyLimit, 100*time.Millisecond, func(ctx context.Context) error {
		if err := p.Exited(); err != nil {
			return labtest.Permanent(err)
		}
		code, b, err := client.HTTPGet(ctx, url, time.Second)
		if err == nil && code == http.StatusOK {
			body = b
			return nil
		}
		return fmt.Errorf("GET %s: %d %q %v", url, code, b, err)
	})
	return body, err
}

func (a *agent) stop() error { return a.Stop(stopGrace) }

// killAndRestart SIGKILLs the agent (no cleanup of any kind) and starts it
// again.
func (a *agent) killAndRestart(ctx context.Context) error {
	if err := a.Kill(); err != nil {
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
	if err := a.Exited(); err != nil {
		t.Fatalf("svcnat run is not running: %v", err)
	}
	from := a.LogSize()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("svcnat log during %s:\n%s", t.Name(), a.LogTail(from, 12000))
		}
	})
}

// startProc runs argv on host for the rest of t: it is stopped in t's
// cleanup (needing SIGKILL fails t) and its log is printed if t failed.
func startProc(t *testing.T, name string, host *netns.Host, logPath string, argv ...string) *labtest.Proc {
	t.Helper()
	p := labtest.NewProc(name, host, logPath, argv...)
	p.StartFor(t, stopGrace)
	return p
}
