package nftables

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/svcnat/svcnat/synth"
)

// TestFreshBackendSendsNothing programs a namespace, then applies the same
// Rulesets with a new Backend (a second `svcnat apply`, an agent restart)
// and after Reconcile (the agent's periodic reconcile): the kernel is read
// back and nothing is sent.
func TestFreshBackendSendsNothing(t *testing.T) {
	for _, tc := range []struct {
		name string
		rs   []*synth.Ruleset
	}{
		{"hand", []*synth.Ruleset{handRuleset(), handRuleset6()}},
		{"big", []*synth.Ruleset{bigRuleset(200)}},
		{"masquerade all", []*synth.Ruleset{masqAll(handRuleset())}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns := newNetNS(t)
			mustApply(t, newBackend(t, ns), tc.rs...)
			b := newBackend(t, ns)
			if d, err := diffText(context.Background(), b, tc.rs); err != nil || len(d) != 0 {
				t.Errorf("Diff on an unknown but equal state: %v\n%s", err, d)
			}
			if st := mustApply(t, b, tc.rs...); st.Changes != 0 || !st.Full {
				t.Errorf("fresh backend: %+v, want Full and no changes", st)
			}
			b.Reconcile()
			if st := mustApply(t, b, tc.rs...); st.Changes != 0 || !st.Full {
				t.Errorf("after Reconcile: %+v, want Full and no changes", st)
			}
		})
	}
}

func masqAll(rs *synth.Ruleset) *synth.Ruleset {
	rs.MasqueradeAll = true
	return rs
}

// TestReconcileRepairsTampering changes the kernel's table behind the
// backend's back in every way svcnat must repair, and checks that the
// next reconcile sends only the repair and leaves what a fresh Apply does.
func TestReconcileRepairsTampering(t *testing.T) {
	ns, ref := newNetNS(t), newNetNS(t)
	rs := []*synth.Ruleset{handRuleset(), handRuleset6()}
	mustApply(t, newBackend(t, ref), rs...)
	want := listing(t, ref)
	b := newBackend(t, ns)
	full := mustApply(t, b, rs...).Changes
	web := "svc-3" // the shared chain of default/web
	aff := affinitySetOf(t, ns)
	for _, tc := range []struct {
		name       string
		cmds       [][]string
		maxChanges int
	}{
		{"deleted element", [][]string{{"delete", "element", "ip", TableName, "service-ips", "{ 10.96.0.10 . tcp . 80 }"}}, 1},
		{"extra element", [][]string{{"add", "element", "ip", TableName, "cluster-ips", "{ 10.96.5.5 }"}}, 1},
		{"changed verdict", [][]string{
			{"delete", "element", "ip", TableName, "service-ips", "{ 10.96.0.10 . tcp . 80 }"},
			{"add", "element", "ip", TableName, "service-ips", "{ 10.96.0.10 . tcp . 80 : drop }"},
		}, 2},
		{"changed comment", [][]string{
			{"delete", "element", "ip", TableName, "service-ips", "{ 10.96.0.10 . tcp . 80 }"},
			{"add", "element", "ip", TableName, "service-ips", `{ 10.96.0.10 . tcp . 80 comment "other" : goto svc-3 }`},
		}, 2},
		{"changed endpoint", [][]string{
			{"delete", "element", "ip", TableName, "endpoints", "{ 10.96.0.10 . tcp . 80 . 1 }"},
			{"add", "element", "ip", TableName, "endpoints", "{ 10.96.0.10 . tcp . 80 . 1 : 10.244.9.9 . 8080 }"},
		}, 2},
		{"extra endpoint slot", [][]string{{"add", "element", "ip", TableName, "endpoints", "{ 10.96.0.10 . tcp . 80 . 7 : 10.244.1.2 . 8080 }"}}, 1},
		{"flushed chain", [][]string{{"flush", "chain", "ip", TableName, web}}, 3},
		{"injected rule", [][]string{{"add", "rule", "ip6", TableName, "services", "drop"}}, 3},
		{"inserted rule", [][]string{{"insert", "rule", "ip", TableName, web, "counter"}}, 3},
		{"stray chain", [][]string{{"add", "chain", "ip", TableName, "stray"}, {"add", "rule", "ip", TableName, "stray", "drop"}}, 2},
		{"stray base chain", [][]string{{"add", "chain", "ip", TableName, "evil", "{ type filter hook input priority 0; policy drop; }"}}, 2},
		{"stray map", [][]string{
			{"add", "chain", "ip", TableName, "stray"},
			{"add", "map", "ip", TableName, "stray-map", "{ type ipv4_addr : verdict; }"},
			{"add", "element", "ip", TableName, "stray-map", "{ 1.2.3.4 : goto stray }"},
		}, 4},
		{"interval set", [][]string{{"add", "element", "ip", TableName, "service-cidrs", "{ 172.16.0.0/12 }"}}, 3},
		{"deleted set", deleteSetCmds(t, ns, aff), 15},
		// A set declared otherwise cannot be changed in place: the whole
		// table is replaced, with the elements of every map (which the
		// comparison with the kernel did not keep).
		{"redeclared set", append(deleteSetCmds(t, ns, setHairpin),
			[]string{"add", "set", "ip", TableName, setHairpin, "{ type ipv4_addr . ipv4_addr; flags timeout; }"}), full + 1},
		{"deleted table", [][]string{{"delete", "table", "ip", TableName}}, full},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, c := range tc.cmds {
				if out, err := nftIn(t, ns, c...); err != nil {
					t.Fatalf("nft %v: %v\n%s", c, err, out)
				}
			}
			b.Reconcile()
			d, err := diffText(context.Background(), b, rs)
			if err != nil {
				t.Fatal(err)
			}
			st := mustApply(t, b, rs...)
			if !st.Full || st.Changes == 0 || st.Changes > tc.maxChanges {
				t.Errorf("repair: %+v, want Full and 1..%d changes; diff was:\n%s", st, tc.maxChanges, d)
			}
			if got := listing(t, ns); got != want {
				t.Fatalf("not repaired:\n%s", cmp.Diff(want, got))
			}
			if st := mustApply(t, b, rs...); st.Changes != 0 {
				t.Errorf("after the repair: %d changes", st.Changes)
			}
		})
	}
}

