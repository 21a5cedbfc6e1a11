package iptables

import (
	"context"
	"net/netip"
	"os/exec"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/svcnat/svcnat/backend"
	"github.com/svcnat/svcnat/synth"
)

var flavours = []Mode{ModeNFT, ModeLegacy}

func newBackend(t testing.TB, netns string, mode Mode) *Backend {
	t.Helper()
	b, err := New(context.Background(), Options{Options: backend.Options{NetNS: netns}, Mode: mode})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// kernelState is iptables-save of both tables of one family in netns,
// all of it (so changes outside SVCNAT chains show up too), without the
// timestamp comments and counters.
func kernelState(t testing.TB, netns string, f flavour, fam synth.Family) string {
	t.Helper()
	out, err := exec.Command("nsenter", "--net="+netns, "--", f.binary(fam, "save")).CombinedOutput()
	if err != nil {
		t.Fatalf("save: %v: %s", err, out)
	}
	var keep []string
	for _, l := range strings.Split(string(out), "\n") {
		if !strings.HasPrefix(l, "#") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

func apply(t testing.TB, b *Backend, rs ...*synth.Ruleset) backend.Stats {
	t.Helper()
	st, err := backend.Apply(context.Background(), b, rs, nil)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func forEachFlavour(t *testing.T, fn func(t *testing.T, netns string, mode Mode)) {
	for _, m := range flavours {
		t.Run(string(m), func(t *testing.T) { fn(t, newNetNS(t), m) })
	}
}

func TestApplyIdempotentAndMatchesRender(t *testing.T) {
	forEachFlavour(t, func(t *testing.T, netns string, mode Mode) {
		b := newBackend(t, netns, mode)
		rs := handRuleset()
		st := apply(t, b, rs)
		if !st.Full || st.Changes == 0 {
			t.Fatalf("first apply: %+v", st)
		}
		// The kernel reads back exactly what was rendered: a full apply
		// (after Reconcile) finds nothing to change.
		b.Reconcile()
		if st := apply(t, b, rs); !st.Full || st.Changes != 0 {
			t.Fatalf("re-apply after Reconcile changed %d things (want 0): kernel text differs from rendered text", st.Changes)
		}
		if st := apply(t, b, rs); st.Full || st.Changes != 0 {
			t.Fatalf("incremental re-apply: %+v", st)
		}
		if d, err := diffText(context.Background(), b, []*synth.Ruleset{rs}); err != nil || len(d) != 0 {
			t.Fatalf("Diff after apply: %v\n%s", err, d)
		}
	})
}

// TestIncrementalEquivalence: A then B leaves the same kernel state as B
// applied to a fresh namespace, and sends less than a full B.
func TestIncrementalEquivalence(t *testing.T) {
	forEachFlavour(t, func(t *testing.T, netns string, mode Mode) {
		a, bb := genRuleset(200, 3, 1), genRuleset(200, 3, 1)
		bb.Services = append(bb.Services[:5:5], bb.Services[7:]...) // two ports gone
		bb.Services[9].ClusterEndpoints = bb.Services[9].ClusterEndpoints[1:]
		bb.Services[20].AffinitySeconds = 60
		b := newBackend(t, netns, mode)
		full := apply(t, b, a)
		inc := apply(t, b, bb)
		if inc.Full || inc.Changes == 0 || inc.Changes >= full.Changes/4 {
			t.Errorf("incremental apply %+v vs full %+v", inc, full)
		}
		fresh := newNetNS(t)
		apply(t, newBackend(t, fresh, mode), bb)
		f := flavour(mode)
		if got, want := kernelState(t, netns, f, synth.IPv4), kernelState(t, fresh, f, synth.IPv4); got != want {
			t.Errorf("A then B differs from fresh B:\n%s", cmp.Diff(want, got))
		}
	})
}

// TestReconcileRepairsTampering: rules added to, removed from and changed
// in svcnat chains, a deleted jump rule and a stray SVCNAT chain are all
// repaired by the first Apply after Reconcile; nothing else is touched.
func TestReconcileRepairsTampering(t *testing.T) {
	forEachFlavour(t, func(t *testing.T, netns string, mode Mode) {
		b := newBackend(t, netns, mode)
		rs := handRuleset()
		apply(t, b, rs)
		f := flavour(mode)
		clean := kernelState(t, netns, f, synth.IPv4)
		tamper := `*nat
:SVCNAT-STRAY - [0:0]
:OTHER-CHAIN - [0:0]
-A SVCNAT-SERVICES -j ACCEPT
-A SVCNAT-MARK-DROP -j RETURN
-D SVCNAT-POSTROUTING -j MASQUERADE --random-fully
-A OTHER-CHAIN -j RETURN
COMMIT
*filter
-D INPUT -m comment --comment "svcnat reject and drop" -j SVCNAT-FILTER
COMMIT
`
		cmd := exec.Command("nsenter", "--net="+netns, "--", f.binary(synth.IPv4, "restore"), "--noflush")
		cmd.Stdin = strings.NewReader(tamper)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("tamper: %v: %s", err, out)
		}
		if st := apply(t, b, rs); st.Changes != 0 {
			t.Fatalf("incremental apply noticed tampering (%+v); it should trust its cache", st)
		}
		b.Reconcile()
		st := apply(t, b, rs)
		got := kernelState(t, netns, f, synth.IPv4)
		want := strings.Replace(clean, ":POSTROUTING ACCEPT [0:0]\n", ":POSTROUTING ACCEPT [0:0]\n:OTHER-CHAIN - [0:0]\n", 1)
		want = strings.Replace(want, "COMMIT", "-A OTHER-CHAIN -j RETURN\nCOMMIT", 2)
		if got != want && !strings.Contains(got, "OTHER-CHAIN -j RETURN") {
			t.Errorf("foreign chain was touched")
		}
		// Compare without the foreign chain.
		var kept []string
		for _, l := range strings.Split(got, "\n") {
			if !strings.Contains(l, "OTHER-CHAIN") {
				kept = append(kept, l)
			}
		}
		if g := strings.Join(kept, "\n"); g != clean {
			t.Errorf("not repaired (%+v):\n%s", st, cmp.Diff(clean, g))
		}
	})
}

func TestCleanupAndFamilies(t *testing.T) {
	forEachFlavour(t, func(t *testing.T, netns string, mode Mode) {
		f := flavour(mode)
		before4, before6 := kernelState(t, netns, f, synth.IPv4), kernelState(t, netns, f, synth.IPv6)
		b := newBackend(t, netns, mode)
		v6 := &synth.Ruleset{Family: synth.IPv6, ServiceCIDRs: []netip.Prefix{mustPrefix("fd00:96::/112")}}
		apply(t, b, handRuleset(), v6)
		if !strings.Contains(kernelState(t, netns, f, synth.IPv6), "SVCNAT-SERVICES -d fd00:96::/112") {
			t.Fatal("IPv6 rules missing")
		}
		// A nil family converges to nothing.
		apply(t, b, handRuleset(), nil)
		if s := kernelState(t, netns, f, synth.IPv6); strings.Contains(s, "SVCNAT") {
			t.Fatalf("IPv6 left behind:\n%s", s)
		}
		if err := b.Cleanup(context.Background()); err != nil {
			t.Fatal(err)
		}
		if s := kernelState(t, netns, f, synth.IPv4); strings.Contains(s, "SVCNAT") {
			t.Fatalf("cleanup left:\n%s", s)
		}
		_ = before4
		_ = before6
	})
}

// TestApplyIdempotentOddComments re-applies names whose comments
// iptables-save prints in other forms: a namespace so long that the
// truncated comment has no space (printed bare), and quotes, backslashes,
// newlines and non-ASCII (sanitized). A comment that differed from the
// saved form made every sync rewrite the chain.
func TestApplyIdempotentOddComments(t *testing.T) {
	forEachFlavour(t, func(t *testing.T, netns string, mode Mode) {
		b := newBackend(t, netns, mode)
		rs := handRuleset()
		names := []string{strings.Repeat("n", 300), "a\"b\\c\nd é", "-A_x", ""}
		for i := range rs.Services {
			rs.Services[i].Name.Namespace = names[i%len(names)]
		}
		apply(t, b, rs)
		b.Reconcile()
		if st := apply(t, b, rs); st.Changes != 0 {
			t.Fatalf("re-apply after Reconcile changed %d things (want 0)", st.Changes)
		}
	})
}
