package netns

import (
	"fmt"
	"net/netip"
	"regexp"
)

// Options describes the addresses of the virtual cluster. The zero value of
// every field means "use the default"; DefaultOptions lists the defaults.
// A field set to an IPv4-only list makes that part of the lab single-stack.
type Options struct {
	// Prefix is the start of every namespace name. It must contain "svcnat";
	// a random per-run suffix is always appended. Default "svcnat".
	Prefix string
	// Client is the external client on the LAN. Default 192.168.1.10/24, fd00:1::10/64.
	Client []netip.Prefix
	// Node is the node under test. Default 192.168.1.100/24, fd00:1::100/64,
	// pods in 10.244.1.0/24 and fd00:244:1::/64.
	Node NodeOptions
	// Node2 is a second node that hosts "remote" pods. Default 192.168.1.101/24,
	// fd00:1::101/64, pods in 10.244.2.0/24 and fd00:244:2::/64.
	Node2 NodeOptions
	// ServiceCIDRs are routed by the client to Node (like an external router
	// would) and by both nodes to the client. Default 10.96.0.0/16, fd00:96::/112.
	ServiceCIDRs []netip.Prefix
}

// NodeOptions describes one node of the virtual cluster.
type NodeOptions struct {
	// LAN holds the node's addresses on the LAN bridge, with their prefix length.
	LAN []netip.Prefix
	// PodCIDRs are the pod ranges of this node, one per IP family.
	PodCIDRs []netip.Prefix
	// PodVethPrefix starts the name of the node end of every pod's veth
	// (the lab appends a number). Default "vpod"; at most 10 characters.
	PodVethPrefix string
	// PodBridge, when set, names a bridge on the node that the pods' veths
	// are ports of (kubenet's cbr0): the bridge holds the pod gateway
	// addresses and the node routes pod IPs to it, so pod traffic comes in
	// by the bridge. Default: no bridge, pods are routed to their veths.
	PodBridge string
}

// Option changes the Options of a Lab before it is built.
type Option func(*Options)

// WithOptions replaces the Options of a Lab; fields left empty keep their default.
func WithOptions(o Options) Option {
	return func(dst *Options) { *dst = o }
}

// WithPrefix sets Options.Prefix.
func WithPrefix(prefix string) Option {
	return func(o *Options) { o.Prefix = prefix }
}

const defaultPodVethPrefix = "vpod"

var (
	vethPrefixRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.-]{0,9}$`)
	bridgeNameRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.-]{0,14}$`)
)

// checkNames rejects interface names the lab cannot create: a veth
// prefix leaves room for the number appended to it.
func (n NodeOptions) checkNames() error {
	if !vethPrefixRE.MatchString(n.PodVethPrefix) {
		return fmt.Errorf("pod veth prefix %q must match %s", n.PodVethPrefix, vethPrefixRE)
	}
	if n.PodBridge != "" && (!bridgeNameRE.MatchString(n.PodBridge) || n.PodBridge == "eth0" || n.PodBridge == "lo") {
		return fmt.Errorf("pod bridge %q must match %s and not be eth0 or lo", n.PodBridge, bridgeNameRE)
	}
	return nil
}

// PodGatewayIPv4 is the address every pod uses as its IPv4 default gateway.
// The node puts it on each pod's veth (scope link), so it never leaves the node.
var PodGatewayIPv4 = netip.MustParseAddr("169.254.1.1")

// PodGatewayIPv6 is the link-local address every pod uses as its IPv6 default gateway.
var PodGatewayIPv6 = netip.MustParseAddr("fe80::1")

// DefaultOptions returns the addresses of the standard topology.
func DefaultOptions() Options {
	p := netip.MustParsePrefix
	return Options{
		Prefix: "svcnat",
		Client: []netip.Prefix{p("192.168.1.10/24"), p("fd00:1::10/64")},
		Node: NodeOptions{
			LAN:      []netip.Prefix{p("192.168.1.100/24"), p("fd00:1::100/64")},
			PodCIDRs: []netip.Prefix{p("10.244.1.0/24"), p("fd00:244:1::/64")},
		},
		Node2: NodeOptions{
			LAN:      []netip.Prefix{p("192.168.1.101/24"), p("fd00:1::101/64")},
			PodCIDRs: []netip.Prefix{p("10.244.2.0/24"), p("fd00:244:2::/64")},
		},
		ServiceCIDRs: []netip.Prefix{p("10.96.0.0/16"), p("fd00:96::/112")},
	}
}

// withDefaults fills every empty field of o from DefaultOptions.
func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.Prefix == "" {
		o.Prefix = d.Prefix
	}
	if len(o.Client) == 0 {
		o.Client = d.Client
	}
	o.Node = o.Node.withDefaults(d.Node)
	o.Node2 = o.Node2.withDefaults(d.Node2)
	if len(o.ServiceCIDRs) == 0 {
		o.ServiceCIDRs = d.ServiceCIDRs
	}
	return o
}

func (n NodeOptions) withDefaults(d NodeOptions) NodeOptions {
	if len(n.LAN) == 0 {
		n.LAN = d.LAN
	}
	if len(n.PodCIDRs) == 0 {
		n.PodCIDRs = d.PodCIDRs
	}
	if n.PodVethPrefix == "" {
		n.PodVethPrefix = defaultPodVethPrefix
	}
	return n
}

// addrOf returns the first address of the given family (4 or 6) in prefixes.
func addrOf(prefixes []netip.Prefix, family int) (netip.Addr, bool) {
	for _, p := range prefixes {
		if familyOf(p.Addr()) == family {
			return p.Addr(), true
		}
	}
	return netip.Addr{}, false
}

func familyOf(a netip.Addr) int {
	if a.Unmap().Is4() {
		return 4
	}
	return 6
}

func addrsOf(prefixes []netip.Prefix) []netip.Addr {
	out := make([]netip.Addr, 0, len(prefixes))
	for _, p := range prefixes {
		out = append(out, p.Addr())
	}
	return out
}
