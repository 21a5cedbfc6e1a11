package synth

import (
	"cmp"
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
)

// Family is an IP family. Each family gets its own Ruleset and its own
// netfilter table.
type Family uint8

const (
	IPv4 Family = 4
	IPv6 Family = 6
)

func (f Family) String() string {
	if f == IPv6 {
		return "ipv6"
	}
	return "ipv4"
}

// families are the two families, in the order of their index.
var families = [2]Family{IPv4, IPv6}

// index is f's position in families, and in the per-family arrays the
// Builder keeps per Service (arrays, not maps: at 10k Services a map per
// Service and family field cost ≈ 10 MB).
func (f Family) index() int {
	if f == IPv6 {
		return 1
	}
	return 0
}

// FamilyOf returns the family of addr (IPv4-mapped IPv6 counts as IPv4).
func FamilyOf(addr netip.Addr) Family {
	if addr.Unmap().Is4() {
		return IPv4
	}
	return IPv6
}

// Protocol is a transport protocol in lower case, as nft spells it.
type Protocol string

const (
	TCP  Protocol = "tcp"
	UDP  Protocol = "udp"
	SCTP Protocol = "sctp"
)

// Number is the IANA protocol number.
func (p Protocol) Number() uint8 {
	switch p {
	case TCP:
		return 6
	case UDP:
		return 17
	case SCTP:
		return 132
	}
	return 0
}

// Config is what the model needs to know about the node it renders for.
// It is passed in, never read from globals, so tests run in parallel.
type Config struct {
	// NodeName selects the endpoints that are local to this node.
	NodeName string
	// NodeIPs are the node's own non-loopback addresses. When empty, they are
	// taken from the Node object named NodeName in the Input, if any.
	NodeIPs []netip.Addr
	// NodePortAddresses restricts NodePorts to node IPs inside these
	// prefixes. Empty means every node IP (of a family without a prefix
	// here: every node IP of that family).
	NodePortAddresses []netip.Prefix
	// NodePortPrimary adds the node's primary IPs, one per family, to
	// NodePortAddresses as one-address prefixes (kube-proxy's "primary"
	// keyword). See PrimaryNodeIPs.
	NodePortPrimary bool
	// PrimaryNodeIPs are the node's primary IPs (at most one per family
	// counts: the first). A family without one here takes the first of
	// NodeIPs, else the Node object's first InternalIP, else its first
	// ExternalIP. kube-proxy's bindAddress, when not 0.0.0.0 or ::, goes
	// here. They are node IPs too, even when NodeIPs does not list them.
	PrimaryNodeIPs []netip.Addr
	// NodeZone is this node's topology zone. When empty it is taken from the
	// Node object's topology.kubernetes.io/zone label.
	NodeZone string
	// LocalDetect says how pod traffic is told apart from other traffic
	// (kube-proxy's detectLocalMode); the zero value is
	// LocalDetectClusterCIDR. A mode that cannot work (unknown, a bad
	// interface name, NodeCIDR without pod CIDRs) detects nothing and is
	// reported as a Warning of object "Config".
	LocalDetect LocalDetectMode
	// ClusterCIDRs are the pod ranges (LocalDetectClusterCIDR); traffic
	// from them is "inside the cluster". Empty means unknown: no
	// source-based masquerade decisions.
	ClusterCIDRs []netip.Prefix
	// NodePodCIDRs are this node's pod ranges (LocalDetectNodeCIDR). When
	// empty they are taken from the Node object's spec.podCIDRs.
	NodePodCIDRs []netip.Prefix
	// BridgeInterface names the bridge this node's pods hang off
	// (LocalDetectBridgeInterface), e.g. "cbr0".
	BridgeInterface string
	// InterfaceNamePrefix starts the name of every pod interface of this
	// node (LocalDetectInterfaceNamePrefix), e.g. "veth" or "cali".
	InterfaceNamePrefix string
	// ServiceCIDRs are the ClusterIP ranges; traffic to an address inside
	// them that no Service holds is dropped.
	ServiceCIDRs []netip.Prefix
	// MasqueradeAll masquerades every packet sent to a Service.
	MasqueradeAll bool
	// ExternalIPAllowList, when not empty, keeps only externalIPs inside
	// these prefixes; others are skipped with a warning.
	ExternalIPAllowList []netip.Prefix
	// NodePortRange, when set (Max > 0), is the cluster's node port range
	// (the API server's --service-node-port-range, DefaultNodePortRange
	// unless changed); a nodePort outside it is warned about. The API
	// server refuses such Services, so only manifests can hold one.
	NodePortRange PortRange
}

