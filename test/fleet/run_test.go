//go:build fleet

package fleet

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/svcnat/svcnat/internal/labtest"
	"github.com/svcnat/svcnat/internal/labtest/kubelab"
	"github.com/svcnat/svcnat/netns"
)

// TestFleet runs the whole measurement once per proxy of FLEET_PROXIES,
// each on a fresh fleet and a fresh API server.
func TestFleet(t *testing.T) {
	for _, kind := range env.cfg.proxies {
		t.Run(kind, func(t *testing.T) {
			r := newRun(t, kind)
			res := r.measure()
			env.lines = append(env.lines, res.line())
			t.Log(res.line())
			if err := res.appendReport(env.cfg.report); err != nil {
				t.Errorf("report: %v", err)
			}
		})
	}
}

// run is one proxy's fleet.
type run struct {
	t       *testing.T
	ctx     context.Context
	kind    string
	cfg     config
	dir     string
	fleet   *netns.Fleet
	cluster *kubelab.Cluster
	load    *load
	proxies []*proxy
	traffic *traffic
	res     *result
	// watchesBefore are the API server's own watches, before any proxy.
	watchesBefore  float64
	proxiesStarted time.Time
}

// newRun builds the fleet, the control plane and the Node objects;
// everything is removed in t.Cleanup.
func newRun(t *testing.T, kind string) *run {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Hour)
	t.Cleanup(cancel)
	r := &run{t: t, ctx: ctx, kind: kind, cfg: env.cfg, res: &result{proxy: kind, nodes: env.cfg.nodes, services: env.cfg.services}}
	r.dir = filepath.Join(env.dir, "run-"+kind)
	must(t, os.MkdirAll(r.dir, 0o755))
	fleet, err := netns.NewFleet("svcnat-fleet", r.cfg.nodes)
	must(t, err)
	r.fleet = fleet
	t.Cleanup(func() { must(t, fleet.Close()) })
	for _, n := range fleet.Nodes {
		_, err := n.Pods.ServeAnyAddr(targetPort)
		must(t, err)
	}
	r.cluster, err = kubelab.Start(ctx, kubelab.Options{
		Dir: r.dir, Host: fleet.Control, Addr: fleet.Control.IPv4(),
		APIServerBin: env.apiserver, EtcdBin: env.etcd,
		APIServerArgs: []string{
			"--service-cluster-ip-range=" + netns.FleetServiceCIDR.String(),
			"--max-requests-inflight=1000", "--max-mutating-requests-inflight=500",
		},
	})
	must(t, err)
	t.Cleanup(func() { _ = r.cluster.Stop() })
	must(t, createNodes(ctx, r.cluster.Client(), fleet.Nodes))
	r.watchesBefore = r.apiWatches()
	return r
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// createNodes registers the nodes as the kubelet and the node IPAM
// controller would: InternalIP, podCIDR, Ready.
func createNodes(ctx context.Context, c kubernetes.Interface, nodes []*netns.FleetNode) error {
	for _, n := range nodes {
		node := &corev1.Node{
			ObjectMeta: metav1.ObjectMeta{Name: n.Name, Labels: map[string]string{"kubernetes.io/hostname": n.Name}},
			Spec:       corev1.NodeSpec{PodCIDR: n.PodCIDR.String(), PodCIDRs: []string{n.PodCIDR.String()}},
		}
		created, err := c.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
		if err != nil {
			return fmt.Errorf("create node %s: %w", n.Name, err)
		}
		created.Status.Addresses = []corev1.NodeAddress{
			{Type: corev1.NodeInternalIP, Address: n.Host.IPv4().String()},
			{Type: corev1.NodeHostName, Address: n.Name},
		}
		created.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue,
			LastHeartbeatTime: metav1.Now(), LastTransitionTime: metav1.Now(), Reason: "KubeletReady"}}
		if _, err := c.CoreV1().Nodes().UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("node %s status: %w", n.Name, err)
		}
	}
	return nil
}

