package backend

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/svcnat/svcnat/synth"
)

func TestFirstPlanIsFull(t *testing.T) {
	var s State
	if !s.Ticket().Full() || s.Known() {
		t.Fatal("a new State must ask for a full comparison")
	}
	s.Committed()
	if s.Ticket().Full() || !s.Known() {
		t.Fatal("after a successful commit the next plan is incremental")
	}
}

func TestStalePlanRefused(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(s *State)
	}{
		{"another commit", (*State).Committed},
		{"reconcile", (*State).Reconcile},
		{"failed commit", (*State).Failed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s State
			s.Committed()
			old := s.Ticket()
			tc.change(&s)
			if err := s.Check(old); !errors.Is(err, ErrStalePlan) {
				t.Errorf("Check of a ticket from before %s = %v, want ErrStalePlan", tc.name, err)
			}
			if err := s.Check(s.Ticket()); err != nil {
				t.Errorf("Check of a fresh ticket: %v", err)
			}
		})
	}
}

func TestTicketOfAnotherStateRefused(t *testing.T) {
	var a, b State
	if err := b.Check(a.Ticket()); !errors.Is(err, ErrStalePlan) {
		t.Errorf("ticket of another State: %v, want ErrStalePlan", err)
	}
	if err := a.Check(Ticket{}); !errors.Is(err, ErrStalePlan) {
		t.Errorf("zero ticket: %v, want ErrStalePlan", err)
	}
}

func TestPlansDoNotChangeTheState(t *testing.T) {
	var s State
	s.Committed()
	first := s.Ticket()
	second := s.Ticket()
	if err := s.Check(first); err != nil {
		t.Errorf("making a second plan made the first stale: %v", err)
	}
	if err := s.Check(second); err != nil {
		t.Error(err)
	}
}

func TestReconcileForcesFull(t *testing.T) {
	var s State
	s.Committed()
	s.Reconcile()
	if !s.Ticket().Full() {
		t.Fatal("the plan after Reconcile must be full")
	}
	if !s.Known() || !s.ReconcileRequested() {
		t.Error("Reconcile keeps what is known (a backend may verify it cheaply) and asks for a check")
	}
	s.Committed()
	if s.Ticket().Full() || s.ReconcileRequested() {
		t.Error("a commit after Reconcile settles it: the next plan is incremental")
	}
}

func TestFailedCommitForcesFull(t *testing.T) {
	var s State
	s.Committed()
	s.Failed()
	if !s.Ticket().Full() || s.Known() {
		t.Fatal("after a failed commit the kernel may hold anything: the next plan is full")
	}
	s.Reconcile()
	s.Committed()
	if s.Ticket().Full() {
		t.Error("a successful commit makes the state known again")
	}
}

// stubBackend plans and commits through a State, counting commits.
type stubBackend struct {
	state   State
	commits int
}

type stubDetail string

func (d stubDetail) String() string { return string(d) }
func (d stubDetail) Empty() bool    { return d == "" }

func (b *stubBackend) Name() string                            { return "stub" }
func (b *stubBackend) Render([]*synth.Ruleset) ([]byte, error) { return nil, nil }
func (b *stubBackend) Plan(_ context.Context, rs []*synth.Ruleset, _ *synth.Changes) (Plan, error) {
	if len(rs) == 0 {
		return Plan{}, errors.New("nothing to plan")
	}
	return NewPlan(b.state.Ticket(), time.Now(), stubDetail("add something\n")), nil
}
func (b *stubBackend) Commit(_ context.Context, p Plan) (Stats, error) {
	if err := b.state.Check(p.Ticket()); err != nil {
		return Stats{}, err
	}
	b.commits++
	b.state.Committed()
	return Stats{Full: p.Full(), Changes: 1, Duration: time.Since(p.Started())}, nil
}
func (b *stubBackend) Reconcile()                    { b.state.Reconcile() }
func (b *stubBackend) Cleanup(context.Context) error { return nil }
func (b *stubBackend) Close() error                  { return nil }

func TestApplyIsPlanThenCommit(t *testing.T) {
	b := &stubBackend{}
	rs := []*synth.Ruleset{{Family: synth.IPv4}}
	st, err := Apply(t.Context(), b, rs, nil)
	if err != nil || !st.Full || b.commits != 1 {
		t.Fatalf("first Apply: %+v, %v, %d commits", st, err, b.commits)
	}
	if st, err := Apply(t.Context(), b, rs, &synth.Changes{}); err != nil || st.Full {
		t.Fatalf("second Apply: %+v, %v", st, err)
	}
	if _, err := Apply(t.Context(), b, nil, nil); err == nil || b.commits != 2 {
		t.Errorf("a failed Plan must not commit: %v, %d commits", err, b.commits)
	}
}

func TestZeroPlan(t *testing.T) {
	var p Plan
	if !p.Empty() || p.String() != "" || p.Full() {
		t.Errorf("zero Plan: empty %v, string %q, full %v", p.Empty(), p.String(), p.Full())
	}
	p = NewPlan(Ticket{}, time.Now(), stubDetail("x\n"))
	if p.Empty() || p.String() != "x\n" {
		t.Errorf("Plan does not report its detail: empty %v, string %q", p.Empty(), p.String())
	}
}
