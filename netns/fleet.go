package netns

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
)

// Fleet is a cluster of many nodes on one LAN, for tests that measure a
// whole cluster (test/fleet) rather than one node's rules:
//
//	                         LAN namespace: bridge br0
//	      ┌───────────────────────┼──────────────────── … ───┐
//	Control eth0            node-1 eth0                  node-N eth0
//	192.168.1.10/24         192.168.1.100/24             192.168.1.(99+N)/24
//	                        vpods ── eth0 pods-1         vpods ── eth0 pods-N
//	                        vclient ── eth0 client-1     vclient ── eth0 client-N
//	                        pods 10.128.0.0/17           pods 10.(127+N).0.0/17
//	                        client 10.128.128.1          client 10.(127+N).128.1
//
// Each node has one pods namespace that owns the lower half of the node's
// pod CIDR (a local route, the kernel's "AnyIP"), so that tens of
// thousands of endpoints need no namespace each: an echo server bound to
// the wildcard address answers as whichever pod address a packet was
// DNATed to (ServeAnyAddr). A client pod has a namespace of its own, with
// one address of the upper half (FleetNode.ClientIP): a client inside the
// pods namespace would receive its replies from a local endpoint directly,
// bypassing the node's conntrack, as no real pod does.
//
// Nodes route each other's pod CIDRs over the LAN (a flat network, as a
// simple CNI would) and the service CIDR to Control, which stands for the
// default route. Node i reaches its pods namespace through one veth with
// one neighbour entry, however many pod addresses there are.
type Fleet struct {
	// LAN holds the bridge joining Control and the nodes.
	LAN *Host
	// Control runs the control plane (API server, etcd) at 192.168.1.10.
	Control *Host
	// Nodes are the cluster's nodes, node-1 … node-N.
	Nodes []*FleetNode

	lab *Lab
}

// FleetNode is one node of a Fleet.
type FleetNode struct {
	// Name is the node's name, node-1 … node-N (its Node object's name).
	Name string
	// Host is the node's namespace (eth0 on the LAN, forwarding on): the
	// namespace a proxy programs.
	Host *Host
	// Pods is the namespace that holds every endpoint pod of the node.
	Pods *Host
	// Client is a client pod of the node (address ClientIP).
	Client *Host
	// PodCIDR is the node's pod range (its Node's spec.podCIDR).
	PodCIDR netip.Prefix
	// ClientIP is the client pod's address, in PodCIDR but never returned
	// by PodIP.
	ClientIP netip.Addr
}

// MaxFleetNodes bounds a Fleet by its address plan (a /16 of pods per node
// under 10.128.0.0/9, node addresses in one /24).
const MaxFleetNodes = 100

// FleetServiceCIDR is the service range the nodes route to Control.
var FleetServiceCIDR = netip.MustParsePrefix("10.96.0.0/16")

// FleetClusterCIDR contains every node's pod CIDR.
var FleetClusterCIDR = netip.MustParsePrefix("10.128.0.0/9")

var (
	fleetControl = netip.MustParsePrefix("192.168.1.10/24")
	// The node end of a pod veth and the pod end: one link-local pair
	// reused on every link (each pair is alone on its link).
	podGatewayNode = netip.MustParsePrefix("169.254.1.1/32")
	podGatewayPod  = netip.MustParsePrefix("169.254.1.2/32")
)

// NewFleet builds n nodes in namespaces named <prefix>-<6 hex>-<role>.
// prefix must contain "svcnat". The caller must Close the Fleet, also on
// failure paths; on error nothing is left behind.
func NewFleet(prefix string, n int) (*Fleet, error) {
	if n < 1 || n > MaxFleetNodes {
		return nil, fmt.Errorf("netns: a fleet has 1 to %d nodes, not %d", MaxFleetNodes, n)
	}
	l, err := newEmptyLab(Options{Prefix: prefix}.withDefaults())
	if err != nil {
		return nil, err
	}
	f := &Fleet{lab: l}
	if err := f.build(n); err != nil {
		return nil, errors.Join(fmt.Errorf("netns: build fleet %s: %w", l.prefix, err), l.Close())
	}
	return f, nil
}

