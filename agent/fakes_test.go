package agent

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/svcnat/svcnat/agent/conntrack"
	"github.com/svcnat/svcnat/agent/source"
	"github.com/svcnat/svcnat/backend"
	"github.com/svcnat/svcnat/synth"
)

// fakeSource serves a settable state.
type fakeSource struct {
	mu     sync.Mutex
	st     source.State
	h      source.Handler
	synced chan struct{}
	ready  chan struct{} // closed when Run has a handler
}

func newFakeSource(in synth.Input) *fakeSource {
	return &fakeSource{st: source.State{Input: in}, synced: make(chan struct{}), ready: make(chan struct{})}
}

func (s *fakeSource) Run(ctx context.Context, h source.Handler) error {
	s.mu.Lock()
	s.h = h
	s.mu.Unlock()
	close(s.ready)
	<-ctx.Done()
	return nil
}

func (s *fakeSource) Synced() <-chan struct{} { return s.synced }

func (s *fakeSource) Snapshot() source.State {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st
}

// set replaces the state and notifies the agent.
func (s *fakeSource) set(in synth.Input, kinds ...source.Kind) {
	s.mu.Lock()
	s.st.Input = in
	h := s.h
	s.mu.Unlock()
	for _, k := range kinds {
		h.Changed(k)
	}
}

// call is one recorded Backend call.
type call struct {
	Op string // "apply", "reconcile", "cleanup"
	At time.Duration
}

// fakeBackend records calls; Commit fails while fail > 0.
type fakeBackend struct {
	mu       sync.Mutex
	t0       time.Time
	calls    []call
	last     []*synth.Ruleset
	fail     int
	applying int
	overlap  bool
	takes    time.Duration
	changed  []*synth.Changes // what each Plan was told
	closed   int
}

// fakePlan is the fake's backend.PlanDetail: the Rulesets to commit.
type fakePlan struct{ rs []*synth.Ruleset }

func (fakePlan) String() string { return "fake plan" }
func (fakePlan) Empty() bool    { return false }

// Plan records what changed; Commit does the work.
func (b *fakeBackend) Plan(_ context.Context, rs []*synth.Ruleset, changed *synth.Changes) (backend.Plan, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.changed = append(b.changed, changed)
	return backend.NewPlan(backend.Ticket{}, time.Now(), fakePlan{rs}), nil
}

func (b *fakeBackend) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed++
	return nil
}

func (b *fakeBackend) closes() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.closed
}

func (b *fakeBackend) changes() []*synth.Changes {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.changed)
}

func newFakeBackend() *fakeBackend { return &fakeBackend{t0: time.Now()} }

func (b *fakeBackend) record(op string) {
	b.calls = append(b.calls, call{op, time.Since(b.t0)})
}

// Name is "nftables": the agent registers that mode's metrics.
func (b *fakeBackend) Name() string                            { return "nftables" }
func (b *fakeBackend) Render([]*synth.Ruleset) ([]byte, error) { return nil, nil }

func (b *fakeBackend) Commit(_ context.Context, p backend.Plan) (backend.Stats, error) {
	rs := p.Detail().(fakePlan).rs
	b.mu.Lock()
	b.applying++
	b.overlap = b.overlap || b.applying > 1
	b.record("apply")
	fail := b.fail > 0
	if fail {
		b.fail--
	}
	b.mu.Unlock()
	time.Sleep(b.takes)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.applying--
	if fail {
		return backend.Stats{}, errors.New("injected failure")
	}
	b.last = rs
	return backend.Stats{Full: len(b.calls) > 1 && b.calls[len(b.calls)-2].Op == "reconcile", Rules: 7, Elements: 3, Changes: 1}, nil
}

// setFail makes the next n Commits fail.
func (b *fakeBackend) setFail(n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.fail = n
}

func (b *fakeBackend) Reconcile() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.record("reconcile")
}

func (b *fakeBackend) Cleanup(context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.record("cleanup")
	return nil
}

func (b *fakeBackend) got() []call {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]call(nil), b.calls...)
}

func (b *fakeBackend) rulesets() []*synth.Ruleset {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.last
}

// fakeConntrack records the flows it is asked to delete.
type fakeConntrack struct {
	mu    sync.Mutex
	flows [][]conntrack.Flow
}

func (c *fakeConntrack) Delete(flows []conntrack.Flow) (uint, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.flows = append(c.flows, flows)
	return uint(len(flows)), nil
}

func (c *fakeConntrack) take() [][]conntrack.Flow {
	c.mu.Lock()
	defer c.mu.Unlock()
	f := c.flows
	c.flows = nil
	return f
}

// TableCounts splits the 7 rules and 3 elements Apply reports between the
// families, all in one table.
func (b *fakeBackend) TableCounts(fn func(fam synth.Family, table string, rules, elements, written int)) {
	fn(synth.IPv4, "nat", 5, 2, 1)
	fn(synth.IPv6, "nat", 2, 1, 0)
}
