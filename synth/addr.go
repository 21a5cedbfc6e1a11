package synth

import (
	"net/netip"
	"strconv"
	"strings"
)

// ParseAddrSloppy parses an IP address the way kube-proxy does
// (k8s.io/utils/net ParseIPSloppy): IPv4 octets with leading zeros, which
// older API servers accepted and stored, are read as decimal ("172.30.13.041"
// is 172.30.13.41) instead of being rejected.
func ParseAddrSloppy(s string) (netip.Addr, error) {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap(), nil
	}
	if fixed, ok := stripLeadingZeros(s); ok {
		if a, err := netip.ParseAddr(fixed); err == nil {
			return a, nil
		}
	}
	_, err := netip.ParseAddr(s)
	return netip.Addr{}, err
}

// ParsePrefixSloppy is ParseAddrSloppy for CIDRs; host bits are masked.
func ParsePrefixSloppy(s string) (netip.Prefix, error) {
	addr, bits, ok := strings.Cut(s, "/")
	if !ok {
		return netip.ParsePrefix(s)
	}
	a, err := ParseAddrSloppy(addr)
	if err != nil {
		return netip.Prefix{}, err
	}
	p, err := netip.ParsePrefix(a.String() + "/" + bits)
	if err != nil {
		return netip.Prefix{}, err
	}
	return p.Masked(), nil
}

func stripLeadingZeros(s string) (string, bool) {
	parts := strings.Split(s, ".")
	if len(parts) != 4 {
		return "", false
	}
	for i, p := range parts {
		n, err := strconv.ParseUint(p, 10, 8)
		if err != nil || len(p) == 0 || len(p) > 3 {
			return "", false
		}
		parts[i] = strconv.FormatUint(n, 10)
	}
	return strings.Join(parts, "."), true
}
