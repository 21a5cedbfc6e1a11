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
}

// PodName returns the name given to AddPod.
func (p *Pod) PodName() string { return p.podName }

// Node returns the node the pod is attached to.
func (p *Pod) Node() *Host { return p.node }

// NodeVeth returns the name of the pod's veth on the node side, e.g. "vpod1".
func (p *Pod) NodeVeth() string { return p.veth }

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
	veth, err := l.reservePod(name)
	if err != nil {
		return nil, fmt.Errorf("netns: add pod %q: %w", name, err)
	}
	h, err := l.newHost("pod-"+name, ips, nil)
	if err != nil {
		return nil, fmt.Errorf("netns: add pod %q: %w", name, err)
	}
	p := &Pod{Host: h, podName: name, node: node, veth: veth}
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
func (l *Lab) reservePod(name string) (string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, dup := l.pods[name]; dup {
		return "", errors.New("pod exists")
	}
	l.pods[name] = nil
	l.vethSeq++
	return fmt.Sprintf("vpod%d", l.vethSeq), nil
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
func (p *Pod) nodeLines(node NodeOptions) []string {
	lines := []string{
		fmt.Sprintf("link add %s type veth peer name eth0 netns %s", p.veth, p.name),
		fmt.Sprintf("link set %s up", p.veth),
	}
	for _, ip := range p.addrs {
		gw, bits := netip.PrefixFrom(PodGatewayIPv4, 32), 32
		if familyOf(ip) == 6 {
			gw, bits = netip.PrefixFrom(PodGatewayIPv6, 64), 128
		}
		route := fmt.Sprintf("route add %s dev %s", netip.PrefixFrom(ip, bits), p.veth)
		if src, ok := addrOf(node.LAN, familyOf(ip)); ok {
			route += " src " + src.String()
		}
		lines = append(lines, addrLine(gw, p.veth)+" scope link", route)
	}
	return lines
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