// newEmptyLab claims a fresh prefix for a topology the caller builds.
func newEmptyLab(o Options) (*Lab, error) {
	if !strings.Contains(o.Prefix, "svcnat") || !prefixRE.MatchString(o.Prefix) {
		return nil, fmt.Errorf("netns: prefix %q must contain \"svcnat\" and only [A-Za-z0-9_.-]", o.Prefix)
	}
	suffix, err := randomHex(3)
	if err != nil {
		return nil, err
	}
	l := &Lab{opts: o, prefix: o.Prefix + "-" + suffix, pods: map[string]*Pod{}, closers: map[io.Closer]struct{}{}}
	if err := claim(l.prefix); err != nil {
		return nil, err
	}
	return l, nil
}

func (f *Fleet) build(n int) error {
	var err error
	if f.LAN, err = f.lab.newHost("lan", nil, nil); err != nil {
		return err
	}
	if f.Control, err = f.lab.newHost("control", []netip.Addr{fleetControl.Addr()}, clientSysctls); err != nil {
		return err
	}
	for i := range n {
		node, err := f.newNode(i)
		if err != nil {
			return err
		}
		f.Nodes = append(f.Nodes, node)
	}
	if err := ipBatch(f.LAN.name, f.lanLines()); err != nil {
		return err
	}
	if err := ipBatch(f.Control.name, lanHostLines([]netip.Prefix{fleetControl})); err != nil {
		return err
	}
	for _, node := range f.Nodes {
		if err := ipBatch(node.Host.name, f.nodeLines(node)); err != nil {
			return err
		}
		if err := ipBatch(node.Pods.name, node.podsLines()); err != nil {
			return err
		}
		if err := ipBatch(node.Client.name, node.clientLines()); err != nil {
			return err
		}
	}
	return nil
}

func (f *Fleet) newNode(i int) (*FleetNode, error) {
	name := fmt.Sprintf("node-%d", i+1)
	cidr := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(128 + i), 0, 0}), 16)
	lan := netip.AddrFrom4([4]byte{192, 168, 1, byte(100 + i)})
	host, err := f.lab.newHost(fmt.Sprintf("n%d", i+1), []netip.Addr{lan}, routerSysctls)
	if err != nil {
		return nil, err
	}
	clientIP := netip.AddrFrom4([4]byte{10, byte(128 + i), 128, 1})
	pods, err := f.lab.newHost(fmt.Sprintf("p%d", i+1), nil, nil)
	if err != nil {
		return nil, err
	}
	client, err := f.lab.newHost(fmt.Sprintf("c%d", i+1), []netip.Addr{clientIP}, nil)
	if err != nil {
		return nil, err
	}
	return &FleetNode{Name: name, Host: host, Pods: pods, Client: client, PodCIDR: cidr, ClientIP: clientIP}, nil
}

// lanLines create the bridge and one port per member, the member's end
// created directly in its namespace as eth0.
func (f *Fleet) lanLines() []string {
	lines := []string{"link set lo up", "link add br0 type bridge mcast_snooping 0", "link set br0 up"}
	members := append([]*Host{f.Control}, f.nodeHosts()...)
	for i, h := range members {
		port := fmt.Sprintf("m%d", i)
		lines = append(lines,
			fmt.Sprintf("link add %s type veth peer name eth0 netns %s", port, h.name),
			fmt.Sprintf("link set %s master br0", port),
			fmt.Sprintf("link set %s up", port))
	}
	return lines
}

func (f *Fleet) nodeHosts() []*Host {
	hosts := make([]*Host, len(f.Nodes))
	for i, n := range f.Nodes {
		hosts[i] = n.Host
	}
	return hosts
}