// startProxies starts one proxy per node from the same --config file; the
// RSS sampler runs until the test ends.
func (r *run) startProxies() {
	t := r.t
	conf, err := proxyConfig(env.repo, r.cluster.Kubeconfig(), r.cfg.minSyncPeriod)
	must(t, err)
	path := filepath.Join(r.dir, "config.conf")
	must(t, os.WriteFile(path, []byte(conf), 0o600))
	r.proxiesStarted = time.Now()
	for _, n := range r.fleet.Nodes {
		p := newProxy(r.kind, env.bins[r.kind], path, r.dir, n, r.cfg.proxyEnv)
		must(t, p.start())
		r.proxies = append(r.proxies, p)
	}
	t.Cleanup(func() {
		for _, p := range r.proxies {
			_ = p.stop(cleanupGrace)
			if t.Failed() {
				t.Logf("%s log (end):\n%s", p.proc.Name(), p.proc.LogTail(p.proc.LogSize()-6000, 6000))
			}
		}
	})
	sampling, stop := context.WithCancel(r.ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); sampleEvery(sampling, 500*time.Millisecond, r.proxies) }()
	t.Cleanup(func() { stop(); wg.Wait() })
}

// forEachProxy runs fn for every proxy concurrently and fails the test on
// any error.
func (r *run) forEachProxy(fn func(*proxy) error) {
	r.t.Helper()
	errs := make([]error, len(r.proxies))
	var wg sync.WaitGroup
	for i, p := range r.proxies {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = fn(p) }()
	}
	wg.Wait()
	for _, err := range errs {
		must(r.t, err)
	}
}

// measure is the run: the load, the proxies' first sync, churn with
// latency probes and traffic, faults; then the figures.
func (r *run) measure() *result {
	r.createLoad()
	r.startProxies()
	r.awaitFirstSync()
	r.traffic = startTraffic(r.ctx, r.load, r.fleet.Nodes)
	churn := startChurn(r.ctx, r.load, r.cfg.churnRate)
	r.probeLatency()
	r.scrape()
	r.faults()
	r.res.churnWrites, r.res.churnErrors = churn.stop()
	r.res.attempts, r.res.failed, r.res.failures = r.traffic.stop()
	for _, p := range r.proxies {
		p.sampleRSS("VmHWM")
		r.res.rssMax = max(r.res.rssMax, p.rssMB())
	}
	for _, f := range r.res.failures {
		r.shortfall("failed connection: %s", f)
	}
	return r.res
}

// createLoad creates the Services at the configured rate, before any
// proxy runs: the proxies then start on a cluster that has them, as when
// a DaemonSet rolls out (and the API server is not also fanning 20k
// creations out to every node while it makes them).
func (r *run) createLoad() {
	cfg := r.cluster.RESTConfig()
	cfg.QPS, cfg.Burst = float32(r.cfg.qps), r.cfg.qps
	client, err := kubernetes.NewForConfig(cfg)
	must(r.t, err)
	r.load = newLoad(client, r.fleet.Nodes, 1)
	t0 := time.Now()
	must(r.t, r.load.createAll(r.ctx, r.cfg.services))
	r.res.loadTime = time.Since(t0)
	r.t.Logf("%d Services created in %v", r.cfg.services, r.res.loadTime.Round(time.Millisecond))
}

// awaitFirstSync waits until every node serves the probes and a sample of
// the Services: the time from the proxies' start is their first sync.
func (r *run) awaitFirstSync() {
	sample := r.load.sample(20)
	r.forEachProxy(func(p *proxy) error {
		_, err := labtest.Eventually(r.ctx, r.cfg.syncLimit, 200*time.Millisecond, func(ctx context.Context) error {
			return r.load.serves(ctx, p.node, sample)
		})
		return err
	})
	r.res.firstSync = time.Since(r.proxiesStarted)
	r.t.Logf("every node serves them %v after its proxy started", r.res.firstSync.Round(time.Millisecond))
}

