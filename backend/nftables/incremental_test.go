package nftables

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/svcnat/svcnat/synth"
)

// handRulesetB changes handRuleset in every way a sync can: an endpoint
// gone and one added, a Service removed, one added, ranges changed,
// affinity removed.
func handRulesetB() *synth.Ruleset {
	rs := handRuleset()
	rs.ServiceCIDRs = prefixes("10.96.0.0/16", "10.100.0.0/16")
	web := rs.Services[0]
	web.ClusterEndpoints = []synth.Endpoint{web.ClusterEndpoints[0], ep("10.244.9.9:8080", false)}
	web.SourceRanges = web.SourceRanges[:1]
	rs.Services[1].AffinitySeconds = 0
	rs.Services = slices.Delete(rs.Services, 2, 3) // default/empty
	rs.Services = append(rs.Services, &synth.ServicePort{
		Name: synth.ServicePortName{Namespace: "z", Name: "new", Protocol: synth.TCP},
		ID:   "NEWAAAAAAAAAAAAA", ClusterIP: netip.MustParseAddr("10.96.0.20"), Port: 8443, NodePort: 31000,
		ClusterEndpoints: []synth.Endpoint{ep("10.244.5.5:443", false)},
	})
	rs.ClusterIPs = addrs("10.96.0.10", "10.96.0.11", "10.96.0.13", "10.96.0.20")
	return rs
}

func TestIncremental(t *testing.T) {
	ns, fresh := newNetNS(t), newNetNS(t)
	b := newBackend(t, ns)
	if st := mustApply(t, b, handRuleset(), handRuleset6()); !st.Full {
		t.Errorf("first Apply: Full = false")
	}
	st := mustApply(t, b, handRulesetB(), handRuleset6())
	if st.Full || st.Changes == 0 {
		t.Errorf("second Apply: %+v, want incremental with changes", st)
	}
	mustApply(t, newBackend(t, fresh), handRulesetB(), handRuleset6())
	if got, want := listing(t, ns), listing(t, fresh); got != want {
		t.Fatalf("A then B differs from a fresh B:\n%s", cmp.Diff(want, got))
	}
	if st := mustApply(t, b, handRulesetB(), handRuleset6()); st.Changes != 0 {
		t.Errorf("same state again: Changes = %d, want 0", st.Changes)
	}
	// Back to A, and the IPv6 table removed.
	mustApply(t, b, handRuleset())
	fresh2 := newNetNS(t)
	mustApply(t, newBackend(t, fresh2), handRuleset())
	if got, want := listing(t, ns), listing(t, fresh2); got != want {
		t.Fatalf("B then A differs from a fresh A:\n%s", cmp.Diff(want, got))
	}
}

func TestDiff(t *testing.T) {
	b := newBackend(t, newNetNS(t))
	mustApply(t, b, handRuleset())
	d, err := diffText(context.Background(), b, []*synth.Ruleset{handRulesetB()})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"delete element ip svcnat no-endpoint-services { 10.96.0.12 . sctp . 9 }",
		"add element ip svcnat service-ips { 10.96.0.20 . tcp . 8443",
		"add chain ip svcnat svc-1",
		"add element ip svcnat endpoints { 10.96.0.20 . tcp . 8443 . 0 : 10.244.5.5 . 443 }",
		"add element ip svcnat hairpin { 10.244.5.5 . 10.244.5.5 }",
		"delete set ip svcnat aff-",
	} {
		if !containsLine(string(d), want) {
			t.Errorf("Diff lacks %q:\n%s", want, d)
		}
	}
	if d, _ := diffText(context.Background(), b, []*synth.Ruleset{handRuleset()}); len(d) != 0 {
		t.Errorf("Diff of the applied state is not empty:\n%s", d)
	}
}

func containsLine(s, prefix string) bool {
	return slices.ContainsFunc(strings.Split(s, "\n"), func(l string) bool { return strings.HasPrefix(l, prefix) })
}

func TestTamperRepaired(t *testing.T) {
	ns, ref := newNetNS(t), newNetNS(t)
	b := newBackend(t, ns)
	mustApply(t, b, handRuleset(), handRuleset6())
	mustApply(t, newBackend(t, ref), handRuleset(), handRuleset6())
	want := listing(t, ref)
	for _, tamper := range [][]string{
		{"flush", "chain", "ip", TableName, "svc-3"},
		{"delete", "element", "ip", TableName, "service-ips", "{ 10.96.0.10 . tcp . 80 }"},
		{"delete", "table", "ip", TableName},
		{"add", "rule", "ip6", TableName, "services", "drop"},
	} {
		if out, err := nftIn(t, ns, tamper...); err != nil {
			t.Fatalf("nft %v: %v\n%s", tamper, err, out)
		}
		b.Reconcile()
		if st := mustApply(t, b, handRuleset(), handRuleset6()); !st.Full {
			t.Errorf("Apply after Reconcile: Full = false")
		}
		if got := listing(t, ns); got != want {
			t.Fatalf("after %v and Reconcile: not repaired:\n%s", tamper, cmp.Diff(want, got))
		}
	}
	if err := b.Cleanup(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := listing(t, ns); got != "" {
		t.Errorf("after Cleanup: %s", got)
	}
}
