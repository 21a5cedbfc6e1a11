//go:build fleet

package fleet

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/svcnat/svcnat/internal/labtest"
	"github.com/svcnat/svcnat/netns"
)

// Where every proxy listens, inside its node's namespace (kube-proxy's
// defaults, as in kubeadm's config).
const (
	healthzPort = 10256
	metricsAddr = "127.0.0.1:10249"
)

// proxy is the proxy process of one node.
type proxy struct {
	kind string // "svcnat" or "kube-proxy"
	node *netns.FleetNode
	proc *labtest.Proc

	mu     sync.Mutex
	rssMax float64 // MB, over every process this proxy has been
}

func newProxy(kind, bin, config, dir string, node *netns.FleetNode, env []string) *proxy {
	log := filepath.Join(dir, fmt.Sprintf("%s-%s.log", kind, node.Name))
	proc := labtest.NewProc(kind+" on "+node.Name, node.Host, log,
		bin, "--config="+config, "--hostname-override="+node.Name)
	proc.Env = env
	return &proxy{kind: kind, node: node, proc: proc}
}

func (p *proxy) start() error { return p.proc.Start() }

// Grace periods of a stopping proxy: kubelet's default
// terminationGracePeriodSeconds (kubeadm's DaemonSet sets none) in a
// rollout, a shorter one when the test ends.
const (
	rolloutGrace = 30 * time.Second
	cleanupGrace = 10 * time.Second
)

// stop stops the process after taking its peak resident set: SIGTERM,
// then SIGKILL after grace (labtest.ErrKilled); grace 0 kills at once (a
// node losing power).
func (p *proxy) stop(grace time.Duration) error {
	p.sampleRSS("VmHWM")
	if grace > 0 {
		return p.proc.Stop(grace)
	}
	return p.proc.Kill()
}

// awaitHealthy polls the proxy's /healthz until it answers 200, at most
// limit.
func (p *proxy) awaitHealthy(ctx context.Context, limit time.Duration) error {
	url := fmt.Sprintf("http://%s:%d/healthz", p.node.Host.IPv4(), healthzPort)
	_, err := labtest.Eventually(ctx, limit, 100*time.Millisecond, func(ctx context.Context) error {
		if err := p.proc.Exited(); err != nil {
			return labtest.Permanent(fmt.Errorf("%s exited: %w\n%s", p.proc.Name(), err, p.proc.LogTail(0, 4000)))
		}
		code, body, err := p.node.Host.HTTPGet(ctx, url, time.Second)
		if err != nil {
			return err
		}
		if code != http.StatusOK {
			return fmt.Errorf("%s /healthz: %d %s", p.proc.Name(), code, body)
		}
		return nil
	})
	return err
}

// sampleRSS records the process's VmRSS (or VmHWM, its peak) in MB.
func (p *proxy) sampleRSS(field string) {
	pid := p.proc.Pid()
	if pid <= 0 {
		return
	}
	kb, err := statusKB(pid, field)
	if err != nil {
		return // the process is gone: its last samples stand
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rssMax = max(p.rssMax, float64(kb)/1024)
}

func (p *proxy) rssMB() float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.rssMax
}

// statusKB reads one "Field:   N kB" line of /proc/PID/status.
func statusKB(pid int, field string) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if ok && name == field {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("/proc/%d/status: no %s", pid, field)
}

// metrics fetches the proxy's Prometheus text from its metrics server.
func (p *proxy) metrics(ctx context.Context) (string, error) {
	code, body, err := p.node.Host.HTTPGet(ctx, "http://"+metricsAddr+"/metrics", 5*time.Second)
	if err != nil {
		return "", err
	}
	if code != http.StatusOK {
		return "", fmt.Errorf("%s /metrics: %d", p.proc.Name(), code)
	}
	return body, nil
}

// saveHeapProfile writes the proxy's heap profile (pprof format) to path.
func (p *proxy) saveHeapProfile(ctx context.Context, path string) error {
	code, body, err := p.node.Host.HTTPGet(ctx, "http://"+metricsAddr+"/debug/pprof/heap", 10*time.Second)
	if err != nil {
		return err
	}
	if code != http.StatusOK {
		return fmt.Errorf("%s /debug/pprof/heap: %d", p.proc.Name(), code)
	}
	return os.WriteFile(path, []byte(body), 0o644)
}

// saveCPUProfile writes a CPU profile of the proxy's next d to path. It
// asks as soon as the proxy serves its metrics address (a proxy just
// started), for at most d.
func (p *proxy) saveCPUProfile(ctx context.Context, path string, d time.Duration) error {
	url := fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", metricsAddr, int(d.Seconds()))
	deadline := time.Now().Add(d)
	for {
		code, body, err := p.node.Host.HTTPGet(ctx, url, d+10*time.Second)
		switch {
		case err == nil && code == http.StatusOK:
			return os.WriteFile(path, []byte(body), 0o644)
		case err == nil:
			return fmt.Errorf("%s /debug/pprof/profile: %d", p.proc.Name(), code)
		case time.Now().After(deadline):
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// sampleEvery samples every proxy's VmRSS until ctx ends.
func sampleEvery(ctx context.Context, every time.Duration, proxies []*proxy) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		for _, p := range proxies {
			p.sampleRSS("VmRSS")
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// proxyConfig is kubeadm's config.conf (the file kubeadm puts in the
// kube-proxy ConfigMap) with what a cluster sets: the mode, the pod range,
// the kubeconfig's path, and the minimum sync period under test.
func proxyConfig(repo, kubeconfig string, minSync time.Duration) (string, error) {
	b, err := os.ReadFile(filepath.Join(repo, "kubeproxy/testdata/kubeadm-v1.37-config.conf"))
	if err != nil {
		return "", err
	}
	s := string(b)
	for _, r := range []struct{ old, new string }{
		{"mode: \"\"", "mode: nftables"},
		// /debug/pprof on the metrics address: node-1's heap profile is saved.
		{"enableProfiling: false", "enableProfiling: true"},
		{"clusterCIDR: \"\"", "clusterCIDR: " + netns.FleetClusterCIDR.String()},
		{"/var/lib/kube-proxy/kubeconfig.conf", kubeconfig},
		{"nftables:\n  masqueradeAll: false\n  masqueradeBit: null\n  minSyncPeriod: 0s",
			"nftables:\n  masqueradeAll: false\n  masqueradeBit: null\n  minSyncPeriod: " + minSync.String()},
	} {
		if !strings.Contains(s, r.old) {
			return "", fmt.Errorf("kubeadm config: no %q", r.old)
		}
		s = strings.Replace(s, r.old, r.new, 1)
	}
	return s, nil
}
