package main

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"time"

	"github.com/svcnat/svcnat/backend"
	"github.com/svcnat/svcnat/backend/iptables"
	"github.com/svcnat/svcnat/backend/nftables"
	"github.com/svcnat/svcnat/internal/gen"
	"github.com/svcnat/svcnat/synth"
)

// row is one line of the table.
type row struct {
	services, endpoints int
	backend             string
	synth, render       time.Duration
	full, oneEndpoint   time.Duration
	addService          time.Duration
	// maxRSS is the peak RSS (KiB; 0: not measured) of `svcnat apply`
	// into an empty namespace; maxRSSAgain into the one already holding
	// the rules, where it reads the table back and finds nothing to do.
	maxRSS, maxRSSAgain int64
	rules, elements     int
	err                 error // the step that failed, if any
}

// The node the Rulesets are built for, and its cluster's ranges (gen's defaults).
var (
	nodeName     = "node-1"
	clusterCIDRs = []netip.Prefix{netip.MustParsePrefix("10.128.0.0/9")}
	serviceCIDRs = []netip.Prefix{netip.MustParsePrefix("10.96.0.0/12")}
)

func synthConfig() synth.Config {
	return synth.Config{NodeName: nodeName, ClusterCIDRs: clusterCIDRs, ServiceCIDRs: serviceCIDRs}
}

func measure(ctx context.Context, o options, n int, name string) (row, error) {
	r := row{services: n, endpoints: o.endpoints, backend: name}
	in := gen.Cluster(gen.Config{Services: n, EndpointsPerService: o.endpoints})
	start := time.Now()
	res := synth.Build(in, synthConfig())
	r.synth = time.Since(start)
	rs := res.Rulesets()

	start = time.Now()
	if err := render(name, rs); err != nil {
		return r, err
	}
	r.render = time.Since(start)

	ns, err := newNetNS(n, name)
	if err != nil {
		return r, err
	}
	defer deleteNetNS(ns)
	be, err := open(ctx, name, o, ns)
	if err != nil {
		return r, err
	}
	defer be.Close()
	st, err := backend.Apply(ctx, be, rs, nil)
	if err != nil {
		return r, fmt.Errorf("full apply: %w", err)
	}
	r.full, r.rules, r.elements = st.Duration, st.Rules, st.Elements
	if r.oneEndpoint, err = oneEndpoint(ctx, be, res.IPv4, o.repeat); err != nil {
		return r, err
	}
	if r.addService, err = addService(ctx, be, res.IPv4, o.repeat); err != nil {
		return r, err
	}
	if o.svcnat != "" {
		if r.maxRSS, r.maxRSSAgain, err = childRSS(o, in, name, ns); err != nil {
			return r, err
		}
	}
	return r, nil
}

func render(name string, rs []*synth.Ruleset) error {
	var err error
	if name == "iptables" {
		_, err = iptables.Render(rs, iptables.RenderOptions{RandomFully: true})
	} else {
		_, err = nftables.Render(rs)
	}
	return err
}

func open(ctx context.Context, name string, o options, ns string) (backend.Backend, error) {
	opts := backend.Options{NetNS: "/run/netns/" + ns}
	if name == "iptables" {
		return iptables.New(ctx, iptables.Options{Options: opts, Mode: iptables.Mode(o.iptMode)})
	}
	return nftables.New(opts)
}

// oneEndpoint changes the port of one endpoint of the middle Service back
// and forth and returns the median Apply time.
func oneEndpoint(ctx context.Context, be backend.Backend, rs *synth.Ruleset, repeat int) (time.Duration, error) {
	sp := rs.Services[len(rs.Services)/2]
	if len(sp.ClusterEndpoints) == 0 {
		return 0, nil
	}
	var ds []time.Duration
	for i := range repeat {
		sp.ClusterEndpoints[0].Port ^= 1 << (i % 2) // never the original twice in a row
		st, err := applyChanged(ctx, be, rs, sp.Name, false)
		if err != nil {
			return 0, fmt.Errorf("one-endpoint apply: %w", err)
		}
		ds = append(ds, st.Duration)
	}
	return median(ds), nil
}

