package flowtest

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/svcnat/svcnat/internal/scenario"
	"github.com/svcnat/svcnat/netns"
	"github.com/svcnat/svcnat/synth"
)

const (
	// dnatWait bounds one connection that must be answered; generous, so
	// that a lost first SYN is retransmitted (after 1s) on a loaded machine.
	dnatWait = 3 * time.Second
	// silentWait is how long DROP and unanswered ACCEPT rows wait.
	silentWait = 400 * time.Millisecond
	// rejectWait bounds REJECT rows. The kernel sends about one ICMP error
	// per second to a peer after a burst of six, so a client rejected many
	// times in a row hears of it only for its retransmission (TCP: 1s
	// later); IPv6 TCP ignores the error for the first SYN anyway
	// (netns.IsRefused).
	rejectWait = 2500 * time.Millisecond
	// affinityDials is how many connections must all reach the same
	// endpoint of a ClientIP-affinity Service.
	affinityDials = 6
)

// runFlow sends flow f for real and reports on t.
func (e *env) runFlow(t *testing.T, f scenario.Flow) {
	if why := e.skipReason(f); why != "" {
		t.Skipf("line %d (%s): %s", f.Line, f, why)
	}
	if err := e.checkInIface(f); err != nil {
		t.Fatalf("line %d (%s): %v", f.Line, f, err)
	}
	h, _ := e.hostOf(f.Src)
	ctx := context.Background()
	var err error
	switch f.Expect.Verdict {
	case synth.VerdictDNAT:
		err = e.checkDNAT(ctx, t, h, f)
	case synth.VerdictReject:
		err = checkReject(ctx, h, f)
	case synth.VerdictDrop:
		err = checkDrop(ctx, h, f)
	case synth.VerdictAccept:
		err = checkAccept(ctx, t, h, f)
	default:
		err = fmt.Errorf("unknown verdict %q", f.Expect.Verdict)
	}
	if err != nil {
		t.Errorf("line %d (%s, want %s %v masq %s): %v", f.Line, f, f.Expect.Verdict,
			f.Expect.Endpoints, f.Expect.Masq, err)
	}
}

// checkInIface makes sure the row tests what it claims: the tracer must
// take the same decisions for the packet as the row describes it (its
// iif column) and as the lab sends it (the interface it really comes in
// by on node-1).
func (e *env) checkInIface(f scenario.Flow) error {
	lab := f.Packet()
	lab.InIface = e.inIface(f.Src)
	if lab.InIface == f.InIface {
		return nil
	}
	rs := e.res.Ruleset(synth.FamilyOf(f.Dst.Addr()))
	row, real := rs.Trace(f.Packet()), rs.Trace(lab)
	if row.Verdict != real.Verdict || !slices.Equal(row.Endpoints, real.Endpoints) ||
		row.Masquerade != real.Masquerade || row.Hairpin != real.Hairpin {
		return fmt.Errorf("the row's packet comes in by %q, but in the lab it comes in by %q, which the rules treat differently",
			f.InIface, lab.InIface)
	}
	return nil
}

// skipReason says why the lab cannot send f faithfully, or "".
func (e *env) skipReason(f scenario.Flow) string {
	if f.Proto == synth.SCTP {
		if err := netns.CheckSCTP(); err != nil {
			return err.Error()
		}
	}
	if _, why := e.hostOf(f.Src); why != "" {
		return why
	}
	for _, ep := range f.Expect.Endpoints {
		if !e.inCluster(ep.Addr()) {
			return fmt.Sprintf("endpoint %s is outside both nodes' pod CIDRs", ep)
		}
		if why := e.noServer[ep]; why != "" {
			return fmt.Sprintf("no server on %s: %s", ep, why)
		}
	}
	return ""
}

// checkDNAT connects until every expected endpoint has answered.
func (e *env) checkDNAT(ctx context.Context, t *testing.T, h *netns.Host, f scenario.Flow) error {
	if e.affinity(f) {
		return e.checkAffinity(ctx, t, h, f)
	}
	want := len(f.Expect.Endpoints)
	seen := map[netip.AddrPort]int{}
	tries := max(30, 20*want)
	for i := 0; i < tries && len(seen) < want; i++ {
		r, err := e.answer(ctx, h, f)
		if err != nil {
			return fmt.Errorf("connection %d: %w", i+1, err)
		}
		seen[r.Server]++
	}
	if len(seen) < want {
		return fmt.Errorf("after %d connections only %v answered", tries, seen)
	}
	t.Logf("answers per endpoint: %v", seen)
	return nil
}

