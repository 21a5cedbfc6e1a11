package runner

import (
	"context"
	"time"

	"k8s.io/utils/clock"
)

// Reason tells the work function why it runs.
type Reason struct {
	// Changed is true when Trigger was called since the previous run started.
	Changed bool
	// Periodic is true when MaxInterval has passed since the previous
	// periodic run (or this is the first run).
	Periodic bool
	// Retry is true when the previous run failed.
	Retry bool
}

// Full reports whether the run should compare against the real state of
// the world instead of trusting caches: first and periodic runs, and
// retries after a failure.
func (r Reason) Full() bool { return r.Periodic || r.Retry }

// Func is the work. An error schedules a retry after the backoff.
type Func func(ctx context.Context, why Reason) error

// Config bounds how often Func runs. Zero fields take the defaults below.
type Config struct {
	MinInterval    time.Duration
	MaxInterval    time.Duration
	InitialBackoff time.Duration
	MaxBackoff     time.Duration
	Clock          clock.Clock
}

// Defaults for zero Config fields.
const (
	DefaultMinInterval    = 100 * time.Millisecond
	DefaultMaxInterval    = 30 * time.Second
	DefaultInitialBackoff = 500 * time.Millisecond
	DefaultMaxBackoff     = 30 * time.Second
)

func (c Config) withDefaults() Config {
	if c.MinInterval <= 0 {
		c.MinInterval = DefaultMinInterval
	}
	if c.MaxInterval <= 0 {
		c.MaxInterval = DefaultMaxInterval
	}
	if c.InitialBackoff <= 0 {
		c.InitialBackoff = DefaultInitialBackoff
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = DefaultMaxBackoff
	}
	if c.MaxBackoff < c.InitialBackoff {
		c.MaxBackoff = c.InitialBackoff
	}
	if c.Clock == nil {
		c.Clock = clock.RealClock{}
	}
	return c
}

// Runner runs a Func with bounded frequency. Create it with New, then call
// Loop once; Trigger may be called from any goroutine at any time.
type Runner struct {
	fn  Func
	cfg Config
	// kick has room for one token: a Trigger while one is pending is free
	// and never blocks, which is what coalesces bursts.
	kick chan struct{}
}

// New returns a Runner for fn.
func New(fn Func, cfg Config) *Runner {
	return &Runner{fn: fn, cfg: cfg.withDefaults(), kick: make(chan struct{}, 1)}
}

// Trigger marks work as pending. It never blocks.
func (r *Runner) Trigger() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// state is the loop's memory between runs; only Loop's goroutine touches it.
type state struct {
	lastStart    time.Time
	lastPeriodic time.Time
	changed      bool
	failing      bool
	backoff      time.Duration
}

// Loop runs fn immediately (a periodic, full run), then as scheduled,
// until ctx is done. It returns ctx's error.
func (r *Runner) Loop(ctx context.Context) error {
	st := state{changed: true}
	r.drainKick(&st)
	r.run(ctx, &st, true)
	for {
		wait, due := r.next(&st)
		if !due {
			if err := r.sleep(ctx, &st, wait); err != nil {
				return err
			}
			continue
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		r.run(ctx, &st, r.periodicDue(&st))
	}
}

// next returns how long to wait before the next run, or due=true when a
// run is due now.
func (r *Runner) next(st *state) (wait time.Duration, due bool) {
	now := r.cfg.Clock.Now()
	at := st.lastPeriodic.Add(r.cfg.MaxInterval)
	if st.changed || st.failing {
		earliest := st.lastStart.Add(r.cfg.MinInterval)
		if st.failing {
			earliest = st.lastStart.Add(max(r.cfg.MinInterval, st.backoff))
		}
		at = minTime(at, earliest)
	}
	if !now.Before(at) {
		return 0, true
	}
	return at.Sub(now), false
}

func (r *Runner) periodicDue(st *state) bool {
	return !r.cfg.Clock.Now().Before(st.lastPeriodic.Add(r.cfg.MaxInterval))
}

// sleep waits for d, a Trigger or ctx, whichever comes first.
func (r *Runner) sleep(ctx context.Context, st *state, d time.Duration) error {
	t := r.cfg.Clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-r.kick:
		st.changed = true
	case <-t.C():
	}
	return nil
}

func (r *Runner) drainKick(st *state) {
	select {
	case <-r.kick:
		st.changed = true
	default:
	}
}

func (r *Runner) run(ctx context.Context, st *state, periodic bool) {
	r.drainKick(st)
	why := Reason{Changed: st.changed, Periodic: periodic, Retry: st.failing}
	st.lastStart = r.cfg.Clock.Now()
	if periodic {
		st.lastPeriodic = st.lastStart
	}
	st.changed = false
	err := r.fn(ctx, why)
	if err == nil {
		st.failing, st.backoff = false, 0
		return
	}
	// A failed run leaves the work pending: the retry is a full run.
	st.failing = true
	if st.backoff == 0 {
		st.backoff = r.cfg.InitialBackoff
	} else {
		st.backoff = min(2*st.backoff, r.cfg.MaxBackoff)
	}
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
