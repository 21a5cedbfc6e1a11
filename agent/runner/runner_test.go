package runner

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

// recorder is a Func that records when it ran and why, relative to t0.
type recorder struct {
	mu      sync.Mutex
	t0      time.Time
	runs    []run
	fail    int           // fail this many runs first
	takes   time.Duration // each run sleeps this long
	running int
	overlap bool
}

type run struct {
	At  time.Duration
	Why Reason
}

func newRecorder() *recorder { return &recorder{t0: time.Now()} }

func (r *recorder) fn(ctx context.Context, why Reason) error {
	r.mu.Lock()
	r.running++
	r.overlap = r.overlap || r.running > 1
	r.runs = append(r.runs, run{At: time.Since(r.t0), Why: why})
	fail := len(r.runs) <= r.fail
	r.mu.Unlock()
	time.Sleep(r.takes)
	r.mu.Lock()
	r.running--
	r.mu.Unlock()
	if fail {
		return errors.New("injected failure")
	}
	return nil
}

func (r *recorder) got() []run {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]run(nil), r.runs...)
}

// start runs Loop in the synctest bubble and stops it at the end of the test.
func start(t *testing.T, rec *recorder, cfg Config) *Runner {
	t.Helper()
	r := New(rec.fn, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Loop(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Loop returned %v, want context.Canceled", err)
		}
	})
	synctest.Wait()
	return r
}

var (
	first    = Reason{Changed: true, Periodic: true}
	changed  = Reason{Changed: true}
	periodic = Reason{Periodic: true}
)

func check(t *testing.T, rec *recorder, want []run) {
	t.Helper()
	if diff := cmp.Diff(want, rec.got()); diff != "" {
		t.Errorf("runs (-want +got):\n%s", diff)
	}
}

func TestFirstRunIsImmediateAndFull(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := newRecorder()
		start(t, rec, Config{})
		check(t, rec, []run{{0, first}})
		if !first.Full() {
			t.Error("first run is not Full")
		}
	})
}

func TestBurstIsCoalesced(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := newRecorder()
		r := start(t, rec, Config{MinInterval: 100 * time.Millisecond})
		time.Sleep(time.Second)
		for range 50 {
			r.Trigger()
			time.Sleep(time.Millisecond)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		// The first trigger at 1s runs at once (100ms have passed since the
		// previous run); the other 49 are coalesced into one run 100ms later.
		check(t, rec, []run{{0, first}, {time.Second, changed}, {1100 * time.Millisecond, changed}})
	})
}

func TestMinInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := newRecorder()
		r := start(t, rec, Config{MinInterval: 100 * time.Millisecond})
		r.Trigger() // 0ms: too soon after the first run
		time.Sleep(150 * time.Millisecond)
		r.Trigger() // 150ms: 50ms after the run at 100ms
		time.Sleep(time.Second)
		synctest.Wait()
		check(t, rec, []run{{0, first}, {100 * time.Millisecond, changed}, {200 * time.Millisecond, changed}})
	})
}

func TestMaxInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := newRecorder()
		start(t, rec, Config{MaxInterval: 30 * time.Second})
		time.Sleep(95 * time.Second)
		synctest.Wait()
		check(t, rec, []run{{0, first}, {30 * time.Second, periodic}, {60 * time.Second, periodic}, {90 * time.Second, periodic}})
	})
}

// A steady stream of changes must not starve the periodic full run.
func TestPeriodicNotStarvedByChanges(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := newRecorder()
		r := start(t, rec, Config{MinInterval: time.Second, MaxInterval: 10 * time.Second})
		for range 25 {
			time.Sleep(time.Second)
			r.Trigger()
		}
		synctest.Wait()
		var full []time.Duration
		for _, run := range rec.got() {
			if run.Why.Periodic {
				full = append(full, run.At)
			}
		}
		want := []time.Duration{0, 10 * time.Second, 20 * time.Second}
		if diff := cmp.Diff(want, full); diff != "" {
			t.Errorf("periodic runs (-want +got):\n%s", diff)
		}
	})
}

func TestRetryWithBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := newRecorder()
		rec.fail = 4
		r := start(t, rec, Config{InitialBackoff: time.Second, MaxBackoff: 3 * time.Second, MaxInterval: time.Hour})
		time.Sleep(1500 * time.Millisecond)
		r.Trigger() // while failing, a change waits for the backoff too
		time.Sleep(20 * time.Second)
		synctest.Wait()
		retry := Reason{Retry: true}
		check(t, rec, []run{
			{0, first},
			{1 * time.Second, retry}, // backoff 1s
			{3 * time.Second, Reason{Changed: true, Retry: true}}, // 2s
			{6 * time.Second, retry},                              // 3s (capped)
			{9 * time.Second, retry},                              // 3s, succeeds
		})
	})
}

func TestNoConcurrentRuns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := newRecorder()
		rec.takes = 300 * time.Millisecond
		r := start(t, rec, Config{MinInterval: 100 * time.Millisecond})
		for range 20 {
			r.Trigger()
			time.Sleep(50 * time.Millisecond)
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if rec.overlap {
			t.Error("two runs overlapped")
		}
		// Runs start back to back, 300ms apart, while triggers keep coming.
		runs := rec.got()
		for i := 1; i < len(runs); i++ {
			if d := runs[i].At - runs[i-1].At; d < 300*time.Millisecond {
				t.Errorf("run %d started %v after the previous one", i, d)
			}
		}
		if len(runs) < 3 {
			t.Errorf("only %d runs", len(runs))
		}
	})
}
