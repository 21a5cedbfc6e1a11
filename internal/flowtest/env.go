package flowtest

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/svcnat/svcnat/internal/scenario"
	"github.com/svcnat/svcnat/netns"
	"github.com/svcnat/svcnat/netns/netnstest"
	"github.com/svcnat/svcnat/synth"
)

// env is one scenario's lab: the netns.Lab plus what flows need to find
// the namespace of a source and to judge what a server saw.
type env struct {
	t    testing.TB
	lab  *netns.Lab
	opts netns.Options
	res  synth.Result
	pods map[netip.Addr]*netns.Pod
	// nodeIPs are node-1's own addresses: its LAN addresses and the
	// scenario's node IPs (added to eth0 when the lab lacks them).
	nodeIPs []netip.Addr
	// noServer explains why a planned server could not run (SCTP).
	noServer map[netip.AddrPort]string
}

// newEnv builds the lab of scenario s, whose Rulesets res were built from it.
func newEnv(t testing.TB, s *scenario.Scenario, res synth.Result) *env {
	t.Helper()
	lab := netnstest.NewLab(t, podInterfaces(s.Config))
	e := &env{
		t: t, lab: lab, opts: lab.Options(), res: res,
		pods: map[netip.Addr]*netns.Pod{}, noServer: map[netip.AddrPort]string{},
	}
	e.addNodeIPs()
	plan := planPods(s, res, e.inCluster)
	for i, a := range plan.addrs() {
		e.addPod(fmt.Sprintf("ep%d", i+1), a, plan.servers(a))
	}
	e.serveNodePorts(s)
	e.addRoutes(s)
	return e
}

// podInterfaces shapes node-1's pod interfaces the way the scenario's
// detect-local mode expects pods to come in: through the bridge it names,
// or by veths named with its prefix.
func podInterfaces(cfg synth.Config) netns.Option {
	return func(o *netns.Options) {
		switch cfg.LocalDetect {
		case synth.LocalDetectBridgeInterface:
			o.Node.PodBridge = cfg.BridgeInterface
		case synth.LocalDetectInterfaceNamePrefix:
			o.Node.PodVethPrefix = cfg.InterfaceNamePrefix
		}
	}
}

// serveNodePorts runs echo servers on node-1's LAN addresses on every
// NodePort and every port a flow sends to a node address. Without a rule
// they answer as the destination itself, so a REJECT or DROP row on a
// NodePort proves a rule, not just an unused port.
func (e *env) serveNodePorts(s *scenario.Scenario) {
	want := map[server]bool{}
	for _, rs := range e.res.Rulesets() {
		for _, sp := range rs.Services {
			if sp.NodePort != 0 {
				want[server{sp.Name.Protocol, sp.NodePort}] = true
			}
		}
	}
	for _, f := range s.Flows {
		if slices.Contains(e.lab.Node.Addrs(), f.Dst.Addr()) {
			want[server{f.Proto, f.Dst.Port()}] = true
		}
	}
	for srv := range want {
		if srv.proto == synth.SCTP {
			continue // unsupported here; SCTP rows are skipped
		}
		if _, err := e.lab.Node.Serve(netns.Proto(srv.proto), srv.port); err != nil {
			e.t.Fatalf("node-1: %v", err)
		}
	}
}

// inCluster reports whether a is inside node-1's or node-2's pod CIDRs.
func (e *env) inCluster(a netip.Addr) bool { return e.onNode1(a) || e.onNode2(a) }

func (e *env) onNode1(a netip.Addr) bool { return inAny(e.opts.Node.PodCIDRs, a) }
func (e *env) onNode2(a netip.Addr) bool { return inAny(e.opts.Node2.PodCIDRs, a) }

func inAny(ps []netip.Prefix, a netip.Addr) bool {
	return slices.ContainsFunc(ps, func(p netip.Prefix) bool { return p.Contains(a) })
}

// addNodeIPs gives node-1 every node IP of the scenario, e.g. a second
// address for nodePortAddresses tests, as a /32 (/128) on eth0.
func (e *env) addNodeIPs() {
	e.nodeIPs = e.lab.Node.Addrs()
	var lines []string
	for _, rs := range e.res.Rulesets() {
		for _, a := range rs.NodeIPs {
			if slices.Contains(e.nodeIPs, a) {
				continue
			}
			e.nodeIPs = append(e.nodeIPs, a)
			line := fmt.Sprintf("addr add %s dev eth0", netip.PrefixFrom(a, a.BitLen()))
			if a.Is6() {
				line += " nodad"
			}
			lines = append(lines, line)
		}
	}
	e.ipBatch(e.lab.Node, lines)
}

// addPod creates the pod holding a and starts its echo servers.
func (e *env) addPod(name string, a netip.Addr, servers []server) {
	t := e.t
	add := e.lab.AddPod
	if e.onNode2(a) {
		add = e.lab.AddRemotePod
	}
	pod, err := add(name, a)
	if err != nil {
		t.Fatalf("pod %s: %v", a, err)
	}
	e.pods[a] = pod
	for _, s := range servers {
		if s.proto == synth.SCTP {
			if err := netns.CheckSCTP(); err != nil {
				e.noServer[netip.AddrPortFrom(a, s.port)] = err.Error()
				continue
			}
		}
		if _, err := pod.Serve(netns.Proto(s.proto), s.port); err != nil {
			t.Fatalf("pod %s: %v", a, err)
		}
	}
}

// ipBatch runs iproute2 commands (without the leading "ip") in h; opts
// go before -batch (e.g. "-6": batch lines take no options).
func (e *env) ipBatch(h *netns.Host, lines []string, opts ...string) {
	if len(lines) == 0 {
		return
	}
	e.t.Helper()
	file := filepath.Join(e.t.TempDir(), "ip.batch")
	if err := os.WriteFile(file, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		e.t.Fatal(err)
	}
	argv := append(append([]string{"ip"}, opts...), "-batch", file)
	if _, err := h.Exec(context.Background(), argv...); err != nil {
		e.t.Fatalf("configure %s: %v\n%s", h, err, strings.Join(lines, "\n"))
	}
}

// isNodeAddr reports whether a belongs to node-1: what a masqueraded
// source looks like (the pod gateways included, being node-1's too).
func (e *env) isNodeAddr(a netip.Addr) bool {
	return slices.Contains(e.nodeIPs, a) || a == netns.PodGatewayIPv4 || a == netns.PodGatewayIPv6
}

// inIface is the interface of node-1 that a packet from src comes in by
// ("" when node-1 sends it itself): a node-1 pod's veth or bridge, else
// the LAN (eth0).
func (e *env) inIface(src netip.Addr) string {
	switch {
	case slices.Contains(e.nodeIPs, src), src.IsLoopback():
		return ""
	case e.pods[src] != nil && e.onNode1(src):
		return e.pods[src].NodeIface()
	}
	return "eth0"
}

// hostOf returns the namespace that owns src, or why there is none.
func (e *env) hostOf(src netip.Addr) (*netns.Host, string) {
	switch {
	case slices.Contains(e.lab.Client.Addrs(), src):
		return e.lab.Client, ""
	case slices.Contains(e.nodeIPs, src), src.IsLoopback():
		return e.lab.Node, ""
	case e.pods[src] != nil:
		return e.pods[src].Host, ""
	}
	return nil, fmt.Sprintf("source %s is neither the client, node-1 nor a pod in the lab's pod CIDRs", src)
}
