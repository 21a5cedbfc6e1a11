package nftables

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/svcnat/svcnat/backend"
	"github.com/svcnat/svcnat/synth"
)

// planFor plans rs on b, failing the test on an error.
func planFor(t *testing.T, b *Backend, rs ...*synth.Ruleset) backend.Plan {
	t.Helper()
	p, err := b.Plan(context.Background(), rs, nil)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestStalePlanRefused makes two plans against the same state: once the
// first is committed the second was computed against a state that is gone
// and must change nothing.
func TestStalePlanRefused(t *testing.T) {
	ns := newNetNS(t)
	b := newBackend(t, ns)
	mustApply(t, b, handRuleset())
	toB, backToA := planFor(t, b, handRulesetB()), planFor(t, b, handRuleset())
	if _, err := b.Commit(context.Background(), toB); err != nil {
		t.Fatal(err)
	}
	before := listing(t, ns)
	if _, err := b.Commit(context.Background(), backToA); !errors.Is(err, backend.ErrStalePlan) {
		t.Fatalf("Commit of a plan made before another Commit: %v, want ErrStalePlan", err)
	}
	if listing(t, ns) != before {
		t.Error("a refused plan changed the kernel")
	}
	beforeReconcile := planFor(t, b, handRuleset())
	b.Reconcile()
	if _, err := b.Commit(context.Background(), beforeReconcile); !errors.Is(err, backend.ErrStalePlan) {
		t.Errorf("Commit of a plan made before Reconcile: %v, want ErrStalePlan", err)
	}
	if _, err := b.Commit(context.Background(), planFor(t, newBackend(t, ns), handRuleset())); !errors.Is(err, backend.ErrStalePlan) {
		t.Errorf("Commit of another backend's plan: %v, want ErrStalePlan", err)
	}
}

// TestPlanStringIsWhatCommitSends checks that the plan's text is the
// transaction (nft accepts it and it leads to the same table) and that
// Empty and Full say what the plan is.
func TestPlanStringIsWhatCommitSends(t *testing.T) {
	ns, ref := newNetNS(t), newNetNS(t)
	b := newBackend(t, ns)
	first := planFor(t, b, handRuleset())
	if !first.Full() || first.Empty() {
		t.Fatalf("first plan: full %v, empty %v", first.Full(), first.Empty())
	}
	nftScript(t, ref, []byte(first.String()), false)
	if _, err := b.Commit(context.Background(), first); err != nil {
		t.Fatal(err)
	}
	if got, want := listing(t, ns), listing(t, ref); got != want {
		t.Errorf("the plan's text and its commit give different tables:\n%s\nvs\n%s", got, want)
	}
	again := planFor(t, b, handRuleset())
	if again.Full() || !again.Empty() || again.String() != "" {
		t.Errorf("plan of the applied state: full %v, empty %v, text %q", again.Full(), again.Empty(), again.String())
	}
}

// TestReconcileForcesFullPlan: the plan after Reconcile compares with the
// kernel, the one after its commit does not.
func TestReconcileForcesFullPlan(t *testing.T) {
	b := newBackend(t, newNetNS(t))
	mustApply(t, b, handRuleset())
	b.Reconcile()
	if p := planFor(t, b, handRuleset()); !p.Full() {
		t.Fatal("the plan after Reconcile is not full")
	}
	if st := mustApply(t, b, handRuleset()); !st.Full || st.Changes != 0 {
		t.Fatalf("commit after Reconcile: %+v", st)
	}
	if p := planFor(t, b, handRuleset()); p.Full() {
		t.Error("the plan after a reconciled commit is still full")
	}
}

// TestFailedCommitForcesFullPlan removes the table between an incremental
// plan and its commit: the commit fails, and the next plan compares with
// the kernel and rebuilds the table.
func TestFailedCommitForcesFullPlan(t *testing.T) {
	ns := newNetNS(t)
	b := newBackend(t, ns)
	mustApply(t, b, handRuleset())
	p := planFor(t, b, handRulesetB())
	if p.Full() {
		t.Fatal("the plan after a commit is full")
	}
	if out, err := nftIn(t, ns, "delete", "table", "ip", TableName); err != nil {
		t.Fatalf("nft: %v\n%s", err, out)
	}
	if _, err := b.Commit(context.Background(), p); err == nil {
		t.Fatal("a delta for a table that is gone was accepted")
	}
	next := planFor(t, b, handRulesetB())
	if !next.Full() || !strings.Contains(next.String(), "add table ip svcnat") {
		t.Fatalf("the plan after a failed commit: full %v\n%s", next.Full(), next)
	}
	if _, err := b.Commit(context.Background(), next); err != nil {
		t.Fatal(err)
	}
	if d, err := diffText(context.Background(), newBackend(t, ns), []*synth.Ruleset{handRulesetB()}); err != nil || len(d) != 0 {
		t.Errorf("the kernel does not hold B after the repair: %v\n%s", err, d)
	}
}
