package nftables

import (
	"context"
	"net/netip"
	"slices"
	"testing"

	"github.com/svcnat/svcnat/backend"
	"github.com/svcnat/svcnat/backend/nftables/internal/nfnlfake"
	"github.com/svcnat/svcnat/internal/scenario"
	"github.com/svcnat/svcnat/synth"
)

// program applies rs through b: the one place these tests program a
// backend (changed nil: compare everything).
func program(t testing.TB, b *Backend, rs []*synth.Ruleset, changed *synth.Changes) backend.Stats {
	t.Helper()
	st, err := backend.Apply(context.Background(), b, rs, changed)
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	return st
}

// newFakeBackend returns a Backend over a fresh in-memory kernel.
func newFakeBackend(t testing.TB) (*Backend, *nfnlfake.Kernel) {
	t.Helper()
	k := nfnlfake.New()
	b, err := NewWithKernel(k)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b, k
}

// nodeLocal is the node's own addresses as the flow tables mean them
// (synth's tracer and the iptables simulator agree): loopback and the
// node IPs.
func nodeLocal(rs *synth.Ruleset) func(netip.Addr) bool {
	return func(a netip.Addr) bool { return a.IsLoopback() || slices.Contains(rs.NodeIPs, a) }
}

// traceFlow sends one row of a flow table through the fake kernel.
func traceFlow(k *nfnlfake.Kernel, res synth.Result, f scenario.Flow) (synth.Trace, []nfnlfake.Outcome, error) {
	rs := res.Ruleset(synth.FamilyOf(f.Dst.Addr()))
	if rs == nil {
		rs = &synth.Ruleset{}
	}
	p := nfnlfake.Packet{Src: f.Src.Unmap(), Proto: f.Proto.Number(), Dst: f.Dst, InIface: f.InIface}
	outs, err := k.Trace(p, nodeLocal(rs))
	return nfnlfake.Summarize(f.Src, outs), outs, err
}

// TestScenarioFlowsProgrammed checks every scenario's packet-flow table
// against the table the backend programs (plan and commit path) into the
// in-memory kernel, traced there: no root needed. The same tables run
// against synth's tracer, the iptables simulator, and as real traffic
// (TestScenarioTraffic, as root).
func TestScenarioFlowsProgrammed(t *testing.T) {
	for _, s := range scenario.All(t) {
		t.Run(s.Name, func(t *testing.T) {
			b, k := newFakeBackend(t)
			res := synth.Build(s.Input, s.Config)
			program(t, b, res.Rulesets(), nil)
			checked := 0
			for _, f := range s.Flows {
				if err := scenario.CheckTrace(f, res.Ruleset(synth.FamilyOf(f.Dst.Addr())).Trace(f.Packet())); err != nil {
					// The table disagrees with the tracer itself: the
					// scenario's problem, reported by synth's own test.
					t.Logf("flows.txt:%d: skipped, the tracer disagrees too: %v", f.Line, err)
					continue
				}
				tr, outs, err := traceFlow(k, res, f)
				if err == nil {
					err = scenario.CheckTrace(f, tr)
				}
				if err != nil {
					t.Errorf("flows.txt:%d %s: %v\nways: %+v", f.Line, f, err, outs)
				}
				checked++
			}
			if checked == 0 && len(s.Flows) > 0 {
				t.Errorf("no flow checked")
			}
			if t.Failed() {
				t.Logf("kernel tables:\n%s", k.Listing())
			}
		})
	}
}
