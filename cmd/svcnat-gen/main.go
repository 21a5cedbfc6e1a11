package main

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"

	"github.com/spf13/pflag"

	"github.com/svcnat/svcnat/internal/cliexit"
	"github.com/svcnat/svcnat/internal/gen"
)

func main() {
	os.Exit(cliexit.Code("svcnat-gen", run(os.Args[1:], os.Stdout), os.Stderr))
}

const usageText = `svcnat-gen writes a synthetic cluster (Services, EndpointSlices and Nodes)
as one manifest file, for benchmarks and tests. The same flags give the same
output.

Usage:
  svcnat-gen [flags]

Examples:
  svcnat-gen --services 10000 --endpoints 3 --nodeport-fraction 0.1 --seed 1 -o cluster.json
  svcnat-gen --services 50 | svcnat render -f - --node-name node-1

Flags:
`

const exitText = `
Exit status: 0 success, 1 failure, 2 usage error.
`

// options are the command line, before conversion into a gen.Config.
type options struct {
	cfg                               gen.Config
	serviceCIDR, podCIDR, out, format string
}

// parseFlags reads the command line; --help prints the usage to stdout
// and returns pflag.ErrHelp.
func parseFlags(args []string, stdout io.Writer) (options, error) {
	var o options
	fs := pflag.NewFlagSet("svcnat-gen", pflag.ContinueOnError)
	fs.IntVar(&o.cfg.Services, "services", 1000, "number of Services")
	fs.IntVar(&o.cfg.EndpointsPerService, "endpoints", 3, "ready endpoints per Service")
	fs.Float64Var(&o.cfg.NodePortFraction, "nodeport-fraction", 0.1, "fraction of Services of type NodePort (at most 2768 get nodePorts)")
	fs.IntVar(&o.cfg.TwoPortEvery, "two-port-every", 10, "every Nth Service has two ports (0: none)")
	fs.Int64Var(&o.cfg.Seed, "seed", 1, "random seed; the same flags give the same output")
	fs.IntVar(&o.cfg.Nodes, "nodes", 10, "number of nodes the endpoints are spread over")
	fs.StringVar(&o.cfg.NodeName, "node-name", "node-1", "name of the local node (one of the nodes)")
	fs.StringVar(&o.serviceCIDR, "service-cidr", "10.96.0.0/12", "ClusterIP range")
	fs.StringVar(&o.podCIDR, "pod-cidr", "10.128.0.0/9", "endpoint address range")
	fs.StringVar(&o.format, "format", "json", "output format: json (one List document, fast to read) or yaml (multi-document)")
	fs.StringVarP(&o.out, "output", "o", "-", "output file (- for standard output)")
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
	if err := o.finish(); err != nil {
		return o, cliexit.UsageError{Err: err}
	}
	return o, nil
}

// finish converts what the flags say into gen.Config's conventions, where
// zero means "default" and negative means "none".
func (o *options) finish() error {
	var err error
	if o.cfg.ServiceCIDR, err = netip.ParsePrefix(o.serviceCIDR); err != nil {
		return fmt.Errorf("--service-cidr: %w", err)
	}
	if o.cfg.PodCIDR, err = netip.ParsePrefix(o.podCIDR); err != nil {
		return fmt.Errorf("--pod-cidr: %w", err)
	}
	if o.cfg.NodePortFraction == 0 {
		o.cfg.NodePortFraction = -1
	}
	if o.cfg.TwoPortEvery == 0 {
		o.cfg.TwoPortEvery = -1
	}
	if o.format != "json" && o.format != "yaml" {
		return fmt.Errorf("--format %q: want json or yaml", o.format)
	}
	return o.cfg.Validate()
}

func run(args []string, stdout io.Writer) error {
	o, err := parseFlags(args, stdout)
	if err != nil {
		return err
	}
	in := gen.Cluster(o.cfg)
	write := gen.Write
	if o.format == "yaml" {
		write = gen.WriteYAML
	}
	if o.out == "-" {
		return write(stdout, in)
	}
	f, err := os.Create(o.out)
	if err != nil {
		return err
	}
	return errors.Join(write(f, in), f.Close())
}