// PortRange is an inclusive range of ports.
type PortRange struct{ Min, Max uint16 }

// DefaultNodePortRange is the API server's default node port range.
var DefaultNodePortRange = PortRange{30000, 32767}

func (r PortRange) String() string { return fmt.Sprintf("%d-%d", r.Min, r.Max) }

// ParsePortRange parses "MIN-MAX" (as --service-node-port-range does; a
// single port is a range of one).
func ParsePortRange(s string) (PortRange, error) {
	lo, hi, found := strings.Cut(strings.TrimSpace(s), "-")
	if !found {
		hi = lo
	}
	a, err1 := strconv.ParseUint(strings.TrimSpace(lo), 10, 16)
	b, err2 := strconv.ParseUint(strings.TrimSpace(hi), 10, 16)
	if err1 != nil || err2 != nil || a == 0 || a > b {
		return PortRange{}, fmt.Errorf("port range %q: want MIN-MAX with 1 <= MIN <= MAX <= 65535", s)
	}
	return PortRange{uint16(a), uint16(b)}, nil
}

// Input is the cluster state the model reads.
type Input struct {
	Services []*corev1.Service
	// EndpointSlices and Slices are read together: API objects (from
	// manifests, tests) and compact slices (a node agent's informer caches
	// hold those); a source may give either or both.
	EndpointSlices []*discoveryv1.EndpointSlice
	Slices         []*EndpointSlice
	Nodes          []*corev1.Node
}

// Result is the output of Build.
type Result struct {
	IPv4     *Ruleset
	IPv6     *Ruleset
	Warnings []Warning
	// Changed names the service ports that differ from the previous Result
	// of the same Builder; nil from Build and whenever it is not known.
	Changed *Changes
}

// Rulesets returns the rulesets of both families, IPv4 first.
func (r *Result) Rulesets() []*Ruleset { return []*Ruleset{r.IPv4, r.IPv6} }

// Ruleset returns the ruleset of family f.
func (r *Result) Ruleset(f Family) *Ruleset {
	if f == IPv6 {
		return r.IPv6
	}
	return r.IPv4
}

// Warning reports input that was skipped.
type Warning struct {
	// Object names the offending object, e.g. "Service default/web".
	Object string
	// Reason is a short CamelCase cause, usable as a metric label.
	Reason string
	// Message explains what was skipped and why.
	Message string
}

// String is the warning as one line: control characters and other
// unprintable runes in names are escaped (\n, \x1b), so a name cannot
// forge further lines or terminal escapes.
func (w Warning) String() string {
	return EscapeControl(fmt.Sprintf("%s: %s: %s", w.Object, w.Reason, w.Message))
}

