package kubeproxy

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// ipValue is kube-proxy's "ip" flag type: an IP address, checked when the
// flag is parsed.
type ipValue struct{ s *string }

func (v ipValue) String() string { return *v.s }
func (v ipValue) Type() string   { return "ip" }
func (v ipValue) Set(s string) error {
	if s == "" {
		return nil // kube-proxy leaves the value alone, too
	}
	if parseIPSloppy(s) == nil {
		return fmt.Errorf("%q is not a valid IP address", s)
	}
	*v.s = s
	return nil
}

// ipPortValue is kube-proxy's "ipport" flag type: an IP, or IP:port.
type ipPortValue struct{ s *string }

func (v ipPortValue) String() string { return *v.s }
func (v ipPortValue) Type() string   { return "ipport" }
func (v ipPortValue) Set(s string) error {
	if s == "" {
		return nil
	}
	if parseIPSloppy(s) != nil {
		*v.s = s
		return nil
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("%q is not in a valid format (ip or ip:port): %v", s, err)
	}
	if parseIPSloppy(host) == nil {
		return fmt.Errorf("%q is not a valid IP address", host)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return fmt.Errorf("%q is not a valid number", port)
	}
	*v.s = s
	return nil
}

// stringType is a flag over a named string type (ProxyMode, LocalMode),
// accepting any value like kube-proxy does; validation judges it later.
type stringType[T ~string] struct {
	p    *T
	name string
}

func (v stringType[T]) String() string     { return string(*v.p) }
func (v stringType[T]) Type() string       { return v.name }
func (v stringType[T]) Set(s string) error { *v.p = T(s); return nil }

// enumValue is a string flag that accepts only the listed values.
type enumValue struct {
	p       *string
	allowed []string
}

func (v enumValue) String() string { return *v.p }
func (v enumValue) Type() string   { return strings.Join(v.allowed, "|") }
func (v enumValue) Set(s string) error {
	if !slices.Contains(v.allowed, s) {
		return fmt.Errorf("must be one of %s", strings.Join(v.allowed, ", "))
	}
	*v.p = s
	return nil
}

// addrList is a repeatable flag of IP addresses; each use may also hold a
// comma-separated list.
type addrList struct{ p *[]netip.Addr }

func (v addrList) Type() string { return "ip" }
func (v addrList) String() string {
	return joinStrings(*v.p)
}
func (v addrList) Set(s string) error {
	for _, item := range strings.Split(s, ",") {
		a, err := netip.ParseAddr(strings.TrimSpace(item))
		if err != nil {
			return fmt.Errorf("%q is not an IP address", item)
		}
		if a.IsUnspecified() {
			return fmt.Errorf("%s is the unspecified address, not a node IP", a)
		}
		*v.p = append(*v.p, a.Unmap())
	}
	return nil
}

// prefixList is a repeatable flag of CIDRs; each use may also hold a
// comma-separated list.
type prefixList struct{ p *[]netip.Prefix }

func (v prefixList) Type() string { return "cidr" }
func (v prefixList) String() string {
	return joinStrings(*v.p)
}
func (v prefixList) Set(s string) error {
	for _, item := range strings.Split(s, ",") {
		p, err := netip.ParsePrefix(strings.TrimSpace(item))
		if err != nil {
			return fmt.Errorf("%q is not a CIDR", item)
		}
		*v.p = append(*v.p, p.Masked())
	}
	return nil
}

func joinStrings[T fmt.Stringer](items []T) string {
	s := make([]string, len(items))
	for i, it := range items {
		s[i] = it.String()
	}
	return "[" + strings.Join(s, ",") + "]"
}

// parseIPSloppy parses an IP address like k8s.io/utils/net.ParseIPSloppy:
// IPv4 octets may have leading zeros, which are read as decimal.
func parseIPSloppy(s string) net.IP {
	if strings.Contains(s, ":") {
		return net.ParseIP(s)
	}
	octets := strings.Split(s, ".")
	if len(octets) != 4 {
		return nil
	}
	for i, o := range octets {
		if o == "" || len(o) > 3 {
			return nil
		}
		n, err := strconv.ParseUint(o, 10, 8)
		if err != nil {
			return nil
		}
		octets[i] = strconv.FormatUint(n, 10)
	}
	return net.ParseIP(strings.Join(octets, "."))
}

// parseCIDRSloppy parses a CIDR like k8s.io/utils/net.ParseCIDRSloppy and
// returns it masked.
func parseCIDRSloppy(s string) (netip.Prefix, error) {
	addr, bits, ok := strings.Cut(s, "/")
	ip := parseIPSloppy(addr)
	n, err := strconv.Atoi(bits)
	if !ok || ip == nil || err != nil || len(bits) == 0 || (len(bits) > 1 && bits[0] == '0') {
		return netip.Prefix{}, fmt.Errorf("invalid CIDR address: %s", s)
	}
	a, _ := netip.AddrFromSlice(ip)
	if strings.Contains(addr, ":") {
		a = netip.AddrFrom16(a.As16())
	} else {
		a = a.Unmap()
	}
	p, err := a.Prefix(n)
	if err != nil || n < 0 {
		return netip.Prefix{}, fmt.Errorf("invalid CIDR address: %s", s)
	}
	return p, nil
}