// probeLatency moves a probe Service's endpoint every second for the churn
// period and records how long every node takes to serve the new endpoint.
func (r *run) probeLatency() {
	end := time.Now().Add(r.cfg.churn)
	for i := 0; time.Now().Before(end); i++ {
		next := time.Now().Add(time.Second)
		took, err := r.load.moveAndMeasure(r.ctx, i%probeServices, 30*time.Second)
		if err != nil {
			r.shortfall("latency probe %d: %v", i, err)
		}
		r.res.samples = append(r.res.samples, took...)
		time.Sleep(time.Until(next))
	}
	var steady float64
	var parts []string
	for _, p := range r.proxies {
		if kb, err := statusKB(p.proc.Pid(), "VmRSS"); err == nil {
			steady = max(steady, float64(kb)/1024)
			parts = append(parts, rssParts(p))
		}
	}
	r.res.rssSteady = steady
	// What the resident set is made of says which lever moves it: the Go
	// heap and runtime (RssAnon) or the binary's touched pages (RssFile).
	r.t.Logf("%s steady RSS (anon + file) MB: %s", r.kind, strings.Join(parts, ", "))
}

// rssParts is "node: anon + file" for the proxy's process, in MB.
func rssParts(p *proxy) string {
	anon, _ := statusKB(p.proc.Pid(), "RssAnon")
	file, _ := statusKB(p.proc.Pid(), "RssFile")
	return fmt.Sprintf("%s: %d + %d", p.node.Name, anon/1024, file/1024)
}

// scrape reads the proxies' and the API server's metrics after the churn.
func (r *run) scrape() {
	h := histogram{}
	var requests float64
	for _, p := range r.proxies {
		text, err := p.metrics(r.ctx)
		if err != nil {
			r.t.Errorf("metrics: %v", err)
			continue
		}
		s := parseMetrics(text)
		h.add(s, programmingMetric)
		requests += sum(s, requestsMetric)
	}
	r.res.programming = h
	heap := filepath.Join(r.dir, r.kind+"-node-1.heap.pprof")
	if err := r.proxies[0].saveHeapProfile(r.ctx, heap); err != nil {
		r.t.Logf("heap profile: %v", err)
	}
	r.res.requestsPerNode = requests / float64(len(r.proxies))
	r.res.watchesPerNode = (r.apiWatches() - r.watchesBefore) / float64(len(r.proxies))
}

// apiWatches is the number of watches the API server serves.
func (r *run) apiWatches() float64 {
	body, err := r.cluster.Client().Discovery().RESTClient().Get().AbsPath("/metrics").DoRaw(r.ctx)
	if err != nil {
		r.t.Errorf("API server metrics: %v", err)
		return 0
	}
	return sum(parseMetrics(string(body)), watchersMetric, `verb="WATCH"`)
}

// probeSince moves probe k and returns the slowest node's time from since
// until it serves the new endpoint.
func (r *run) probeSince(k int, since time.Time, limit time.Duration) time.Duration {
	ip, _, err := r.load.moveProbe(r.ctx, k)
	must(r.t, err)
	clusterIP, _ := r.load.probe(k)
	took, err := awaitEverywhere(r.ctx, r.fleet.Nodes, netip.AddrPortFrom(clusterIP, servicePort), ip, since, limit)
	if err != nil {
		r.shortfall("%v", err)
	}
	return slowest(took)
}

// shortfall reports a behaviour svcnat must not show: a test failure for
// svcnat, a finding logged (and counted in the report) for the proxy it is
// compared with, whose behaviour is measured, not judged.
func (r *run) shortfall(format string, args ...any) {
	r.t.Helper()
	if r.kind == "svcnat" {
		r.t.Errorf(format, args...)
		return
	}
	r.res.findings++
	r.t.Logf("finding (%s): %s", r.kind, fmt.Sprintf(format, args...))
}

func slowest(ds []time.Duration) time.Duration {
	var m time.Duration
	for _, d := range ds {
		m = max(m, d)
	}
	return m
}
