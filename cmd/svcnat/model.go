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
	masqAll       bool
}

func (m *modelFlags) register(fs *pflag.FlagSet) {
	fs.StringArrayVarP(&m.files, "filename", "f", nil, "manifest file (YAML or JSON, multi-document or a List); - reads stdin; repeatable")
	m.registerNode(fs, "node-name")
}

// registerNode registers the flags describing the node; the agent calls the
// node name flag --hostname-override, like kube-proxy.
func (m *modelFlags) registerNode(fs *pflag.FlagSet, nodeNameFlag string) {
	fs.StringVar(&m.nodeName, nodeNameFlag, defaultNodeName(), "this node's name (selects local endpoints; default: $NODE_NAME, then the hostname)")
	fs.StringArrayVar(&m.nodeIPs, "node-ip", nil, "this node's IP address; repeatable")
	fs.StringArrayVar(&m.clusterCIDRs, "cluster-cidr", nil, "pod CIDR of the cluster (traffic from outside is masqueraded); repeatable")
	fs.StringArrayVar(&m.serviceCIDRs, "service-cidr", nil, "service CIDR (unallocated addresses are dropped); repeatable")
	fs.StringArrayVar(&m.nodePortAddrs, "nodeport-addresses", nil, "CIDRs of node addresses that answer NodePorts (default: all); repeatable")
	fs.BoolVar(&m.masqAll, "masquerade-all", false, "masquerade every packet sent to a Service")
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
	for _, s := range m.nodeIPs {
		a, err := synth.ParseAddrSloppy(s)
		if err != nil {
			return cfg, usagef("--node-ip %q: %v", s, err)
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