// affinitySetOf returns the name of an IPv4 affinity set.
func affinitySetOf(t *testing.T, ns string) string {
	t.Helper()
	out, err := nftIn(t, ns, "list", "sets", "ip")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range strings.Fields(out) {
		if strings.HasPrefix(f, "aff-") {
			return f
		}
	}
	t.Fatalf("no affinity set in:\n%s", out)
	return ""
}

// deleteSetCmds deletes the set aff; the chains whose rules use it must be
// flushed first.
func deleteSetCmds(t *testing.T, ns, aff string) [][]string {
	t.Helper()
	out, err := nftIn(t, ns, "list", "table", "ip", TableName)
	if err != nil {
		t.Fatal(err)
	}
	var cmds [][]string
	for _, block := range strings.Split(out, "\tchain ")[1:] {
		name, body, _ := strings.Cut(block, " {")
		if strings.Contains(body, "@"+aff+" ") {
			cmds = append(cmds, []string{"flush", "chain", "ip", TableName, name})
		}
	}
	return append(cmds, []string{"delete", "set", "ip", TableName, aff})
}

// TestDiffUnknownState checks that Diff of a new Backend reads the kernel
// and prints only what differs from it.
func TestDiffUnknownState(t *testing.T) {
	ns := newNetNS(t)
	mustApply(t, newBackend(t, ns), handRuleset())
	if out, err := nftIn(t, ns, "delete", "element", "ip", TableName, "cluster-ips", "{ 10.96.0.11 }"); err != nil {
		t.Fatalf("nft: %v\n%s", err, out)
	}
	d, err := diffText(context.Background(), newBackend(t, ns), []*synth.Ruleset{handRuleset()})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(d), "add element ip svcnat cluster-ips { 10.96.0.11 }\n"; got != want {
		t.Errorf("Diff = %q, want %q", got, want)
	}
	// A table of a family that is no longer wanted is deleted.
	d, err = diffText(context.Background(), newBackend(t, ns), []*synth.Ruleset{handRuleset6()})
	if err != nil {
		t.Fatal(err)
	}
	if !containsLine(string(d), "delete table ip svcnat") || !containsLine(string(d), "add chain ip6 svcnat services") {
		t.Errorf("Diff lacks the IPv4 delete or the IPv6 table:\n%s", d)
	}
}

// TestAffinitySurvivesReconcile fills an affinity set (as the kernel does
// when a client connects) and checks that a new Backend and a Reconcile
// keep the entry, while a changed affinity timeout still replaces the set.
func TestAffinitySurvivesReconcile(t *testing.T) {
	ns := newNetNS(t)
	rs := []*synth.Ruleset{handRuleset(), handRuleset6()}
	mustApply(t, newBackend(t, ns), rs...)
	aff := affinitySetOf(t, ns)
	if out, err := nftIn(t, ns, "add", "element", "ip", TableName, aff, "{ 10.0.0.99 }"); err != nil {
		t.Fatalf("nft: %v\n%s", err, out)
	}
	b := newBackend(t, ns)
	mustApply(t, b, rs...)
	b.Reconcile()
	if st := mustApply(t, b, rs...); st.Changes != 0 {
		t.Errorf("after Reconcile: %d changes", st.Changes)
	}
	out, err := nftIn(t, ns, "list", "set", "ip", TableName, aff)
	if err != nil || !strings.Contains(out, "10.0.0.99") {
		t.Errorf("affinity entry lost: %v\n%s", err, out)
	}
	rs[0].Services[1].AffinitySeconds = 60
	b.Reconcile()
	if st := mustApply(t, b, rs...); st.Changes == 0 {
		t.Errorf("changed affinity timeout: no changes")
	}
	if out, err := nftIn(t, ns, "list", "set", "ip", TableName, aff); err != nil || !strings.Contains(out, "timeout 1m") {
		t.Errorf("affinity set not redeclared: %v\n%s", err, out)
	}
}

// BenchmarkReconcileNoChange measures the periodic reconcile of an
// unchanged node: read the table back, compare, send nothing.
func BenchmarkReconcileNoChange(b *testing.B) {
	benchSizes(b, func(b *testing.B, n int) {
		rs := bigRuleset(n)
		be := newBackend(b, newNetNS(b))
		mustApply(b, be, rs)
		b.ResetTimer()
		for b.Loop() {
			be.Reconcile()
			be.gens.Forget() // measure the read, not the generation shortcut
			if st := mustApply(b, be, rs); st.Changes != 0 {
				b.Fatalf("%d changes", st.Changes)
			}
		}
	})
}
