package agent

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/svcnat/svcnat/internal/labtest"
	"github.com/svcnat/svcnat/netns"
)

// The agent's listen addresses: loopback of the node namespace, which is
// private to each lab, so every test may use the same ports.
const (
	metricsAddr = "127.0.0.1:10249"
	healthzAddr = "127.0.0.1:10256"
	// stopTimeout is how long SIGTERM may take before SIGKILL.
	stopTimeout = 10 * time.Second
)

// agentOpts are the flags that differ between tests.
type agentOpts struct {
	backend      string        // "nftables" or "iptables"
	iptablesMode string        // "nft" (default: the flavour tamper tests edit) or "legacy"
	syncPeriod   time.Duration // 0: the agent's default
	// minSyncPeriod 0: the agent's default (kube-proxy's 1s).
	minSyncPeriod time.Duration
	profiling     bool // serve /debug/pprof on the metrics address
}

// agent is one `svcnat run --manifests` in a lab's node, restartable;
// every run's output goes to one log, printed when the test fails.
type agent struct {
	*labtest.Proc
	node *netns.Host
}

// startAgent starts the agent on dir and arranges for it to be stopped at
// the end of the test (ignoring SIGTERM fails the test), printing its log
// if the test failed.
func startAgent(t testing.TB, lab *netns.Lab, dir string, o agentOpts) *agent {
	t.Helper()
	p := labtest.NewProc("agent", lab.Node, filepath.Join(t.TempDir(), "svcnat.log"), agentArgv(needSvcnat(t), dir, o)...)
	p.StartFor(t, stopTimeout)
	return &agent{Proc: p, node: lab.Node}
}

func agentArgv(bin, dir string, o agentOpts) []string {
	argv := []string{bin, "run", "--manifests", dir,
		"--hostname-override", "node-1", "--node-ip", nodeIP.String(),
		"--cluster-cidr", "10.244.0.0/16", "--service-cidr", "10.96.0.0/16",
		"--metrics-bind-address", metricsAddr, "--healthz-bind-address", healthzAddr,
		"--backend", o.backend, "-v", "2"}
	if o.backend == "iptables" {
		argv = append(argv, "--iptables-mode", cmpOr(o.iptablesMode, "nft"))
	}
	if o.syncPeriod > 0 {
		argv = append(argv, "--sync-period", o.syncPeriod.String())
	}
	if o.minSyncPeriod > 0 {
		argv = append(argv, "--min-sync-period", o.minSyncPeriod.String())
	}
	if o.profiling {
		argv = append(argv, "--profiling")
	}
	return argv
}

// stop ends the agent with sig: SIGTERM (SIGKILL after stopTimeout, which
// is an error) or SIGKILL. Stopping a stopped agent does nothing.
func (a *agent) stop(sig syscall.Signal) error {
	if sig == syscall.SIGKILL {
		return a.Kill()
	}
	if sig != syscall.SIGTERM {
		return fmt.Errorf("agent: stop with %v: only SIGTERM and SIGKILL", sig)
	}
	return a.Stop(stopTimeout)
}

// metric returns the value of the unlabelled sample name from the agent's
// /metrics.
func (a *agent) metric(ctx context.Context, name string) (float64, error) {
	code, body, err := a.node.HTTPGet(ctx, "http://"+metricsAddr+"/metrics", 2*time.Second)
	if err != nil {
		return 0, fmt.Errorf("GET /metrics: %w", err)
	}
	if code != http.StatusOK {
		return 0, fmt.Errorf("GET /metrics: status %d", code)
	}
	for line := range strings.Lines(body) {
		f := strings.Fields(line)
		if len(f) == 2 && f[0] == name {
			return strconv.ParseFloat(f[1], 64)
		}
	}
	return 0, fmt.Errorf("metric %s not in /metrics", name)
}

// positive checks that the agent's metric name is above zero.
func positive(ctx context.Context, a *agent, name string) error {
	v, err := a.metric(ctx, name)
	if err != nil {
		return err
	}
	if v <= 0 {
		return fmt.Errorf("%s = %v, want > 0", name, v)
	}
	return nil
}
