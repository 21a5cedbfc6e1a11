package nftables

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/svcnat/svcnat/synth"
)

// withEndpoints returns oneBigService(total) with its first n endpoints.
func withEndpoints(total, n int) *synth.Ruleset {
	rs := oneBigService(total)
	eps := &rs.Services[0].ClusterEndpoints
	*eps = slices.Clip((*eps)[:n])
	return rs
}

// TestOwnDNATChain: a port with a long list balances in chains of its own,
// whose rules are replaced in place when the list's length changes (no
// chain created or deleted), and crossing ownDNATMin either way gives the
// same table as a fresh apply.
func TestOwnDNATChain(t *testing.T) {
	total := ownDNATMin + 2
	ns := newNetNS(t)
	b := newBackend(t, ns)
	mustApply(t, b, withEndpoints(total, total))
	d, err := diffText(context.Background(), b, []*synth.Ruleset{withEndpoints(total, total-1)})
	if err != nil {
		t.Fatal(err)
	}
	var flushed []string
	for _, line := range strings.Split(string(d), "\n") {
		if strings.HasPrefix(line, "add chain") || strings.HasPrefix(line, "delete chain") {
			t.Errorf("one endpoint less changes chains: %q\n%s", line, d)
		}
		if name, ok := strings.CutPrefix(line, "flush chain ip svcnat "); ok {
			flushed = append(flushed, name)
		}
	}
	if len(flushed) != 1 || !strings.HasPrefix(flushed[0], "dnat-BIGSERVICE000000-") {
		t.Errorf("flushed chains %q, want the port's own dnat chain only:\n%s", flushed, d)
	}
	// Down below the threshold (shared chains) and back up, each step
	// compared with a fresh apply and with a new process's read-back.
	for _, n := range []int{total - 1, ownDNATMin - 1, ownDNATMin, total} {
		rs := withEndpoints(total, n)
		if st := mustApply(t, b, rs); st.Full || st.Changes == 0 {
			t.Errorf("%d endpoints: %+v, want incremental with changes", n, st)
		}
		fresh := newNetNS(t)
		mustApply(t, newBackend(t, fresh), rs)
		if got, want := listing(t, ns), listing(t, fresh); got != want {
			t.Fatalf("%d endpoints: incremental differs from fresh:\n%s", n, cmp.Diff(want, got))
		}
		if st := mustApply(t, newBackend(t, ns), rs); st.Changes != 0 {
			t.Errorf("%d endpoints: a new backend sends %d changes, want 0", n, st.Changes)
		}
	}
}

// TestOwnDNATChainRules: the own chain looks up only the maps the port
// fills, with the list's length as the modulus, and nft -f loads the same.
func TestOwnDNATChainRules(t *testing.T) {
	rs := withEndpoints(ownDNATMin, ownDNATMin)
	script, err := Render([]*synth.Ruleset{rs})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"meta l4proto tcp dnat ip to ip daddr . meta l4proto . th dport . numgen random mod 256 map @endpoints",
		"meta l4proto tcp dnat ip to meta l4proto . th dport . numgen random mod 256 map @nodeport-endpoints",
	} {
		if !strings.Contains(string(script), want) {
			t.Errorf("render lacks %q:\n%s", want, script)
		}
	}
	if strings.Contains(string(script), "chain dnat-256") || strings.Contains(string(script), "l4proto udp dnat") {
		t.Errorf("render has a shared DNAT chain or rules for other protocols:\n%s", script)
	}
	crossCheck(t, rs)
	noNodePort := withEndpoints(ownDNATMin, ownDNATMin)
	noNodePort.Services[0].NodePort = 0
	script, _ = Render([]*synth.Ruleset{noNodePort})
	if strings.Contains(string(script), "@nodeport-endpoints") {
		t.Errorf("a port without a NodePort looks up the NodePort map:\n%s", script)
	}
	crossCheck(t, noNodePort)
}