// addService adds one Service port (sorted last, with a ClusterIP above
// every generated one), applies, and removes it again (not timed).
func addService(ctx context.Context, be backend.Backend, rs *synth.Ruleset, repeat int) (time.Duration, error) {
	base := rs.Services[0]
	sp := synth.ServicePort{
		Name:      synth.ServicePortName{Namespace: "zzz-bench", Name: "added", Protocol: synth.TCP},
		ID:        "BENCHADDEDAAAAAA",
		ClusterIP: netip.MustParseAddr("10.111.255.254"), Port: 80,
		ClusterEndpoints: slices.Clone(base.ClusterEndpoints),
	}
	orig, origIPs := rs.Services, rs.ClusterIPs
	defer func() { rs.Services, rs.ClusterIPs = orig, origIPs }()
	var ds []time.Duration
	for range repeat {
		rs.Services = append(slices.Clip(orig), &sp)
		rs.ClusterIPs = append(slices.Clip(origIPs), sp.ClusterIP)
		st, err := applyChanged(ctx, be, rs, sp.Name, true) // ClusterIPs grows
		if err != nil {
			return 0, fmt.Errorf("add-Service apply: %w", err)
		}
		ds = append(ds, st.Duration)
		rs.Services, rs.ClusterIPs = orig, origIPs
		if _, err := applyChanged(ctx, be, rs, sp.Name, true); err != nil {
			return 0, fmt.Errorf("remove-Service apply: %w", err)
		}
	}
	return median(ds), nil
}

// applyChanged applies rs telling the backend which port changed and
// whether Ruleset-wide fields did (fields), as the agent does.
func applyChanged(ctx context.Context, be backend.Backend, rs *synth.Ruleset, changed synth.ServicePortName, fields bool) (backend.Stats, error) {
	ch := &synth.Changes{Ports: map[synth.Family][]synth.ServicePortName{rs.Family: {changed}}, Fields: fields}
	return backend.Apply(ctx, be, []*synth.Ruleset{rs}, ch)
}

func median(ds []time.Duration) time.Duration {
	slices.Sort(ds)
	return ds[len(ds)/2]
}

// childRSS writes the cluster as a manifest and runs `svcnat apply` on it,
// in a new namespace and in ns, which holds the rules already, and returns
// the child's peak RSS (runPeakRSS) in both.
func childRSS(o options, in synth.Input, name, ns string) (first, again int64, err error) {
	dir, err := os.MkdirTemp("", "svcnat-bench")
	if err != nil {
		return 0, 0, err
	}
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "cluster.json")
	if err := writeCluster(file, in); err != nil {
		return 0, 0, err
	}
	fresh, err := newNetNS(len(in.Services), name+"-rss")
	if err != nil {
		return 0, 0, err
	}
	defer deleteNetNS(fresh)
	if first, err = applyRSS(o, file, name, fresh); err != nil {
		return 0, 0, err
	}
	again, err = applyRSS(o, file, name, ns)
	return first, again, err
}

func writeCluster(file string, in synth.Input) error {
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if err := gen.Write(f, in); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// applyRSS runs `svcnat apply -f file` in namespace ns and returns its peak RSS.
func applyRSS(o options, file, name, ns string) (int64, error) {
	args := []string{"apply", "-f", file, "--backend", name, "--netns", ns, "--node-name", nodeName,
		"--cluster-cidr", clusterCIDRs[0].String(), "--service-cidr", serviceCIDRs[0].String()}
	if name == "iptables" {
		args = append(args, "--iptables-mode", o.iptMode)
	}
	peak, out, err := runPeakRSS(exec.Command(o.svcnat, args...))
	if err != nil {
		return 0, fmt.Errorf("%s %v: %w\n%s", o.svcnat, args, err, out)
	}
	return peak, nil
}

// newNetNS creates a throwaway namespace for one measurement.
func newNetNS(n int, name string) (string, error) {
	ns := fmt.Sprintf("svcnat-bench-%d-%s-%d", os.Getpid(), name, n)
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		return "", fmt.Errorf("ip netns add %s: %w: %s", ns, err, out)
	}
	return ns, nil
}

func deleteNetNS(ns string) {
	if out, err := exec.Command("ip", "netns", "del", ns).CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "ip netns del %s: %v: %s\n", ns, err, out)
	}
}
