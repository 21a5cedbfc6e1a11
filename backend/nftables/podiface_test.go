package nftables

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/svcnat/svcnat/synth"
)

// podIface returns the hand rulesets with pod traffic told by input
// interface instead of by the cluster CIDRs.
func podIface(m synth.InterfaceMatch) []*synth.Ruleset {
	rs := []*synth.Ruleset{handRuleset(), handRuleset6()}
	for _, r := range rs {
		r.ClusterCIDRs, r.PodInterface = nil, m
	}
	return rs
}

var podIfaceCases = []struct {
	name  string
	match synth.InterfaceMatch
	want  []string // in the listing
}{
	{"bridge", synth.InterfaceMatch{Name: "cbr0"}, []string{`iifname != "cbr0" meta mark set`, `iifname "cbr0" goto `}},
	{"prefix", synth.InterfaceMatch{Name: "veth", Prefix: true}, []string{`iifname != "veth*" meta mark set`, `iifname "veth*" goto `}},
}

// TestPodInterface: the iifname matches programmed over netlink list
// exactly as nft -f loads the rendered script; a new backend reads them
// back as equal and sends nothing; switching from cluster CIDRs to an
// interface and back converges to a fresh apply.
func TestPodInterface(t *testing.T) {
	for _, tc := range podIfaceCases {
		t.Run(tc.name, func(t *testing.T) {
			rs := podIface(tc.match)
			crossCheck(t, rs...)
			ns, fresh := newNetNS(t), newNetNS(t)
			mustApply(t, newBackend(t, fresh), rs...)
			want := listing(t, fresh)
			for _, w := range tc.want {
				if !strings.Contains(want, w) {
					t.Errorf("listing lacks %q:\n%s", w, want)
				}
			}
			b := newBackend(t, ns)
			mustApply(t, b, handRuleset(), handRuleset6())
			mustApply(t, b, rs...)
			if got := listing(t, ns); got != want {
				t.Errorf("cluster CIDRs then %s differs from a fresh apply:\n%s", tc.name, cmp.Diff(want, got))
			}
			if st := mustApply(t, newBackend(t, ns), rs...); st.Changes != 0 {
				t.Errorf("a new backend over an equal table sent %d changes", st.Changes)
			}
			mustApply(t, b, handRuleset(), handRuleset6())
			if strings.Contains(listing(t, ns), "iifname") {
				t.Error("iifname left after switching back to cluster CIDRs")
			}
		})
	}
}
