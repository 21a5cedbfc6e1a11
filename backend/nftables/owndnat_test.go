package nftables

import (
	"context"
	"math"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/svcnat/svcnat/backend/nftables/internal/nfnlfake"
	"github.com/svcnat/svcnat/synth"
)

// withEndpoints returns oneBigService(total) with its first n endpoints.
func withEndpoints(total, n int) *synth.Ruleset {
	rs := oneBigService(total)
	eps := &rs.Services[0].ClusterEndpoints
	*eps = slices.Clip((*eps)[:n])
	return rs
}

// TestOwnDNATChain: a port with a long list balances in chains of its own;
// a change of the list's length inside its cell (sampledModuli) changes
// map elements only, a change across cells replaces the rules of the
// port's own DNAT chain in place (no chain created or deleted), and every
// step, also across ownDNATMin either way, gives the same table as a
// fresh apply.
func TestOwnDNATChain(t *testing.T) {
	total := ownDNATMin + 2 // 258 and 257 share the cell (256, 288]; 256 is in (240, 256]
	ns := newNetNS(t)
	b := newBackend(t, ns)
	mustApply(t, b, withEndpoints(total, total))
	if chains, flushed := changedChains(t, b, withEndpoints(total, total-1)); len(chains)+len(flushed) != 0 {
		t.Errorf("one endpoint less inside the cell changes chains %q and rules of %q", chains, flushed)
	}
	mustApply(t, b, withEndpoints(total, total-1))
	chains, flushed := changedChains(t, b, withEndpoints(total, total-2))
	if len(chains) != 0 || len(flushed) != 1 || !strings.HasPrefix(flushed[0], "dnat-BIGSERVICE000000-") {
		t.Errorf("across cells: chains %q changed and rules of %q replaced, want the port's own dnat chain's rules only", chains, flushed)
	}
	// Down below the threshold (shared chains) and back up, each step
	// compared with a fresh apply and with a new process's read-back.
	for _, n := range []int{total - 2, ownDNATMin - 1, ownDNATMin, total} {
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

// changedChains returns the chains the plan from b's state to rs adds or
// deletes, and those whose rules it replaces (flushes).
func changedChains(t *testing.T, b *Backend, rs *synth.Ruleset) (chains, flushed []string) {
	t.Helper()
	d, err := diffText(context.Background(), b, []*synth.Ruleset{rs})
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(d), "\n") {
		if strings.HasPrefix(line, "add chain") || strings.HasPrefix(line, "delete chain") {
			chains = append(chains, line)
		}
		if name, ok := strings.CutPrefix(line, "flush chain ip svcnat "); ok {
			flushed = append(flushed, name)
		}
	}
	return chains, flushed
}

// TestSampledModuli: for every long list length up to 100k, the rules'
// moduli are fixed over a cell of lengths, a draw misses with probability
// below 1/9, the last resort only draws filled slots, and every
// endpoint's share is within 0.02 % of 1/n.
func TestSampledModuli(t *testing.T) {
	cells := 0
	var prev []uint32
	for n := ownDNATMin; n <= 100_000; n++ {
		mods := sampledModuli(n)
		if len(mods) != sampledTries+1 {
			t.Fatalf("n=%d: %d rules, want %d", n, len(mods), sampledTries+1)
		}
		m, f := float64(mods[0]), float64(mods[sampledTries])
		if int(mods[0]) < n || int(mods[sampledTries]) > n {
			t.Fatalf("n=%d: moduli %v, want the tries' at or above n and the last resort's at or below", n, mods)
		}
		miss := (m - float64(n)) / m
		if miss >= 1.0/9 {
			t.Fatalf("n=%d: a draw misses with probability %.3f", n, miss)
		}
		q := math.Pow(miss, sampledTries) // every try missed
		low := ((1-q)/float64(n) + q/f) * float64(n)
		high := (1 - q) // slots at or above f
		if math.Abs(low-1) > 2e-4 || math.Abs(high-1) > 2e-4 {
			t.Fatalf("n=%d: shares %.6f / %.6f of 1/n", n, low, high)
		}
		if !slices.Equal(mods, prev) {
			cells++
		}
		prev = mods
	}
	// 16 cells per doubling at most: a list that grows from 256 to 100k
	// crosses a cell (and replaces its DNAT rules) fewer than 150 times.
	if cells > 150 {
		t.Errorf("%d cells between %d and 100k", cells, ownDNATMin)
	}
}

// TestOwnDNATReachesEveryEndpoint: traced through the fake kernel, the
// ClusterIP and the NodePort of a long list whose length is not on a cell
// boundary reach each endpoint and nothing else.
func TestOwnDNATReachesEveryEndpoint(t *testing.T) {
	total := ownDNATMin + 1
	rs := withEndpoints(total, total)
	b, k := newFakeBackend(t)
	program(t, b, []*synth.Ruleset{rs}, nil)
	want := map[netip.AddrPort]bool{}
	for _, ep := range rs.Services[0].ClusterEndpoints {
		want[ep.AddrPort()] = true
	}
	for _, dst := range []string{"10.96.0.10:80", "192.168.1.1:30080"} {
		p := nfnlfake.Packet{Src: netip.MustParseAddr("10.128.200.1"), Proto: 6, Dst: netip.MustParseAddrPort(dst)}
		outs, err := k.Trace(p, nodeLocal(rs))
		if err != nil {
			t.Fatal(err)
		}
		got := map[netip.AddrPort]bool{}
		for _, o := range outs {
			if !want[o.DNAT] {
				t.Fatalf("%s: a way ends %+v, not at an endpoint", dst, o)
			}
			got[o.DNAT] = true
		}
		if len(got) != len(want) {
			t.Errorf("%s reaches %d of %d endpoints", dst, len(got), len(want))
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
