package main

import (
	"fmt"
	"net/netip"
	"os"

	"github.com/spf13/pflag"

	"github.com/svcnat/svcnat/manifest"
	"github.com/svcnat/svcnat/synth"
)

// modelFlags are the flags every offline command shares: where the cluster
// state comes from and what the node looks like.
type modelFlags struct {
	files         []string
	nodeName      string
	nodeIPs       []string
	clusterCIDRs  []string
	serviceCIDRs  []string
	nodePortAddrs []string
	nodePortRange string
	masqAll       bool
}

func (m *modelFlags) register(fs *pflag.FlagSet) {
	fs.StringArrayVarP(&m.files, "filename", "f", nil, "manifest `FILE` (YAML or JSON, multi-document or a List); - reads stdin; repeatable")
	m.registerNode(fs)
}

// registerNode registers the flags describing the node. Every command
// takes both svcnat's and kube-proxy's spelling of the node's name and
// address: --node-name or --hostname-override, --node-ip or --bind-address.
func (m *modelFlags) registerNode(fs *pflag.FlagSet) {
	fs.StringVar(&m.nodeName, "node-name", defaultNodeName(), "this node's `NAME` (selects local endpoints; default: $NODE_NAME, then the hostname)")
	alias(fs, "hostname-override", "node-name")
	fs.StringArrayVar(&m.nodeIPs, "node-ip", nil, "this node's `IP` address; repeatable (0.0.0.0 and :: mean: not given)")
	alias(fs, "bind-address", "node-ip")
	fs.StringArrayVar(&m.clusterCIDRs, "cluster-cidr", nil, "pod `CIDR` of the cluster (traffic from outside is masqueraded); repeatable")
	fs.StringArrayVar(&m.serviceCIDRs, "service-cidr", nil, "service `CIDR` (unallocated addresses are dropped); repeatable")
	fs.StringArrayVar(&m.nodePortAddrs, "nodeport-addresses", nil, "`CIDR` of node addresses that answer NodePorts (default: all); repeatable")
	fs.BoolVar(&m.masqAll, "masquerade-all", false, "masquerade every packet sent to a Service")
	fs.StringVar(&m.nodePortRange, "service-node-port-range", synth.DefaultNodePortRange.String(),
		"the cluster's node port `RANGE` (the API server's flag): nodePorts outside it get a warning; empty: no check")
}

// alias registers flag name as a second spelling of flag of: both set the
// same value.
func alias(fs *pflag.FlagSet, name, of string) {
	f := fs.Lookup(of)
	varname, _ := pflag.UnquoteUsage(f)
	fs.Var(f.Value, name, fmt.Sprintf("kube-proxy's spelling of --%s `%s`", of, varname))
}

func defaultNodeName() string {
	if n := os.Getenv("NODE_NAME"); n != "" {
		return n
	}
	n, _ := os.Hostname()
	return n
}

// config builds the synth.Config the flags describe.
func (m *modelFlags) config() (synth.Config, error) {
	cfg := synth.Config{NodeName: m.nodeName, MasqueradeAll: m.masqAll}
	if m.nodePortRange != "" {
		r, err := synth.ParsePortRange(m.nodePortRange)
		if err != nil {
			return cfg, usagef("--service-node-port-range %q: %v", m.nodePortRange, err)
		}
		cfg.NodePortRange = r
	}
	for _, s := range m.nodeIPs {
		a, err := synth.ParseAddrSloppy(s)
		if err != nil {
			return cfg, usagef("--node-ip %q: %v", s, err)
		}
		if a.IsUnspecified() {
			continue // kube-proxy's --bind-address default: detect the node's addresses
		}
		cfg.NodeIPs = append(cfg.NodeIPs, a)
	}
	for _, p := range []struct {
		flag string
		in   []string
		out  *[]netip.Prefix
	}{
		{"--cluster-cidr", m.clusterCIDRs, &cfg.ClusterCIDRs},
		{"--service-cidr", m.serviceCIDRs, &cfg.ServiceCIDRs},
		{"--nodeport-addresses", m.nodePortAddrs, &cfg.NodePortAddresses},
	} {
		for _, s := range p.in {
			pfx, err := synth.ParsePrefixSloppy(s)
			if err != nil {
				return cfg, usagef("%s %q: %v", p.flag, s, err)
			}
			*p.out = append(*p.out, pfx)
		}
	}
	return cfg, nil
}

// load reads the manifests and builds the model, printing warnings to stderr.
func (m *modelFlags) load(e *env) (synth.Input, synth.Result, error) {
	if len(m.files) == 0 {
		return synth.Input{}, synth.Result{}, usagef("no input: give manifest files with -f FILE (- for stdin)")
	}
	cfg, err := m.config()
	if err != nil {
		return synth.Input{}, synth.Result{}, err
	}
	in, err := readManifests(e, m.files)
	if err != nil {
		return in, synth.Result{}, usageError{err}
	}
	res := synth.Build(in, cfg)
	for _, w := range res.Warnings {
		fmt.Fprintf(e.stderr, "warning: %s\n", w)
	}
	return in, res, nil
}

// readManifests loads every file; "-" reads the command's stdin. An
// object that cannot be used is a warning and is skipped; it is an error
// only when nothing usable was read at all (or a file cannot be read).
func readManifests(e *env, files []string) (synth.Input, error) {
	var all synth.Input
	l := manifest.Loader{Stdin: e.stdin}
	for _, f := range files {
		in, err := l.Load(f)
		if err != nil {
			return all, err
		}
		all.Services = append(all.Services, in.Services...)
		all.EndpointSlices = append(all.EndpointSlices, in.EndpointSlices...)
		all.Nodes = append(all.Nodes, in.Nodes...)
	}
	if len(l.Errors) > 0 && len(all.Services)+len(all.EndpointSlices)+len(all.Nodes) == 0 {
		return all, l.Errors
	}
	for _, err := range l.Errors {
		fmt.Fprintf(e.stderr, "warning: %s\n", err)
	}
	return all, nil
}
