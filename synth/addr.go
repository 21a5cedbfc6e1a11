package synth

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// ParseAddrSloppy parses an IP address the way kube-proxy does
// (k8s.io/utils/net ParseIPSloppy, Go 1.15's net.ParseIP): IPv4 octets with
// leading zeros, which older API servers accepted and stored, are read as
// decimal ("172.30.13.041" and "172.30.13.0041" are 172.30.13.41) instead of
// being rejected. IPv6 zones ("fe80::1%eth0") are rejected, as there.
func ParseAddrSloppy(s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		fixed, ok := stripLeadingZeros(s)
		if !ok {
			return netip.Addr{}, err
		}
		if a, err = netip.ParseAddr(fixed); err != nil {
			return netip.Addr{}, err
		}
	}
	if a.Zone() != "" {
		return netip.Addr{}, fmt.Errorf("ParseAddr(%q): IPv6 zones are not allowed", s)
	}
	return a.Unmap(), nil
}

// ParsePrefixSloppy is ParseAddrSloppy for CIDRs (like ParseCIDRSloppy, the
// prefix length may have leading zeros too); host bits are masked.
func ParsePrefixSloppy(s string) (netip.Prefix, error) {
	addr, bits, ok := strings.Cut(s, "/")
	if !ok {
		return netip.ParsePrefix(s)
	}
	a, err := ParseAddrSloppy(addr)
	if err != nil {
		return netip.Prefix{}, err
	}
	n, err := decimal(bits)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("prefix %q: bad length: %w", s, err)
	}
	p, err := a.Prefix(n)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("prefix %q: %w", s, err)
	}
	return p, nil
}

// stripLeadingZeros rewrites the dotted-quad IPv4 part of s (all of it, or
// the tail after the last ':' of an IPv6 address) in canonical decimal.
// Like Go 1.15's dtoi, any number of leading zeros is accepted.
func stripLeadingZeros(s string) (string, bool) {
	head := ""
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		head, s = s[:i+1], s[i+1:]
	}
	parts := strings.Split(s, ".")
	if len(parts) != 4 {
		return "", false
	}
	for i, p := range parts {
		n, err := decimal(p)
		if err != nil || n > 255 {
			return "", false
		}
		parts[i] = strconv.Itoa(n)
	}
	return head + strings.Join(parts, "."), true
}

// decimal parses a non-empty string of ASCII digits, leading zeros allowed.
func decimal(s string) (int, error) {
	t := strings.TrimLeft(s, "0")
	if t == "" && s != "" {
		return 0, nil
	}
	for _, c := range t {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%q is not a decimal number", s)
		}
	}
	n, err := strconv.Atoi(t)
	if err != nil || len(t) > 6 {
		return 0, fmt.Errorf("%q is not a decimal number", s)
	}
	return n, nil
}
