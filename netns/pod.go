package netns

import (
	"errors"
	"fmt"
	"net/netip"
	"regexp"
)

// Pod is a pod namespace attached to a node by a veth pair, routed the
// Calico way: the pod holds its IPs as /32 and /128 on eth0 and a default
// route via PodGatewayIPv4 / PodGatewayIPv6, which the node holds on its end
// of the veth; the node holds a /32 (/128) route per pod.
type Pod struct {
	*Host
	podName string
	node    *Host
	veth    string
	bridge  string // the node's pod bridge the veth is a port of, or ""
}

// PodName returns the name given to AddPod.
func (p *Pod) PodName() string { return p.podName }

// Node returns the node the pod is attached to.
func (p *Pod) Node() *Host { return p.node }

// NodeVeth returns the name of the pod's veth on the node side, e.g. "vpod1".
func (p *Pod) NodeVeth() string { return p.veth }

// NodeIface returns the interface the pod's packets come in by on the
// node: its veth, or the node's pod bridge when the veth is a port of one.
func (p *Pod) NodeIface() string {
	if p.bridge != "" {
		return p.bridge
	}
	return p.veth
}

var podNameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$`)

// AddPod creates a pod on Node with one IP per family, each inside one of
// Node's pod CIDRs (default 10.244.1.0/24, fd00:244:1::/64). Its namespace is
// <prefix>-pod-<name>.
func (l *Lab) AddPod(name string, ips ...netip.Addr) (*Pod, error) {
	return l.addPod(l.Node, l.opts.Node, name, ips)
}

// AddRemotePod creates a pod on Node2 (pod CIDRs 10.244.2.0/24,
// fd00:244:2::/64 by default), reached from Node over the LAN.
func (l *Lab) AddRemotePod(name string, ips ...netip.Addr) (*Pod, error) {
	return l.addPod(l.Node2, l.opts.Node2, name, ips)
}

// Pod returns the pod added under name, or nil.
func (l *Lab) Pod(name string) *Pod {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.pods[name]
}

func (l *Lab) addPod(node *Host, nodeOpts NodeOptions, name string, ips []netip.Addr) (*Pod, error) {
	if err := checkPod(nodeOpts, name, ips); err != nil {
		return nil, fmt.Errorf("netns: add pod %q: %w", name, err)
	}
	veth, err := l.reservePod(name, nodeOpts.PodVethPrefix)
	if err != nil {
		return nil, fmt.Errorf("netns: add pod %q: %w", name, err)
	}
	h, err := l.newHost("pod-"+name, ips, nil)
	if err != nil {
		return nil, fmt.Errorf("netns: add pod %q: %w", name, err)
	}
	p := &Pod{Host: h, podName: name, node: node, veth: veth, bridge: nodeOpts.PodBridge}
	if err := ipBatch(node.name, p.nodeLines(nodeOpts)); err != nil {
		return nil, fmt.Errorf("netns: add pod %q: %w", name, err)
	}
	if err := ipBatch(h.name, p.podLines()); err != nil {
		return nil, fmt.Errorf("netns: add pod %q: %w", name, err)
	}
	l.mu.Lock()
	l.pods[name] = p
	l.mu.Unlock()
	return p, nil
}

// reservePod claims the pod name and a node-side veth name.
func (l *Lab) reservePod(name, vethPrefix string) (string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, dup := l.pods[name]; dup {
		return "", errors.New("pod exists")
	}
	l.pods[name] = nil
	l.vethSeq++
	return fmt.Sprintf("%s%d", vethPrefix, l.vethSeq), nil
}

func checkPod(node NodeOptions, name string, ips []netip.Addr) error {
	if !podNameRE.MatchString(name) {
		return errors.New("name must match " + podNameRE.String())
	}
	if len(ips) == 0 || len(ips) > 2 {
		return errors.New("want one IPv4 and/or one IPv6 address")
	}
	if len(ips) == 2 && familyOf(ips[0]) == familyOf(ips[1]) {
		return errors.New("two addresses of the same family")
	}
	for _, ip := range ips {
		if !inAny(node.PodCIDRs, ip) {
			return fmt.Errorf("%s is outside the node's pod CIDRs %v", ip, node.PodCIDRs)
		}
	}
	return nil
}

func inAny(cidrs []netip.Prefix, ip netip.Addr) bool {
	for _, c := range cidrs {
		if c.Contains(ip) {
			return true
		}
	}
	return false
}

// nodeLines create the veth (pod end directly in the pod namespace), put the
// gateway addresses on the node end and route the pod IPs to it. The routes
// carry the node's LAN address as source so that the node's own traffic to
// the pod does not leave from the gateway address.
//
// With a pod bridge, the veth becomes a port of the bridge instead, which
// holds the gateway addresses (bridgeLines), and the routes lead to the
// bridge.
func (p *Pod) nodeLines(node NodeOptions) []string {
	lines := []string{fmt.Sprintf("link add %s type veth peer name eth0 netns %s", p.veth, p.name)}
	dev := p.veth
	if node.PodBridge != "" {
		dev = node.PodBridge
		// Hairpin mode, as the CNI bridge plugin and kubenet set it: with
		// br_netfilter a pod's packet DNATed back to the pod itself is
		// bridged out of the port it came in by, which a bridge refuses
		// without it.
		lines = append(lines, fmt.Sprintf("link set %s master %s", p.veth, node.PodBridge),
			fmt.Sprintf("link set %s type bridge_slave hairpin on", p.veth))
	}
	lines = append(lines, fmt.Sprintf("link set %s up", p.veth))
	for _, ip := range p.addrs {
		bits := 32
		if familyOf(ip) == 6 {
			bits = 128
		}
		route := fmt.Sprintf("route add %s dev %s", netip.PrefixFrom(ip, bits), dev)
		if src, ok := addrOf(node.LAN, familyOf(ip)); ok {
			route += " src " + src.String()
		}
		if node.PodBridge == "" {
			lines = append(lines, addrLine(gatewayOf(ip), p.veth)+" scope link")
		}
		lines = append(lines, route)
	}
	return lines
}

// gatewayOf is the pod gateway of ip's family, as the node holds it.
func gatewayOf(ip netip.Addr) netip.Prefix {
	if familyOf(ip) == 6 {
		return netip.PrefixFrom(PodGatewayIPv6, 64)
	}
	return netip.PrefixFrom(PodGatewayIPv4, 32)
}

// bridgeLines create a node's pod bridge holding both pod gateways.
// Multicast snooping is off so that IPv6 neighbour discovery is flooded.
func bridgeLines(bridge string) []string {
	return []string{
		fmt.Sprintf("link add %s type bridge mcast_snooping 0", bridge),
		fmt.Sprintf("link set %s up", bridge),
		addrLine(netip.PrefixFrom(PodGatewayIPv4, 32), bridge) + " scope link",
		addrLine(netip.PrefixFrom(PodGatewayIPv6, 64), bridge) + " scope link",
	}
}

// podLines address eth0 and route everything via the gateway.
func (p *Pod) podLines() []string {
	lines := []string{"link set lo up", "link set eth0 up"}
	for _, ip := range p.addrs {
		if familyOf(ip) == 6 {
			lines = append(lines,
				addrLine(netip.PrefixFrom(ip, 128), "eth0"),
				fmt.Sprintf("route add default via %s dev eth0", PodGatewayIPv6))
			continue
		}
		lines = append(lines,
			addrLine(netip.PrefixFrom(ip, 32), "eth0"),
			fmt.Sprintf("route add %s dev eth0 scope link", PodGatewayIPv4),
			fmt.Sprintf("route add default via %s dev eth0", PodGatewayIPv4))
	}
	return lines
}
