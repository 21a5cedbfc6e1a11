package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/svcnat/svcnat/internal/cliexit"
)

func main() {
	os.Exit(cliexit.Code("svcnat-bench", run(context.Background(), os.Args[1:], os.Stdout), os.Stderr))
}

const usageText = `svcnat-bench measures svcnat on synthetic clusters and prints one Markdown
table (docs/BENCHMARKS.md): per size and backend, build and render times, and
inside a throwaway network namespace the full apply, incremental changes, the
peak RSS of 'svcnat apply' and the rules and elements programmed. It needs
root and creates only namespaces named svcnat-bench-<pid>-<n>.

Usage:
  svcnat-bench [flags]

Examples:
  svcnat-bench --sizes 1000,10000,50000 --svcnat bin/svcnat
  svcnat-bench --sizes 100 --repeat 1 --backends nftables --svcnat ""
  svcnat-bench --dataplane --sizes 10,10000 --rounds 5 --round 2s

With --dataplane it measures the data plane instead (docs/BENCHMARKS.md,
"Data plane"): in a lab of network namespaces (client, node, pod), the
node programmed for a generated cluster, new TCP connections/s and connect
latency from the client to the pod directly, through a ClusterIP and
through a NodePort, in interleaved rounds. Backends: nftables,
iptables-legacy, iptables-nft.

Flags:
`

const exitText = `
Exit status: 0 success (a failed row is reported in the table), 1 failure,
2 usage error.
`

// options are the command line.
type options struct {
	sizes     []int
	backends  []string
	endpoints int
	repeat    int
	svcnat    string // binary for the RSS column; empty skips it
	iptMode   string
	// dataplane switches to the data-plane benchmark (dataplane.go).
	dataplane dataplaneOptions
	measureDP bool
}

// parseFlags reads the command line; --help prints the usage to stdout
// and returns pflag.ErrHelp.
func parseFlags(args []string, stdout io.Writer) (options, error) {
	var o options
	var sizes string
	fs := pflag.NewFlagSet("svcnat-bench", pflag.ContinueOnError)
	fs.StringVar(&sizes, "sizes", "1000,10000,50000", "comma-separated numbers of Services")
	fs.StringSliceVar(&o.backends, "backends", []string{"nftables", "iptables"}, "backends to measure")
	fs.IntVar(&o.endpoints, "endpoints", 10, "ready endpoints per Service")
	fs.IntVar(&o.repeat, "repeat", 5, "runs of each incremental change (the median is reported)")
	fs.StringVar(&o.svcnat, "svcnat", "bin/svcnat", "svcnat binary run as a child for the peak-RSS column (empty: skip)")
	fs.StringVar(&o.iptMode, "iptables-mode", "auto", "iptables flavour: nft, legacy or auto")
	fs.BoolVar(&o.measureDP, "dataplane", false, "measure the data plane instead: new TCP connections/s through a ClusterIP and a NodePort against a direct route (default sizes 10,10000; backends nftables,iptables-legacy,iptables-nft)")
	fs.IntVar(&o.dataplane.workers, "workers", 4, "--dataplane: concurrent clients")
	fs.DurationVar(&o.dataplane.round, "round", 2*time.Second, "--dataplane: load time of each path per round")
	fs.IntVar(&o.dataplane.rounds, "rounds", 5, "--dataplane: rounds (the median is reported)")
	fs.StringSliceVar(&o.dataplane.paths, "paths", dataplanePaths, "--dataplane: paths to load (without direct: no ratio), e.g. ClusterIP alone under perf")
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			fmt.Fprint(stdout, usageText+fs.FlagUsages()+exitText)
			return o, err
		}
		return o, cliexit.UsageError{Err: err}
	}
	if fs.NArg() > 0 {
		return o, cliexit.UsageError{Err: fmt.Errorf("unexpected arguments %q", fs.Args())}
	}
	for _, s := range strings.Split(sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n <= 0 {
			return o, cliexit.UsageError{Err: fmt.Errorf("--sizes: bad size %q", s)}
		}
		o.sizes = append(o.sizes, n)
	}
	if o.repeat < 1 {
		o.repeat = 1
	}
	if o.measureDP {
		return dataplaneDefaults(o, fs)
	}
	return o, nil
}

func run(ctx context.Context, args []string, out io.Writer) error {
	o, err := parseFlags(args, out)
	if err != nil {
		return err
	}
	if o.measureDP {
		printDataplaneTable(out, o, runDataplane(ctx, o))
		return nil
	}
	var rows []row
	for _, n := range o.sizes {
		for _, be := range o.backends {
			// A failed step (e.g. an iptables tool crashing at scale) is
			// reported in its row; the other rows are still measured.
			r, err := measure(ctx, o, n, be)
			if err != nil {
				r.err = err
				fmt.Fprintf(os.Stderr, "%d Services, %s: %v\n", n, be, err)
			}
			rows = append(rows, r)
			// Progress on stderr: a 50k run takes minutes.
			fmt.Fprintf(os.Stderr, "%d × %d %s: full %v, one endpoint %v\n", n, o.endpoints, be, r.full, r.oneEndpoint)
		}
	}
	printTable(out, o, rows)
	return nil
}