// nodeLines: the LAN address, the pods and client veths, routes to the
// other nodes' pods and the service CIDR via Control (the default route's
// stand-in).
func (f *Fleet) nodeLines(n *FleetNode) []string {
	lines := lanHostLines([]netip.Prefix{netip.PrefixFrom(n.Host.IPv4(), 24)})
	for _, v := range []struct {
		dev, peer string
		dst       netip.Prefix
	}{{"vpods", n.Pods.name, n.endpointRange()}, {"vclient", n.Client.name, netip.PrefixFrom(n.ClientIP, 32)}} {
		lines = append(lines,
			fmt.Sprintf("link add %s type veth peer name eth0 netns %s", v.dev, v.peer),
			fmt.Sprintf("link set %s up", v.dev),
			addrLine(podGatewayNode, v.dev),
			fmt.Sprintf("route add %s via %s dev %s onlink", v.dst, podGatewayPod.Addr(), v.dev))
	}
	for _, peer := range f.Nodes {
		if peer != n {
			lines = append(lines, fmt.Sprintf("route add %s via %s dev eth0", peer.PodCIDR, peer.Host.IPv4()))
		}
	}
	return append(lines, fmt.Sprintf("route add %s via %s dev eth0", FleetServiceCIDR, fleetControl.Addr()))
}

// endpointRange is the lower half of the pod CIDR, owned by Pods.
func (n *FleetNode) endpointRange() netip.Prefix {
	return netip.PrefixFrom(n.PodCIDR.Addr(), n.PodCIDR.Bits()+1)
}

// podsLines make the pods namespace own the endpoint range.
func (n *FleetNode) podsLines() []string {
	return append(podLinkLines(),
		fmt.Sprintf("route add local %s dev lo", n.endpointRange()),
		fmt.Sprintf("route add default via %s dev eth0", podGatewayNode.Addr()))
}

// clientLines give the client pod its address and the node as its router.
func (n *FleetNode) clientLines() []string {
	return append(podLinkLines(),
		fmt.Sprintf("addr add %s/32 dev eth0", n.ClientIP),
		fmt.Sprintf("route add default via %s dev eth0 src %s", podGatewayNode.Addr(), n.ClientIP))
}

// podLinkLines: eth0 up with the pod end of the link-local pair, and a
// route to the node's end.
func podLinkLines() []string {
	return []string{
		"link set lo up",
		"link set eth0 up",
		addrLine(podGatewayPod, "eth0"),
		fmt.Sprintf("route add %s dev eth0 scope link", podGatewayNode.Addr()),
	}
}

// MaxFleetPods is the number of endpoint addresses per node.
const MaxFleetPods = 1<<15 - 1

// PodIP returns the i-th endpoint address of the node (i from 0; the
// network address is skipped). It panics from MaxFleetPods on.
func (n *FleetNode) PodIP(i int) netip.Addr {
	if i < 0 || i >= MaxFleetPods {
		panic(fmt.Sprintf("netns: pod index %d outside %s", i, n.endpointRange()))
	}
	b := n.PodCIDR.Addr().As4()
	v := 1 + i
	b[2], b[3] = byte(v>>8), byte(v)
	return netip.AddrFrom4(b)
}

// Prefix is the unique prefix of the fleet's namespaces.
func (f *Fleet) Prefix() string { return f.lab.prefix }

// Close stops the fleet's servers and connections and deletes its
// namespaces. It is idempotent.
func (f *Fleet) Close() error { return f.lab.Close() }

// ServeAnyAddr starts a TCP echo server on port of every address the host
// accepts, bound to the wildcard address: in a Fleet's pods namespace that
// is every pod address of the node, and each reply names the pod address
// the connection reached.
func (h *Host) ServeAnyAddr(port uint16) (*Server, error) {
	if port == 0 {
		return nil, errors.New("netns: ServeAnyAddr needs a non-zero port")
	}
	any := netip.AddrPortFrom(netip.IPv4Unspecified(), port)
	s := &Server{host: h, proto: TCP, conns: map[io.Closer]struct{}{}, addrs: []netip.AddrPort{any}}
	var ln *net.TCPListener
	err := h.Do(func() (err error) {
		ln, err = net.ListenTCP("tcp4", net.TCPAddrFromAddrPort(any))
		return err
	})
	if err := s.startStream(tcpListener{ln}, err); err != nil {
		return nil, fmt.Errorf("netns: serve tcp on %s in %s: %w", any, h.name, err)
	}
	if !h.lab.track(s) {
		s.Close()
		return nil, errors.New("netns: lab is closed")
	}
	return s, nil
}
