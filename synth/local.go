package synth

import (
	"fmt"
	"net/netip"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// LocalDetectMode says how pod traffic is told apart from other traffic
// (kube-proxy's detectLocalMode). Pod traffic to a ClusterIP keeps its
// source; other traffic is masqueraded. Pod traffic to an external entry
// point of an externalTrafficPolicy Local Service is treated like ClusterIP
// traffic (every endpoint, source kept).
type LocalDetectMode string

const (
	// LocalDetectClusterCIDR: the source is inside Config.ClusterCIDRs.
	// The zero value of LocalDetectMode means this mode.
	LocalDetectClusterCIDR LocalDetectMode = "ClusterCIDR"
	// LocalDetectNodeCIDR: the source is inside this node's pod CIDRs
	// (Config.NodePodCIDRs, else the Node object's spec.podCIDRs).
	LocalDetectNodeCIDR LocalDetectMode = "NodeCIDR"
	// LocalDetectBridgeInterface: the packet comes in by the interface
	// named Config.BridgeInterface.
	LocalDetectBridgeInterface LocalDetectMode = "BridgeInterface"
	// LocalDetectInterfaceNamePrefix: the packet comes in by an interface
	// whose name starts with Config.InterfaceNamePrefix.
	LocalDetectInterfaceNamePrefix LocalDetectMode = "InterfaceNamePrefix"
	// LocalDetectNone: pod traffic is not told apart; no source-based
	// masquerade decisions (as with ClusterCIDR mode and no ClusterCIDRs).
	LocalDetectNone LocalDetectMode = "None"
)

// maxIfaceName is the longest Linux interface name (IFNAMSIZ - 1).
const maxIfaceName = 15

// InterfaceMatch matches the interface a packet comes in by: the one
// named Name, or, when Prefix is set, every interface whose name starts
// with Name. The zero value matches nothing and means "not by interface".
type InterfaceMatch struct {
	Name   string
	Prefix bool
}

// IsSet reports whether m matches some interface.
func (m InterfaceMatch) IsSet() bool { return m.Name != "" }

// Matches reports whether iif, the name of a packet's input interface ("" for
// a packet the node sends itself), matches m.
func (m InterfaceMatch) Matches(iif string) bool {
	switch {
	case !m.IsSet() || iif == "":
		return false
	case m.Prefix:
		return strings.HasPrefix(iif, m.Name)
	}
	return iif == m.Name
}

// String is nft's spelling: "cbr0", or "veth*" for a prefix.
func (m InterfaceMatch) String() string {
	if m.Prefix {
		return m.Name + "*"
	}
	return m.Name
}

// checkIfaceName accepts the interface names every backend can spell
// without quoting trouble: 1 to 15 characters of [A-Za-z0-9_.@-]. (Linux
// allows more, but '*' and '+' are wildcards to nft and iptables.)
func checkIfaceName(name string) error {
	if name == "" || len(name) > maxIfaceName {
		return fmt.Errorf("interface name %q must have 1 to %d characters", name, maxIfaceName)
	}
	for _, c := range name {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("_.@-", c)
		if !ok {
			return fmt.Errorf("interface name %q: character %q is not one of [A-Za-z0-9_.@-]", name, c)
		}
	}
	return nil
}

// localDetect is the resolved detector, the same for every family but
// for the CIDRs.
type localDetect struct {
	cidrs []netip.Prefix // ClusterCIDR and NodeCIDR modes
	iface InterfaceMatch // BridgeInterface and InterfaceNamePrefix modes
}

// resolveLocalDetect turns the mode and its settings into a detector. A
// mode that cannot work detects nothing, as kube-proxy's no-op detector,
// and the error says why (checkLocalDetect reports it).
func resolveLocalDetect(cfg Config, node nodeFacts) (localDetect, error) {
	var err error
	var d localDetect
	switch cfg.LocalDetect {
	case "", LocalDetectClusterCIDR:
		d.cidrs = cfg.ClusterCIDRs
	case LocalDetectNodeCIDR:
		d.cidrs = node.podCIDRs
		if len(d.cidrs) == 0 {
			err = fmt.Errorf("no pod CIDR for node %q (none configured, none in the Node's spec.podCIDRs)", node.name)
		}
	case LocalDetectBridgeInterface:
		d.iface = InterfaceMatch{Name: cfg.BridgeInterface}
		err = checkIfaceName(cfg.BridgeInterface)
	case LocalDetectInterfaceNamePrefix:
		d.iface = InterfaceMatch{Name: cfg.InterfaceNamePrefix, Prefix: true}
		err = checkIfaceName(cfg.InterfaceNamePrefix)
	case LocalDetectNone:
	default:
		err = fmt.Errorf("unknown mode %q (want ClusterCIDR, NodeCIDR, BridgeInterface, InterfaceNamePrefix or None)", cfg.LocalDetect)
	}
	if err != nil {
		return localDetect{}, err
	}
	return d, nil
}

// checkLocalDetect warns once per Build about a detector that cannot work.
func checkLocalDetect(cfg Config, node nodeFacts, w *warnings) {
	if _, err := resolveLocalDetect(cfg, node); err != nil {
		w.add("Config", "InvalidLocalDetect", "detect-local %s: %v; pod traffic is not told apart (no source-based masquerade)",
			cfg.LocalDetect, err)
	}
}

// nodePodCIDRs are the Node object's spec.podCIDRs (spec.podCIDR for
// objects that predate the list); unparsable entries are skipped.
func nodePodCIDRs(node *corev1.Node) []netip.Prefix {
	list := node.Spec.PodCIDRs
	if len(list) == 0 && node.Spec.PodCIDR != "" {
		list = []string{node.Spec.PodCIDR}
	}
	var out []netip.Prefix
	for _, s := range list {
		if p, err := ParsePrefixSloppy(strings.TrimSpace(s)); err == nil {
			out = append(out, p.Masked())
		}
	}
	return out
}

// DetectsPods reports whether rs tells pod traffic apart from other
// traffic at all; when it does not, no decision depends on the source.
func (rs *Ruleset) DetectsPods() bool {
	return rs.PodInterface.IsSet() || len(rs.ClusterCIDRs) > 0
}

// IsPodTraffic reports whether p counts as pod traffic (false when rs
// does not tell pod traffic apart). The interface match, when set, is
// the only test, as in every backend.
func (rs *Ruleset) IsPodTraffic(p Packet) bool {
	if rs.PodInterface.IsSet() {
		return rs.PodInterface.Matches(p.InIface)
	}
	return prefixesContain(rs.ClusterCIDRs, p.Src.Unmap())
}

// describeSource says why p is, or is not, pod traffic, for trace paths.
func (rs *Ruleset) describeSource(p Packet) string {
	if !rs.PodInterface.IsSet() {
		return fmt.Sprintf("source %s", p.Src)
	}
	if p.InIface == "" {
		return fmt.Sprintf("source %s, sent by the node (no input interface)", p.Src)
	}
	return fmt.Sprintf("source %s from interface %s", p.Src, p.InIface)
}

// podRule names the test that tells pod traffic, for trace paths.
func (rs *Ruleset) podRule() string {
	if rs.PodInterface.IsSet() {
		return "pods come in by " + rs.PodInterface.String()
	}
	var cidrs []string
	for _, p := range rs.ClusterCIDRs {
		cidrs = append(cidrs, p.String())
	}
	return "pod CIDRs " + strings.Join(cidrs, ", ")
}