// EscapeControl returns s with every rune that is not printable (control
// characters, invalid UTF-8) written as a Go escape, so text that names
// objects prints as one harmless line.
func EscapeControl(s string) string {
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || !unicode.IsPrint(r) && r != ' ' {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	q := strconv.QuoteToGraphic(s)
	q = q[1 : len(q)-1]
	return strings.ReplaceAll(q, `\"`, `"`)
}

// Changes describes how a Result differs from an earlier one, so that a
// backend need not compare everything. A nil *Changes means "not known".
type Changes struct {
	// Ports names, per family, the service ports that are new, changed or
	// gone. It may name more ports than really changed, never fewer.
	Ports map[Family][]ServicePortName
	// Fields is set when a Ruleset-wide field (anything but Services) may
	// differ.
	Fields bool
}

// Merge returns the changes of c followed by o (for changes that build up
// over several Builds); unknown stays unknown.
func (c *Changes) Merge(o *Changes) *Changes {
	if c == nil || o == nil {
		return nil
	}
	out := &Changes{Ports: map[Family][]ServicePortName{}, Fields: c.Fields || o.Fields}
	for _, m := range []*Changes{c, o} {
		for f, names := range m.Ports {
			out.Ports[f] = append(out.Ports[f], names...)
		}
	}
	return out
}

// Ruleset is everything one IP family of one node needs, as plain sorted data.
type Ruleset struct {
	Family Family
	// NodeIPs are all of the node's addresses of this family (the tracer
	// treats them as traffic from the node itself).
	NodeIPs []netip.Addr
	// NodePortAddrs are the addresses NodePorts answer on.
	NodePortAddrs []netip.Addr
	// ClusterCIDRs are the source ranges of pod traffic of this family:
	// the cluster's pod ranges (LocalDetectClusterCIDR) or this node's
	// (LocalDetectNodeCIDR); empty in the other modes.
	ClusterCIDRs []netip.Prefix
	// PodInterface, when set, tells pod traffic by the interface it comes
	// in by instead of by source address (LocalDetectBridgeInterface and
	// LocalDetectInterfaceNamePrefix); it then takes precedence over
	// ClusterCIDRs, which Build leaves empty. Packets the node sends
	// itself have no input interface: they are not pod traffic.
	PodInterface InterfaceMatch
	// ServiceCIDRs are the service ranges of this family.
	ServiceCIDRs []netip.Prefix
	// ClusterIPs are all allocated ClusterIPs of this family held by the
	// Services in the ruleset; a packet to one of them on a port no Service
	// serves is rejected.
	ClusterIPs []netip.Addr
	// MasqueradeAll masquerades every packet sent to a Service.
	MasqueradeAll bool
	// Services are the service ports, sorted by Name. A Builder's
	// Results share them with its state and with each other (a sync at
	// 10k Services would otherwise copy 2.4 MB of ports for one changed
	// endpoint): they are read only.
	Services []*ServicePort
}

// ServicePortName identifies one port of one Service.
type ServicePortName struct {
	Namespace string
	Name      string
	Port      string // the port's name; may be empty for single-port Services
	Protocol  Protocol
}

// String gives "namespace/name:port/protocol" (":port" left out when the port has no name).
func (n ServicePortName) String() string {
	s := n.Namespace + "/" + n.Name
	if n.Port != "" {
		s += ":" + n.Port
	}
	return s + "/" + string(n.Protocol)
}

// Compare orders names by namespace, name, port name, protocol.
func (n ServicePortName) Compare(o ServicePortName) int {
	return cmp.Or(cmp.Compare(n.Namespace, o.Namespace), cmp.Compare(n.Name, o.Name),
		cmp.Compare(n.Port, o.Port), cmp.Compare(n.Protocol, o.Protocol))
}

// ServicePort is one port of one Service, in one family, with every
// decision already taken.
type ServicePort struct {
	Name ServicePortName
	// ID is a short stable identifier (16 base32 characters) derived from
	// Name and family, used to name chains.
	ID string

	ClusterIP netip.Addr
	Port      uint16
	// NodePort is 0 when the Service has none.
	NodePort        uint16
	ExternalIPs     []netip.Addr
	LoadBalancerIPs []netip.Addr
	// SourceRanges limits who may reach LoadBalancerIPs (empty: everyone).
	// When a node IP is inside the ranges the load-balancer IPs themselves
	// are included, so hairpin traffic through the load balancer works.
	SourceRanges []netip.Prefix

	InternalPolicyLocal bool
	ExternalPolicyLocal bool
	// HealthCheckNodePort is set for externalTrafficPolicy Local LoadBalancers.
	HealthCheckNodePort uint16
	// AffinitySeconds is the ClientIP session affinity timeout; 0 means none.
	AffinitySeconds int32

	// ClusterEndpoints serve the "Cluster" traffic policy: every usable
	// endpoint (topology-filtered when hints apply).
	ClusterEndpoints []Endpoint
	// LocalEndpoints serve the "Local" traffic policies: the endpoints on
	// this node.
	LocalEndpoints []Endpoint
}

// Endpoint is one backend of a ServicePort.
type Endpoint struct {
	Addr netip.Addr
	Port uint16
	// Local is true when the endpoint runs on this node.
	Local bool
	// Terminating is true when the endpoint is serving but terminating
	// (used only when no ready endpoint exists).
	Terminating bool
}

// AddrPort returns the endpoint's address and port.
func (e Endpoint) AddrPort() netip.AddrPort { return netip.AddrPortFrom(e.Addr, e.Port) }

// InternalEndpoints are the endpoints for traffic to the ClusterIP.
func (sp *ServicePort) InternalEndpoints() []Endpoint {
	if sp.InternalPolicyLocal {
		return sp.LocalEndpoints
	}
	return sp.ClusterEndpoints
}

// ExternalEndpoints are the endpoints for traffic from outside the cluster
// to NodePorts, external IPs and load-balancer IPs.
func (sp *ServicePort) ExternalEndpoints() []Endpoint {
	if sp.ExternalPolicyLocal {
		return sp.LocalEndpoints
	}
	return sp.ClusterEndpoints
}

// HasEndpoints reports whether any traffic policy has an endpoint. A
// ServicePort without endpoints rejects everything.
func (sp *ServicePort) HasEndpoints() bool {
	return len(sp.ClusterEndpoints) > 0 || len(sp.LocalEndpoints) > 0
}

// HasExternal reports whether the port has any entry point besides its ClusterIP.
func (sp *ServicePort) HasExternal() bool {
	return sp.NodePort != 0 || len(sp.ExternalIPs) > 0 || len(sp.LoadBalancerIPs) > 0
}

// AllEndpoints returns the union of cluster and local endpoints, sorted,
// without duplicates: every endpoint some chain can jump to.
func (sp *ServicePort) AllEndpoints() []Endpoint {
	out := append([]Endpoint(nil), sp.ClusterEndpoints...)
	for _, ep := range sp.LocalEndpoints {
		if !containsEndpoint(out, ep) {
			out = append(out, ep)
		}
	}
	sortEndpoints(out)
	return out
}

func containsEndpoint(eps []Endpoint, ep Endpoint) bool {
	for _, e := range eps {
		if e.Addr == ep.Addr && e.Port == ep.Port {
			return true
		}
	}
	return false
}

// EndpointID is a short stable identifier for an endpoint of this port,
// used to name endpoint chains.
func (sp *ServicePort) EndpointID(ep Endpoint) string {
	return shortHash(sp.ID + "|" + ep.AddrPort().String())
}

// shortHash is 16 base32 characters of SHA-256, like kube-proxy's chain names.
func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return base32.StdEncoding.EncodeToString(sum[:])[:16]
}

