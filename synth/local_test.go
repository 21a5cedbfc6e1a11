package synth

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func prefixes(ss ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range ss {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}

func addrs(ss ...string) []netip.Addr {
	var out []netip.Addr
	for _, s := range ss {
		out = append(out, netip.MustParseAddr(s))
	}
	return out
}

// node1 is a Node with the given pod CIDRs and addresses ("Internal=IP" or
// "External=IP").
func node1(podCIDRs []string, addresses ...string) *corev1.Node {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-1"}, Spec: corev1.NodeSpec{PodCIDRs: podCIDRs}}
	for _, a := range addresses {
		typ, ip, _ := strings.Cut(a, "=")
		n.Status.Addresses = append(n.Status.Addresses, corev1.NodeAddress{Type: corev1.NodeAddressType(typ + "IP"), Address: ip})
	}
	return n
}

func TestInterfaceMatch(t *testing.T) {
	bridge := InterfaceMatch{Name: "cbr0"}
	prefix := InterfaceMatch{Name: "veth", Prefix: true}
	for _, tc := range []struct {
		m    InterfaceMatch
		iif  string
		want bool
	}{
		{bridge, "cbr0", true},
		{bridge, "cbr01", false},
		{bridge, "cbr", false},
		{bridge, "", false},
		{prefix, "veth", true},
		{prefix, "veth1a2b", true},
		{prefix, "vet", false},
		{prefix, "eth0", false},
		{prefix, "", false},
		{InterfaceMatch{}, "", false},
		{InterfaceMatch{}, "eth0", false},
	} {
		if got := tc.m.Matches(tc.iif); got != tc.want {
			t.Errorf("%s matches %q: %v, want %v", tc.m, tc.iif, got, tc.want)
		}
	}
	if bridge.String() != "cbr0" || prefix.String() != "veth*" {
		t.Errorf("String: %s %s", bridge, prefix)
	}
}

// TestLocalDetectModes: each mode puts its detector in both Rulesets; a
// mode that cannot work detects nothing and says why once.
func TestLocalDetectModes(t *testing.T) {
	cluster := prefixes("10.244.0.0/16", "fd00:244::/32")
	nodePods := []string{"10.244.1.0/24", "fd00:244:1::/64"}
	for _, tc := range []struct {
		name     string
		cfg      Config
		node     *corev1.Node
		want4    []netip.Prefix
		want6    []netip.Prefix
		iface    InterfaceMatch
		warnings string // substring of the one warning, "" for none
	}{
		{name: "zero value is ClusterCIDR", cfg: Config{ClusterCIDRs: cluster},
			want4: prefixes("10.244.0.0/16"), want6: prefixes("fd00:244::/32")},
		{name: "ClusterCIDR without CIDRs", cfg: Config{LocalDetect: LocalDetectClusterCIDR}},
		{name: "NodeCIDR from the Node", cfg: Config{LocalDetect: LocalDetectNodeCIDR, ClusterCIDRs: cluster},
			node: node1(nodePods), want4: prefixes("10.244.1.0/24"), want6: prefixes("fd00:244:1::/64")},
		{name: "NodeCIDR from spec.podCIDR", cfg: Config{LocalDetect: LocalDetectNodeCIDR},
			node:  &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-1"}, Spec: corev1.NodeSpec{PodCIDR: "10.244.7.0/24"}},
			want4: prefixes("10.244.7.0/24")},
		{name: "NodeCIDR from Config wins", cfg: Config{LocalDetect: LocalDetectNodeCIDR, NodePodCIDRs: prefixes("10.244.9.0/24")},
			node: node1(nodePods), want4: prefixes("10.244.9.0/24")},
		{name: "NodeCIDR without pod CIDRs", cfg: Config{LocalDetect: LocalDetectNodeCIDR, ClusterCIDRs: cluster},
			node: node1(nil), warnings: `no pod CIDR for node "node-1"`},
		{name: "BridgeInterface", cfg: Config{LocalDetect: LocalDetectBridgeInterface, BridgeInterface: "cbr0", ClusterCIDRs: cluster},
			iface: InterfaceMatch{Name: "cbr0"}},
		{name: "InterfaceNamePrefix", cfg: Config{LocalDetect: LocalDetectInterfaceNamePrefix, InterfaceNamePrefix: "cali"},
			iface: InterfaceMatch{Name: "cali", Prefix: true}},
		{name: "BridgeInterface without a name", cfg: Config{LocalDetect: LocalDetectBridgeInterface, ClusterCIDRs: cluster},
			warnings: "must have 1 to 15 characters"},
		{name: "prefix with a wildcard", cfg: Config{LocalDetect: LocalDetectInterfaceNamePrefix, InterfaceNamePrefix: "veth+"},
			warnings: `character '+'`},
		{name: "name too long", cfg: Config{LocalDetect: LocalDetectBridgeInterface, BridgeInterface: "a-very-long-name0"},
			warnings: "must have 1 to 15"},
		{name: "None", cfg: Config{LocalDetect: LocalDetectNone, ClusterCIDRs: cluster}},
		{name: "unknown mode", cfg: Config{LocalDetect: "PodCIDR", ClusterCIDRs: cluster}, warnings: `unknown mode "PodCIDR"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.NodeName = "node-1"
			in := Input{}
			if tc.node != nil {
				in.Nodes = []*corev1.Node{tc.node}
			}
			res := Build(in, tc.cfg)
			if !slices.Equal(res.IPv4.ClusterCIDRs, tc.want4) || !slices.Equal(res.IPv6.ClusterCIDRs, tc.want6) {
				t.Errorf("CIDRs %v %v, want %v %v", res.IPv4.ClusterCIDRs, res.IPv6.ClusterCIDRs, tc.want4, tc.want6)
			}
			if res.IPv4.PodInterface != tc.iface || res.IPv6.PodInterface != tc.iface {
				t.Errorf("interfaces %v %v, want %v", res.IPv4.PodInterface, res.IPv6.PodInterface, tc.iface)
			}
			switch {
			case tc.warnings == "" && len(res.Warnings) != 0:
				t.Errorf("warnings %v, want none", res.Warnings)
			case tc.warnings != "" && (len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0].Message, tc.warnings) ||
				res.Warnings[0].Object != "Config" || res.Warnings[0].Reason != "InvalidLocalDetect"):
				t.Errorf("warnings %v, want one Config InvalidLocalDetect saying %q", res.Warnings, tc.warnings)
			}
		})
	}
}

// TestTracePodInterface: with pods told by interface, the interface
// decides, never the source address.
func TestTracePodInterface(t *testing.T) {
	a := netip.MustParseAddr
	svc := ServicePort{Name: ServicePortName{Name: "web", Protocol: TCP}, ClusterIP: a("10.96.0.1"), Port: 80,
		NodePort: 30080, ExternalPolicyLocal: true,
		ClusterEndpoints: []Endpoint{{Addr: a("10.244.1.2"), Port: 8080, Local: true}, {Addr: a("10.244.2.2"), Port: 8080}},
		LocalEndpoints:   []Endpoint{{Addr: a("10.244.1.2"), Port: 8080, Local: true}}}
	for _, m := range []InterfaceMatch{{Name: "cbr0"}, {Name: "veth", Prefix: true}} {
		rs := &Ruleset{Family: IPv4, NodeIPs: addrs("192.168.1.100"), NodePortAddrs: addrs("192.168.1.100"),
			ClusterCIDRs: prefixes("10.244.0.0/16"), PodInterface: m, Services: []*ServicePort{&svc}}
		pod := "cbr0"
		if m.Prefix {
			pod = "veth3"
		}
		for _, tc := range []struct {
			src, dst, iif string
			masq          bool
			endpoints     int
		}{
			{"10.244.1.50", "10.96.0.1:80", pod, false, 2},
			{"10.244.1.50", "10.96.0.1:80", "eth0", true, 2}, // a pod address from elsewhere
			{"192.168.1.10", "10.96.0.1:80", pod, false, 2},  // any address from the pod interface
			{"192.168.1.10", "10.96.0.1:80", "cbr1", true, 2},
			{"192.168.1.100", "10.96.0.1:80", "", true, 2}, // the node itself
			{"10.244.1.50", "192.168.1.100:30080", pod, false, 2},
			{"10.244.2.50", "192.168.1.100:30080", "eth0", false, 1}, // external: local endpoint only
			{"192.168.1.100", "192.168.1.100:30080", "", true, 2},
		} {
			tr := rs.Trace(Packet{Src: a(tc.src), Proto: TCP, Dst: netip.MustParseAddrPort(tc.dst), InIface: tc.iif})
			if tr.Verdict != VerdictDNAT || tr.Masquerade != tc.masq || len(tr.Endpoints) != tc.endpoints {
				t.Errorf("%s: %s -> %s iif %q: %s masquerade %v endpoints %v, want DNAT %v %d endpoints\n%s",
					m, tc.src, tc.dst, tc.iif, tr.Verdict, tr.Masquerade, tr.Endpoints, tc.masq, tc.endpoints, strings.Join(tr.Path, "; "))
			}
		}
	}
}

// TestNodePortPrimary: "primary" means one IP per family, picked like
// kube-proxy picks the node IPs; it combines with CIDRs; a family without
// a primary IP nor a CIDR is not restricted.
func TestNodePortPrimary(t *testing.T) {
	node := node1(nil, "External=192.168.1.200", "Internal=192.168.1.100", "Internal=192.168.1.102",
		"Internal=fd00:1::100", "Internal=fd00:1::102")
	for _, tc := range []struct {
		name         string
		cfg          Config
		node         *corev1.Node
		want4, want6 []netip.Addr
	}{
		{"off: every node IP", Config{}, node,
			addrs("192.168.1.100", "192.168.1.102", "192.168.1.200"), addrs("fd00:1::100", "fd00:1::102")},
		{"first InternalIP per family", Config{NodePortPrimary: true}, node,
			addrs("192.168.1.100"), addrs("fd00:1::100")},
		{"ExternalIP when no InternalIP", Config{NodePortPrimary: true}, node1(nil, "External=192.168.1.200", "Internal=fd00:1::100"),
			addrs("192.168.1.200"), addrs("fd00:1::100")},
		{"with a CIDR", Config{NodePortPrimary: true, NodePortAddresses: prefixes("192.168.1.200/32")}, node,
			addrs("192.168.1.100", "192.168.1.200"), addrs("fd00:1::100")},
		{"configured node IPs, in their order", Config{NodePortPrimary: true, NodeIPs: addrs("127.0.0.1", "192.168.1.102", "192.168.1.100")}, node,
			addrs("192.168.1.102"), nil},
		{"primary IP (bindAddress) overrides its family", Config{NodePortPrimary: true, PrimaryNodeIPs: addrs("192.168.1.150")}, node,
			addrs("192.168.1.150"), addrs("fd00:1::100")},
		{"no Node and no node IPs: nothing", Config{NodePortPrimary: true}, nil, nil, nil},
		{"configured node IPs of both families", Config{NodePortPrimary: true, NodeIPs: addrs("192.168.1.100", "fd00:1::100", "fd00:1::102")}, nil,
			addrs("192.168.1.100"), addrs("fd00:1::100")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.NodeName = "node-1"
			in := Input{}
			if tc.node != nil {
				in.Nodes = []*corev1.Node{tc.node}
			}
			res := Build(in, tc.cfg)
			if !slices.Equal(res.IPv4.NodePortAddrs, tc.want4) || !slices.Equal(res.IPv6.NodePortAddrs, tc.want6) {
				t.Errorf("NodePortAddrs %v %v, want %v %v", res.IPv4.NodePortAddrs, res.IPv6.NodePortAddrs, tc.want4, tc.want6)
			}
		})
	}
	res := Build(Input{Nodes: []*corev1.Node{node}}, Config{NodeName: "node-1", PrimaryNodeIPs: addrs("192.168.1.150")})
	if !slices.Contains(res.IPv4.NodeIPs, netip.MustParseAddr("192.168.1.150")) || len(res.IPv4.NodeIPs) != 4 {
		t.Errorf("a primary IP is a node IP too, besides the Node's: %v", res.IPv4.NodeIPs)
	}
}

// TestBuilderFollowsNodePodCIDRs: in NodeCIDR mode a new spec.podCIDRs on
// the Node reaches the Ruleset of the next Build (the agent sees the
// Node's podCIDR appear or change without a restart).
func TestBuilderFollowsNodePodCIDRs(t *testing.T) {
	var b Builder
	cfg := Config{NodeName: "node-1", LocalDetect: LocalDetectNodeCIDR}
	svc := nodePortService("default", "web", time.Unix(0, 0), "10.96.0.1", 30080)
	res := b.Build(Input{Services: []*corev1.Service{svc}, Nodes: []*corev1.Node{node1(nil)}}, cfg)
	if len(res.IPv4.ClusterCIDRs) != 0 || len(res.Warnings) != 1 {
		t.Fatalf("no podCIDR yet: CIDRs %v, warnings %v", res.IPv4.ClusterCIDRs, res.Warnings)
	}
	res = b.Build(Input{Services: []*corev1.Service{svc}, Nodes: []*corev1.Node{node1([]string{"10.244.1.0/24"})}}, cfg)
	if !slices.Equal(res.IPv4.ClusterCIDRs, prefixes("10.244.1.0/24")) || len(res.Warnings) != 0 || res.Changed != nil {
		t.Errorf("podCIDR set: CIDRs %v, warnings %v, changes %v (want unknown: every port)", res.IPv4.ClusterCIDRs, res.Warnings, res.Changed)
	}
}