// checkAffinity expects every connection to reach the same endpoint.
func (e *env) checkAffinity(ctx context.Context, t *testing.T, h *netns.Host, f scenario.Flow) error {
	var first netip.AddrPort
	for i := range affinityDials {
		r, err := e.answer(ctx, h, f)
		if err != nil {
			return fmt.Errorf("connection %d: %w", i+1, err)
		}
		if i == 0 {
			first = r.Server
		} else if r.Server != first {
			return fmt.Errorf("session affinity: connection %d reached %s, the first reached %s", i+1, r.Server, first)
		}
	}
	t.Logf("session affinity: %d connections all reached %s", affinityDials, first)
	return nil
}

// affinity reports whether f hits a ServicePort with ClientIP affinity.
func (e *env) affinity(f scenario.Flow) bool {
	rs := e.res.Ruleset(synth.FamilyOf(f.Dst.Addr()))
	tr := rs.Trace(f.Packet())
	if tr.Service == nil {
		return false
	}
	for i := range rs.Services {
		if rs.Services[i].Name == *tr.Service {
			return rs.Services[i].AffinitySeconds > 0
		}
	}
	return false
}

// answer makes one connection, which an expected endpoint must answer
// seeing the expected source.
func (e *env) answer(ctx context.Context, h *netns.Host, f scenario.Flow) (netns.Reply, error) {
	r, err := dial(ctx, h, f.Proto, f.Src, f.Dst, dnatWait)
	if err != nil {
		return r, err
	}
	for _, ep := range f.Expect.Endpoints {
		if r.Server == ep {
			return r, e.checkMasq(f, r)
		}
	}
	return r, fmt.Errorf("answered by %s, not an expected endpoint", r.Server)
}

// checkMasq compares the source the server saw with the masq column.
func (e *env) checkMasq(f scenario.Flow, r netns.Reply) error {
	masq := f.Expect.Masq
	if masq == "hairpin" {
		masq = "no"
		if r.Server.Addr() == f.Src {
			masq = "yes"
		}
	}
	seen := r.SeenSource.Addr()
	switch {
	case masq == "yes" && !e.isNodeAddr(seen):
		return fmt.Errorf("%s saw source %s, want node-1's address (masquerade)", r.Server, r.SeenSource)
	case masq == "no" && seen != f.Src:
		return fmt.Errorf("%s saw source %s, want the original %s (no masquerade)", r.Server, r.SeenSource, f.Src)
	}
	return nil
}

func checkReject(ctx context.Context, h *netns.Host, f scenario.Flow) error {
	r, err := dial(ctx, h, f.Proto, f.Src, f.Dst, rejectWait)
	switch {
	case err == nil:
		return fmt.Errorf("answered by %s (saw %s), want refused", r.Server, r.SeenSource)
	case !netns.IsRefused(err):
		return fmt.Errorf("want refused: %w", err)
	}
	return nil
}

func checkDrop(ctx context.Context, h *netns.Host, f scenario.Flow) error {
	r, err := dial(ctx, h, f.Proto, f.Src, f.Dst, silentWait)
	switch {
	case err == nil:
		return fmt.Errorf("answered by %s (saw %s), want no answer", r.Server, r.SeenSource)
	case netns.IsRefused(err) || !netns.IsTimeout(err):
		return fmt.Errorf("want no answer: %w", err)
	}
	return nil
}

// checkAccept passes when no Service endpoint answered through DNAT: the
// connection is refused, times out, or reaches the destination itself.
func checkAccept(ctx context.Context, t *testing.T, h *netns.Host, f scenario.Flow) error {
	r, err := dial(ctx, h, f.Proto, f.Src, f.Dst, silentWait)
	switch {
	case err == nil && r.Server != f.Dst:
		return fmt.Errorf("answered by %s through DNAT (saw %s), want no svcnat rule", r.Server, r.SeenSource)
	case err == nil:
		t.Logf("answered by the destination itself")
	case netns.IsRefused(err) || netns.IsTimeout(err):
		t.Logf("not answered: %v", err)
	default:
		return err
	}
	return nil
}
