package iptables

import (
	"context"
	"errors"
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

// TestPlanCommitStateMachine walks the shared state machine through the
// iptables backend: a stale plan changes nothing, Reconcile and a failed
// commit make the next plan full.
func TestPlanCommitStateMachine(t *testing.T) {
	forEachFlavour(t, func(t *testing.T, netns string, mode Mode) {
		b := newBackend(t, netns, mode)
		other := genRuleset(20, 2, 1)
		first := planFor(t, b, handRuleset())
		if !first.Full() || first.Empty() {
			t.Fatalf("first plan: full %v, empty %v", first.Full(), first.Empty())
		}
		stale := planFor(t, b, other)
		if _, err := b.Commit(context.Background(), first); err != nil {
			t.Fatal(err)
		}
		held := kernelState(t, netns, b.flavour, synth.IPv4)
		if _, err := b.Commit(context.Background(), stale); !errors.Is(err, backend.ErrStalePlan) {
			t.Fatalf("Commit of a plan made before another Commit: %v, want ErrStalePlan", err)
		}
		if kernelState(t, netns, b.flavour, synth.IPv4) != held {
			t.Error("a refused plan changed the kernel")
		}
		if p := planFor(t, b, handRuleset()); p.Full() || !p.Empty() || p.String() != "" {
			t.Errorf("plan of the applied state: full %v, empty %v, text %q", p.Full(), p.Empty(), p.String())
		}

		b.Reconcile()
		if p := planFor(t, b, handRuleset()); !p.Full() || !p.Empty() {
			t.Errorf("plan after Reconcile: full %v, empty %v (the kernel holds it)", p.Full(), p.Empty())
		}

		ctx, cancel := context.WithCancel(context.Background())
		p := planFor(t, b, other)
		cancel() // iptables-restore cannot run: the commit fails
		if _, err := b.Commit(ctx, p); err == nil {
			t.Fatal("a commit whose restore could not run succeeded")
		}
		if p := planFor(t, b, other); !p.Full() {
			t.Error("the plan after a failed commit is not full")
		}
	})
}
