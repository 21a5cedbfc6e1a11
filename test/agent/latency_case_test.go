package agent

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/svcnat/svcnat/internal/gen"
	"github.com/svcnat/svcnat/netns"
)

const (
	latencyEdits = 50
	// latencyPoll spaces the probes while waiting for an edit to be live.
	latencyPoll = 5 * time.Millisecond
	// bigStartLimit bounds the first sync of a generated cluster.
	bigStartLimit = 3 * time.Minute
	// latencyMinSync is the agent's --min-sync-period here: its default,
	// kube-proxy's 1s, would make the rate limit, not the work, the figure
	// (test/e2e and test/fleet use 100ms too).
	latencyMinSync = 100 * time.Millisecond
	// profileSeconds covers the edits (50 × the pause and the latency).
	profileSeconds = 15
)

// probeIP is the probed Service's ClusterIP, far above the generated ones
// (gen numbers them from 10.96.0.1).
var probeIP = netip.MustParseAddr("10.96.250.1")

// TestLatency measures, beside 1k and 10k generated Services (10 endpoints
// each), the time from renaming the edited file of a small Service to
// traffic reaching its new endpoint. It runs only with SVCNAT_LATENCY=1.
func TestLatency(t *testing.T) {
	if os.Getenv("SVCNAT_LATENCY") != "1" {
		t.Skip("set SVCNAT_LATENCY=1 to measure event-to-rule latency")
	}
	for _, n := range []int{1000, 10000} {
		for _, v := range latencyVariants {
			if n > v.maxServices {
				continue
			}
			t.Run(fmt.Sprintf("%dk/%s", n/1000, v.name), func(t *testing.T) { testLatency(t, v.name, v.opts, n) })
		}
	}
}

// latencyVariants are the backends measured, up to a cluster size:
// iptables-nft needs minutes per full restore at 10k Services (see
// backend/iptables' benchmarks), so it is measured at 1k only.
var latencyVariants = []struct {
	name        string
	opts        agentOpts
	maxServices int
}{
	{"nftables", agentOpts{backend: "nftables"}, 10000},
	{"iptables-nft", agentOpts{backend: "iptables", iptablesMode: "nft"}, 1000},
	{"iptables-legacy", agentOpts{backend: "iptables", iptablesMode: "legacy"}, 10000},
}

func testLatency(t *testing.T, name string, o agentOpts, services int) {
	f := newFixture(t, []netip.Addr{pod1, pod2})
	writeCluster(t, filepath.Join(f.dir, "cluster.json"), services)
	probe := service{name: "probe", clusterIP: probeIP, port: 80, targetPort: echoPort, endpoints: on("node-1", pod1)}
	f.write(t, probe)
	o.minSyncPeriod = latencyMinSync
	profileDir := os.Getenv("SVCNAT_LATENCY_PROFILE")
	o.profiling = profileDir != ""
	a := startAgent(t, f.lab, f.dir, o)
	ctx, cancel := context.WithTimeout(t.Context(), bigStartLimit+time.Minute)
	defer cancel()
	dst := netip.AddrPortFrom(probeIP, 80)
	within(ctx, t, "first sync", time.Now(), bigStartLimit, answeredBy(f.lab.Client, netns.TCP, dst, pod1))

	var profiled <-chan error
	if profileDir != "" {
		profiled = a.cpuProfile(ctx, filepath.Join(profileDir, fmt.Sprintf("cpu-%s-%dk.pprof", name, services/1000)))
	}
	var lat []time.Duration
	for i := range latencyEdits {
		want := []netip.Addr{pod2, pod1}[i%2]
		probe.endpoints = on("node-1", want)
		since := f.writer(t, probe)()
		d, err := liveAfter(ctx, f.lab.Client, dst, want, since)
		if err != nil {
			t.Fatalf("edit %d: %v", i+1, err)
		}
		lat = append(lat, d)
		time.Sleep(300 * time.Millisecond) // let the agent settle between edits
	}
	slices.Sort(lat)
	t.Logf("LATENCY backend=%s services=%d edits=%d median=%v worst=%v all=%v",
		name, services, len(lat), lat[len(lat)/2].Round(time.Millisecond),
		lat[len(lat)-1].Round(time.Millisecond), roundAll(lat))
	if profiled != nil {
		if err := <-profiled; err != nil {
			t.Errorf("CPU profile: %v", err)
		}
	}
	for _, kind := range []string{"partial", "full"} {
		t.Logf("%s syncs: %s", kind, meanDuration(ctx, a, "kubeproxy_sync_"+kind+"_proxy_rules_duration_seconds", `{ip_family="IPv4"}`))
	}
}

// meanDuration describes the agent's histogram name: count and mean.
func meanDuration(ctx context.Context, a *agent, name, labels string) string {
	sum, err1 := a.metric(ctx, name+"_sum"+labels)
	n, err2 := a.metric(ctx, name+"_count"+labels)
	if err := errors.Join(err1, err2); err != nil {
		return err.Error()
	}
	if n == 0 {
		return "none"
	}
	mean := time.Duration(sum / n * float64(time.Second))
	return fmt.Sprintf("%v, mean %v", n, mean.Round(time.Millisecond))
}

// cpuProfile fetches a CPU profile of the next profileSeconds from the
// agent's /debug/pprof (served with --profiling) and writes it to path; the
// channel reports the outcome. Only the agent runs in its node namespace, so
// the profile shows the cost of the edits and little else.
func (a *agent) cpuProfile(ctx context.Context, path string) <-chan error {
	done := make(chan error, 1)
	go func() {
		url := fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", metricsAddr, profileSeconds)
		code, body, err := a.node.HTTPGet(ctx, url, (profileSeconds+10)*time.Second)
		if err == nil && code != http.StatusOK {
			err = fmt.Errorf("GET %s: status %d", url, code)
		}
		if err == nil {
			err = os.WriteFile(path, []byte(body), 0o644)
		}
		done <- err
	}()
	return done
}

// liveAfter probes dst every latencyPoll with a new connection until want
// answers, and returns the time since since.
func liveAfter(ctx context.Context, cl *netns.Host, dst netip.AddrPort, want netip.Addr, since time.Time) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for {
		r, err := cl.Dial(ctx, netns.TCP, dst, probeTimeout)
		if err == nil && r.Server.Addr() == want {
			return time.Since(since), nil
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("%v not answering at %s after 10s (last: %v %v)", want, dst, r.Server, err)
		case <-time.After(latencyPoll):
		}
	}
}

// writeCluster writes a generated cluster of n Services to path.
func writeCluster(t *testing.T, path string, n int) {
	t.Helper()
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	in := gen.Cluster(gen.Config{Services: n, EndpointsPerService: 10, NodeName: "node-1"})
	if err := gen.Write(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

func roundAll(ds []time.Duration) []time.Duration {
	out := make([]time.Duration, len(ds))
	for i, d := range ds {
		out[i] = d.Round(time.Millisecond)
	}
	return out
}
