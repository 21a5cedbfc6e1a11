package backend

import "errors"

// ErrStalePlan is returned by Commit for a Plan made before the backend's
// state last changed (another Commit, a failed Commit, Reconcile or
// Cleanup), or by another backend: its differences were computed against a
// state that is gone, so sending them could leave a mix of old and new.
var ErrStalePlan = errors.New("stale plan: the backend's state changed since it was made")

// State is the state machine every backend shares: whether the backend
// knows what the kernel holds (what its last successful Commit left), or
// must compare against the kernel's real state (the first plan, after
// Reconcile, after a failed Commit). Its generation changes with every
// transition, so that a Plan made before one is refused at Commit.
//
// State is not safe for concurrent use: backends guard it with the lock
// that serialises their own calls.
type State struct {
	gen       uint64
	known     bool // the last Commit succeeded and nothing made it doubtful since
	reconcile bool // Reconcile asked for the next plan to check the kernel
}

// Ticket identifies the State a Plan was made against.
type Ticket struct {
	state *State
	gen   uint64
	full  bool
}

// Full reports whether the plan must compare against the kernel's real
// state.
func (t Ticket) Full() bool { return t.full }

// Ticket returns the ticket for a plan made now.
func (s *State) Ticket() Ticket { return Ticket{state: s, gen: s.gen, full: s.MustCompare()} }

// Known reports whether the last Commit succeeded and no failure has
// happened since (Reconcile does not change it: a backend may confirm
// cheaply that the kernel still holds what it committed).
func (s *State) Known() bool { return s.known }

// ReconcileRequested reports whether Reconcile was called since the last
// successful Commit.
func (s *State) ReconcileRequested() bool { return s.reconcile }

// MustCompare reports whether the next plan is a full one: compared
// against the kernel rather than against the last Commit.
func (s *State) MustCompare() bool { return !s.known || s.reconcile }

// Check returns ErrStalePlan unless t was issued by s in its current
// generation.
func (s *State) Check(t Ticket) error {
	if t.state != s || t.gen != s.gen {
		return ErrStalePlan
	}
	return nil
}

// Committed records a successful Commit: the kernel holds what was planned.
func (s *State) Committed() { s.gen, s.known, s.reconcile = s.gen+1, true, false }

// Failed records a failed Commit or Cleanup: the kernel may hold anything.
func (s *State) Failed() { s.gen, s.known, s.reconcile = s.gen+1, false, false }

// Reconcile makes the next plan compare against the kernel and refuses the
// plans made before.
func (s *State) Reconcile() { s.gen, s.reconcile = s.gen+1, true }
