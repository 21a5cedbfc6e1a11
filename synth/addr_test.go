package synth

import (
	"net/netip"
	"testing"
)

// TestParseAddrSloppy pins the k8s.io/utils/net.ParseIPSloppy behaviour
// kube-proxy reads stored addresses with.
func TestParseAddrSloppy(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string // "" means an error
	}{
		{"10.96.0.10", "10.96.0.10"},
		{"10.96.0.010", "10.96.0.10"}, // decimal, not octal 8
		{"010.096.000.017", "10.96.0.17"},
		{"192.168.1.0246", "192.168.1.246"}, // Go 1.15 dtoi takes any number of digits
		{"10.0.0.00000000", "10.0.0.0"},
		{"::ffff:10.96.0.010", "10.96.0.10"}, // IPv4-mapped: unmapped, octets sloppy too
		{"fd00:96::10", "fd00:96::10"},
		{"fd00:0096::0010", "fd00:96::10"},
		{"10.96.0.256", ""},
		{"10.96.0.0256", ""},
		{"10.96.0", ""},
		{"10.96.0.1.2", ""},
		{"10.96.0.+1", ""},
		{"10.96.0.", ""},
		{"", ""},
		{"fe80::1%eth0", ""}, // ParseIPSloppy has no zones
		{"web.example.com", ""},
	} {
		got, err := ParseAddrSloppy(tc.in)
		switch {
		case tc.want == "" && err == nil:
			t.Errorf("ParseAddrSloppy(%q) = %v, want an error", tc.in, got)
		case tc.want != "" && err != nil:
			t.Errorf("ParseAddrSloppy(%q): %v", tc.in, err)
		case tc.want != "" && got != netip.MustParseAddr(tc.want):
			t.Errorf("ParseAddrSloppy(%q) = %v, want %s", tc.in, got, tc.want)
		}
	}
}

func TestParsePrefixSloppy(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string // "" means an error
	}{
		{"192.168.1.0/28", "192.168.1.0/28"},
		{"192.168.001.000/28", "192.168.1.0/28"},
		{"192.168.1.10/28", "192.168.1.0/28"}, // host bits masked
		{"10.0.0.0/08", "10.0.0.0/8"},
		{"fd00:96::1/112", "fd00:96::/112"},
		{"10.0.0.0/33", ""},
		{"10.0.0.0/", ""},
		{"10.0.0.0/x", ""},
		{"10.0.0.256/8", ""},
	} {
		got, err := ParsePrefixSloppy(tc.in)
		switch {
		case tc.want == "" && err == nil:
			t.Errorf("ParsePrefixSloppy(%q) = %v, want an error", tc.in, got)
		case tc.want != "" && err != nil:
			t.Errorf("ParsePrefixSloppy(%q): %v", tc.in, err)
		case tc.want != "" && got != netip.MustParsePrefix(tc.want):
			t.Errorf("ParsePrefixSloppy(%q) = %v, want %s", tc.in, got, tc.want)
		}
	}
}
