package synth

import (
	"net/netip"
	"testing"
)

// TestTraceHairpin: Masquerade means "masqueraded whichever endpoint is
// chosen"; Hairpin means "masqueraded only when the chosen endpoint is the
// source". When every endpoint is the source, that is Masquerade.
func TestTraceHairpin(t *testing.T) {
	a := netip.MustParseAddr
	ep := func(s string) Endpoint { return Endpoint{Addr: a(s), Port: 8080} }
	rs := &Ruleset{
		Family:       IPv4,
		ClusterCIDRs: []netip.Prefix{netip.MustParsePrefix("10.244.0.0/16")},
		Services: []*ServicePort{
			{Name: ServicePortName{Name: "solo", Protocol: TCP}, ClusterIP: a("10.96.0.1"), Port: 80,
				ClusterEndpoints: []Endpoint{ep("10.244.1.2")}},
			{Name: ServicePortName{Name: "pair", Protocol: TCP}, ClusterIP: a("10.96.0.2"), Port: 80,
				ClusterEndpoints: []Endpoint{ep("10.244.1.2"), ep("10.244.2.2")}},
		},
	}
	for _, tc := range []struct {
		src, dst      string
		masq, hairpin bool
	}{
		{"10.244.1.2", "10.96.0.1:80", true, false},   // only endpoint is the source
		{"10.244.1.2", "10.96.0.2:80", false, true},   // one of two
		{"10.244.1.50", "10.96.0.2:80", false, false}, // not an endpoint
		{"192.168.1.10", "10.96.0.1:80", true, false}, // off-cluster anyway
	} {
		tr := rs.Trace(Packet{Src: a(tc.src), Proto: TCP, Dst: netip.MustParseAddrPort(tc.dst)})
		if tr.Verdict != VerdictDNAT || tr.Masquerade != tc.masq || tr.Hairpin != tc.hairpin {
			t.Errorf("%s -> %s: verdict %s masquerade %v hairpin %v, want DNAT %v %v",
				tc.src, tc.dst, tr.Verdict, tr.Masquerade, tr.Hairpin, tc.masq, tc.hairpin)
		}
	}
}
