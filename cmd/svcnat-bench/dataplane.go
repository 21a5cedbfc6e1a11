package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/svcnat/svcnat/backend"
	"github.com/svcnat/svcnat/backend/iptables"
	"github.com/svcnat/svcnat/backend/nftables"
	"github.com/svcnat/svcnat/internal/cliexit"
	"github.com/svcnat/svcnat/internal/connbench"
	"github.com/svcnat/svcnat/netns"
	"github.com/svcnat/svcnat/synth"
)

// dataplaneOptions are the flags of --dataplane.
type dataplaneOptions struct {
	workers int           // concurrent clients
	round   time.Duration // time each path is loaded per round
	rounds  int
	// paths selects paths by name (default all); leaving out "direct"
	// loads only the others, e.g. to profile one path with perf.
	paths []string
}

// dataplanePaths are the names of the paths, direct first: the ratios
// are taken against it.
var dataplanePaths = []string{"direct", "ClusterIP", "NodePort"}

// dpPath is one way from the client to the pod.
type dpPath struct {
	name string
	dst  netip.AddrPort
}

// pathStats is what the rounds measured on one path.
type pathStats struct {
	name   string
	rates  []float64 // connections/s, one per round
	ratios []float64 // rate / the direct path's rate in the same round
	// cpuRatios are the direct path's CPU per connection / this path's,
	// per round: the ratio of rates when the CPU is the limit, and far
	// less sensitive than the rates to what else runs on the machine.
	cpuRatios []float64
	cpu       []float64 // process CPU µs per connection, one per round
	connect   []time.Duration
	errors    int
	lastErr   error
}

// dpRow is one (size, backend) of the data-plane table.
type dpRow struct {
	services int
	backend  string
	paths    []*pathStats
	err      error
}

// runDataplane measures every size and backend, one lab each, reporting
// progress on stderr; printDataplaneTable prints the rows.
func runDataplane(ctx context.Context, o options) []dpRow {
	var rows []dpRow
	for _, n := range o.sizes {
		for _, be := range o.backends {
			r, err := measureDataplane(ctx, o, n, be)
			if err != nil {
				r.err = err
				fmt.Fprintf(os.Stderr, "%d Services, %s: %v\n", n, be, err)
			}
			rows = append(rows, r)
			// Progress on stderr: a 10k row takes a minute or two.
			fmt.Fprintf(os.Stderr, "data plane %d Services %s: %s\n", n, be, r.summary())
		}
	}
	return rows
}

// measureDataplane builds a lab, programs the node with backend be for a
// cluster of n Services and loads the three paths in interleaved rounds.
func measureDataplane(ctx context.Context, o options, n int, be string) (dpRow, error) {
	row := dpRow{services: n, backend: be}
	lab, err := netns.New("svcnat-bench-dp")
	if err != nil {
		return row, err
	}
	defer lab.Close()
	if err := quietLANBridge(lab.LAN); err != nil {
		return row, err
	}
	pod, err := lab.AddPod("target", podIP)
	if err != nil {
		return row, err
	}
	srv, err := connbench.Serve(pod.Host, netip.AddrPortFrom(podIP, podPort), o.dataplane.workers)
	if err != nil {
		return row, err
	}
	defer srv.Close()

	in, nodePort := dataplaneCluster(n)
	res := synth.Build(in, dataplaneConfig(lab.Node.IPv4()))
	if err := programNode(ctx, lab.Node, be, res.Rulesets()); err != nil {
		return row, err
	}
	paths := []dpPath{
		{"direct", netip.AddrPortFrom(podIP, podPort)},
		{"ClusterIP", netip.AddrPortFrom(targetClusterIP, targetPort)},
		{"NodePort", netip.AddrPortFrom(lab.Node.IPv4(), nodePort)},
	}
	row.paths, err = loadRounds(lab.Client, selectPaths(paths, o.dataplane.paths), o.dataplane)
	return row, err
}

// selectPaths keeps the paths named in names, in their order.
func selectPaths(paths []dpPath, names []string) []dpPath {
	var out []dpPath
	for _, p := range paths {
		if slices.Contains(names, p.name) {
			out = append(out, p)
		}
	}
	return out
}