// portID hashes the port's name. name.String() is ambiguous when a field
// holds a separator: namespace a, Service "b:c" without a port name and
// Service b with port c are both "a/b:c/tcp", and sharing an ID they
// shared chains, sending one's ClusterIP to the other's pods. Names the
// API server accepts never hold ':', '/' or '|', so they keep the
// readable form (and the chain names they always had); any other name
// hashes each field with its length, a form no readable one can take
// (after the family it starts with '|', which a readable namespace
// cannot).
func portID(name ServicePortName, f Family) string {
	if !strings.ContainsAny(name.Namespace+name.Name+name.Port, ":/|") {
		return shortHash(f.String() + "|" + name.String())
	}
	return shortHash(fmt.Sprintf("%s||%d|%s|%d|%s|%d|%s|%s", f, len(name.Namespace), name.Namespace,
		len(name.Name), name.Name, len(name.Port), name.Port, name.Protocol))
}

// Equal reports whether sp and o describe the same service port, field by
// field. Backends use it to reuse what they built for an unchanged port;
// TestServicePortEqualCoversEveryField keeps it complete.
func (sp *ServicePort) Equal(o *ServicePort) bool {
	return sp.Name == o.Name && sp.ID == o.ID && sp.ClusterIP == o.ClusterIP && sp.Port == o.Port &&
		sp.NodePort == o.NodePort && sp.InternalPolicyLocal == o.InternalPolicyLocal &&
		sp.ExternalPolicyLocal == o.ExternalPolicyLocal && sp.HealthCheckNodePort == o.HealthCheckNodePort &&
		sp.AffinitySeconds == o.AffinitySeconds &&
		slices.Equal(sp.ClusterEndpoints, o.ClusterEndpoints) && slices.Equal(sp.LocalEndpoints, o.LocalEndpoints) &&
		slices.Equal(sp.ExternalIPs, o.ExternalIPs) && slices.Equal(sp.LoadBalancerIPs, o.LoadBalancerIPs) &&
		slices.Equal(sp.SourceRanges, o.SourceRanges)
}

// Clone returns a copy of sp that shares no slice with it, so a backend can
// keep it while the caller reuses or changes its Ruleset.
func (sp *ServicePort) Clone() ServicePort {
	c := *sp
	c.ExternalIPs = slices.Clone(sp.ExternalIPs)
	c.LoadBalancerIPs = slices.Clone(sp.LoadBalancerIPs)
	c.SourceRanges = slices.Clone(sp.SourceRanges)
	c.ClusterEndpoints = slices.Clone(sp.ClusterEndpoints)
	c.LocalEndpoints = slices.Clone(sp.LocalEndpoints)
	return c
}

// Clone returns a copy of rs whose ports can be changed without changing
// rs's (its other lists are shared).
func (rs *Ruleset) Clone() *Ruleset {
	c := *rs
	c.Services = make([]*ServicePort, len(rs.Services))
	for i, sp := range rs.Services {
		cp := sp.Clone()
		c.Services[i] = &cp
	}
	return &c
}
