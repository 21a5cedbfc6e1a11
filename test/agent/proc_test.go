package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

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
}

// agent is one `svcnat run --manifests` in a lab's node, restartable.
type agent struct {
	t    testing.TB
	node *netns.Host
	argv []string
	log  *lockedBuffer // every run's output, in order

	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has been reaped
}

// startAgent starts the agent on dir and arranges for it to be stopped at
// the end of the test, printing its log if the test failed.
func startAgent(t testing.TB, lab *netns.Lab, dir string, o agentOpts) *agent {
	t.Helper()
	a := &agent{t: t, node: lab.Node, argv: agentArgv(needSvcnat(t), dir, o), log: &lockedBuffer{}}
	t.Cleanup(func() {
		if err := a.stop(syscall.SIGTERM); err != nil {
			t.Errorf("stop agent: %v", err)
		}
		if t.Failed() {
			t.Logf("agent log:\n%s", a.log.String())
		}
	})
	if err := a.start(); err != nil {
		t.Fatal(err)
	}
	return a
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
	return argv
}

// start runs a new agent process. `ip netns exec` execs svcnat in place, so
// the pid is svcnat's own.
func (a *agent) start() error {
	if a.running() {
		return errors.New("agent already running")
	}
	fmt.Fprintf(a.log, "==== %s start: %s\n", time.Now().Format("15:04:05.000"), strings.Join(a.argv[1:], " "))
	cmd := a.node.Command(context.Background(), a.argv...)
	cmd.Stdout, cmd.Stderr = a.log, a.log
	// If the test binary dies (panic, -timeout), the agent dies with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start agent: %w", err)
	}
	done := make(chan struct{})
	a.cmd, a.done = cmd, done
	go func() {
		err := cmd.Wait()
		fmt.Fprintf(a.log, "==== %s exited: %v\n", time.Now().Format("15:04:05.000"), err)
		close(done)
	}()
	return nil
}

func (a *agent) running() bool {
	if a.done == nil {
		return false
	}
	select {
	case <-a.done:
		return false
	default:
		return true
	}
}

// stop sends sig to the agent's pid and waits for it to exit; after
// stopTimeout it sends SIGKILL. Stopping a stopped agent does nothing.
func (a *agent) stop(sig syscall.Signal) error {
	if !a.running() {
		return nil
	}
	if err := a.cmd.Process.Signal(sig); err != nil {
		return fmt.Errorf("signal agent pid %d: %w", a.cmd.Process.Pid, err)
	}
	select {
	case <-a.done:
		return nil
	case <-time.After(stopTimeout):
	}
	_ = a.cmd.Process.Kill()
	select {
	case <-a.done:
		return fmt.Errorf("agent pid %d ignored %v for %v; killed", a.cmd.Process.Pid, sig, stopTimeout)
	case <-time.After(stopTimeout):
		return fmt.Errorf("agent pid %d survived SIGKILL", a.cmd.Process.Pid)
	}
}

// lockedBuffer collects the output of the agent's runs.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
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