// quietLANBridge stops the lab's LAN bridge from passing frames through
// the IP netfilter hooks of its own namespace (br_netfilter's
// bridge-nf-call-* sysctls, per namespace, on when the module is loaded).
// The bridge stands for the switch between client and node, which has no
// netfilter; left on, its hooks cost every path a few per cent of the
// CPU of a connection (perf: br_nf_pre_routing) and dilute the node's
// share. Without br_netfilter there is nothing to turn off.
func quietLANBridge(lan *netns.Host) error {
	return lan.Do(func() error {
		for _, key := range []string{"bridge-nf-call-iptables", "bridge-nf-call-ip6tables", "bridge-nf-call-arptables"} {
			err := os.WriteFile("/proc/sys/net/bridge/"+key, []byte("0"), 0)
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("sysctl net.bridge.%s=0 in %s: %w", key, lan, err)
			}
		}
		return nil
	})
}

// programNode applies the Rulesets in the node's namespace the way
// `svcnat apply --netns` does, and closes the backend (the rules stay).
func programNode(ctx context.Context, node *netns.Host, be string, rs []*synth.Ruleset) error {
	b, err := openDataplaneBackend(ctx, be, node.Path())
	if err != nil {
		return err
	}
	defer b.Close()
	if _, err := backend.Apply(ctx, b, rs, nil); err != nil {
		return fmt.Errorf("apply %s: %w", be, err)
	}
	return nil
}

// openDataplaneBackend opens nftables, or iptables named with its flavour:
// iptables-legacy or iptables-nft (plain iptables: auto).
func openDataplaneBackend(ctx context.Context, be, nsPath string) (backend.Backend, error) {
	opts := backend.Options{NetNS: nsPath}
	if be == "nftables" {
		return nftables.New(opts)
	}
	mode, ok := strings.CutPrefix(be, "iptables")
	if !ok {
		return nil, fmt.Errorf("unknown backend %q: want nftables, iptables-legacy or iptables-nft", be)
	}
	mode = strings.TrimPrefix(mode, "-")
	if mode == "" {
		mode = string(iptables.ModeAuto)
	}
	return iptables.New(ctx, iptables.Options{Options: opts, Mode: iptables.Mode(mode)})
}

// loadRounds loads each path for one round duration, then the next, for
// every round; the order rotates each round so that no path always runs
// first (after the idle gap) or last. A round's ratios compare its paths
// with the direct path of the same round: the machine's noise of that
// moment hits both.
func loadRounds(client *netns.Host, paths []dpPath, o dataplaneOptions) ([]*pathStats, error) {
	stats := make([]*pathStats, len(paths))
	for i, p := range paths {
		stats[i] = &pathStats{name: p.name}
	}
	for round := range o.rounds {
		rates, cpu := make([]float64, len(paths)), make([]float64, len(paths))
		for k := range paths {
			i := (k + round) % len(paths)
			r, err := connbench.Run(client, paths[i].dst, o.workers, o.round)
			if err != nil {
				return stats, err
			}
			stats[i].record(r)
			rates[i], cpu[i] = r.Rate(), float64(r.CPUPerConn())
		}
		if paths[0].name != "direct" || rates[0] == 0 {
			continue
		}
		for i := range paths {
			stats[i].ratios = append(stats[i].ratios, rates[i]/rates[0])
			if cpu[i] > 0 {
				stats[i].cpuRatios = append(stats[i].cpuRatios, cpu[0]/cpu[i])
			}
		}
	}
	return stats, nil
}

func (s *pathStats) record(r connbench.Result) {
	s.rates = append(s.rates, r.Rate())
	s.cpu = append(s.cpu, float64(r.CPUPerConn().Nanoseconds())/1e3)
	s.connect = append(s.connect, r.Connect...)
	s.errors += r.Errors
	if r.FirstErr != nil {
		s.lastErr = r.FirstErr
	}
}

// dataplaneDefaults fills in what --dataplane means when --sizes and
// --backends are not given, and checks its own flags.
func dataplaneDefaults(o options, fs *pflag.FlagSet) (options, error) {
	if !fs.Changed("sizes") {
		o.sizes = []int{10, 10000}
	}
	if !fs.Changed("backends") {
		o.backends = []string{"nftables", "iptables-legacy", "iptables-nft"}
	}
	d := o.dataplane
	for _, p := range d.paths {
		if !slices.Contains(dataplanePaths, p) {
			return o, cliexit.UsageError{Err: fmt.Errorf("--paths: unknown path %q, want some of %v", p, dataplanePaths)}
		}
	}
	if d.workers < 1 || d.rounds < 1 || d.round <= 0 {
		return o, cliexit.UsageError{Err: fmt.Errorf("--workers, --rounds and --round must be positive")}
	}
	return o, nil
}
