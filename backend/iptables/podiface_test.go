package iptables

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/svcnat/svcnat/synth"
)

// TestPodInterface: with pod traffic told by input interface, the kernel
// saves exactly the rendered "-i cbr0" / "-i veth+" rules (a full apply
// after Reconcile changes nothing), and switching from cluster CIDRs to an
// interface converges to a fresh apply, with iptables-nft and -legacy.
func TestPodInterface(t *testing.T) {
	for _, tc := range []struct {
		name  string
		match synth.InterfaceMatch
		want  string
	}{
		{"bridge", synth.InterfaceMatch{Name: "cbr0"}, "-A SVCNAT-MASQ-OUTSIDE -i cbr0 -j RETURN"},
		{"prefix", synth.InterfaceMatch{Name: "veth", Prefix: true}, "-A SVCNAT-MASQ-OUTSIDE -i veth+ -j RETURN"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			forEachFlavour(t, func(t *testing.T, netns string, mode Mode) {
				rs := handRuleset()
				rs.ClusterCIDRs, rs.PodInterface = nil, tc.match
				b := newBackend(t, netns, mode)
				apply(t, b, handRuleset())
				apply(t, b, rs)
				b.Reconcile()
				if st := apply(t, b, rs); !st.Full || st.Changes != 0 {
					t.Errorf("re-apply after Reconcile: %+v, want no changes: kernel text differs from rendered text", st)
				}
				fresh := newNetNS(t)
				apply(t, newBackend(t, fresh, mode), rs)
				f := flavour(mode)
				got, want := kernelState(t, netns, f, synth.IPv4), kernelState(t, fresh, f, synth.IPv4)
				if got != want {
					t.Errorf("cluster CIDRs then %s differs from a fresh apply:\n%s", tc.name, cmp.Diff(want, got))
				}
				if !strings.Contains(got, tc.want) || strings.Contains(got, "-s 10.244.0.0/16") {
					t.Errorf("saved rules lack %q or keep the cluster CIDR:\n%s", tc.want, got)
				}
			})
		})
	}
}
