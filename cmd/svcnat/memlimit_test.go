package main

import (
	"math"
	"os"
	"runtime/debug"
	"testing"

	"k8s.io/klog/v2"
)

// restoreMemoryLimit puts the process's limit back after the test.
func restoreMemoryLimit(t *testing.T) {
	prev := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(prev) })
}

func TestDefaultMemoryLimitWithoutGOMEMLIMIT(t *testing.T) {
	restoreMemoryLimit(t)
	t.Setenv("GOMEMLIMIT", "") // restored after the test
	os.Unsetenv("GOMEMLIMIT")
	debug.SetMemoryLimit(math.MaxInt64)
	if got, isDefault := applyMemoryLimit(klog.Background()); got != defaultMemoryLimit || !isDefault {
		t.Fatalf("limit = %d (default: %v), want the default %d", got, isDefault, defaultMemoryLimit)
	}
}

// GOMEMLIMIT (from a pod's memory limit, or "off") is the runtime's to
// apply: the agent leaves it alone.
func TestGOMEMLIMITOverridesTheDefault(t *testing.T) {
	restoreMemoryLimit(t)
	t.Setenv("GOMEMLIMIT", "off")
	debug.SetMemoryLimit(math.MaxInt64) // what the runtime made of "off"
	if got, isDefault := applyMemoryLimit(klog.Background()); got != math.MaxInt64 || isDefault {
		t.Fatalf("limit = %d (default: %v), want GOMEMLIMIT's (none)", got, isDefault)
	}
}

// TestRaisedLimit: a live heap well inside the default (a 10k cluster's
// ≈ 55 MB) keeps it; a larger one raises it so that the collector has
// room again, by the same rule as the cluster grows further.
func TestRaisedLimit(t *testing.T) {
	const mb = 1 << 20
	raised := func(live uint64) int64 { return int64(float64(live) / raisedShare) }
	for _, c := range []struct {
		live  uint64
		limit int64
		want  int64
		raise bool
	}{
		{55 * mb, defaultMemoryLimit, defaultMemoryLimit, false},
		{61 * mb, defaultMemoryLimit, defaultMemoryLimit, false}, // 0.69 of 88 MiB
		{66 * mb, defaultMemoryLimit, 110 * mb, true},
		{110 * mb, defaultMemoryLimit, raised(110 * mb), true}, // ≈ 183 MiB
		{110 * mb, raised(110 * mb), raised(110 * mb), false},
	} {
		got, raise := raisedLimit(c.live, c.limit)
		if raise != c.raise || got/mb != c.want/mb {
			t.Errorf("raisedLimit(%d MiB, %d MiB) = %d MiB, %v; want %d MiB, %v",
				c.live/mb, c.limit/mb, got/mb, raise, c.want/mb, c.raise)
		}
	}
}

// TestCollectAtTheLimitUntilReady: with a limit in force the collector's
// pacing is off until the agent is ready, then back; without a limit, or
// with GOGC set, it is left alone.
func TestCollectAtTheLimitUntilReady(t *testing.T) {
	restoreMemoryLimit(t)
	prevGC := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(prevGC) })
	t.Setenv("GOGC", "")
	os.Unsetenv("GOGC")

	debug.SetMemoryLimit(defaultMemoryLimit)
	ready := make(chan struct{})
	restored := collectAtTheLimitUntil(t.Context(), ready)
	if got := debug.SetGCPercent(-1); got != -1 {
		t.Fatalf("GOGC while starting = %d, want off", got)
	}
	close(ready)
	<-restored
	if got := debug.SetGCPercent(100); got != 100 {
		t.Fatalf("GOGC once ready = %d, want 100 again", got)
	}

	debug.SetMemoryLimit(math.MaxInt64) // GOMEMLIMIT=off
	<-collectAtTheLimitUntil(t.Context(), make(chan struct{}))
	if got := debug.SetGCPercent(100); got != 100 {
		t.Fatalf("GOGC without a limit = %d, want 100", got)
	}
}

// TestLimitFollowerWantsTwoChecks: a start or relist lifts the live heap
// above the share for seconds; only a heap above it at two checks in a
// row raises the limit, once.
func TestLimitFollowerWantsTwoChecks(t *testing.T) {
	const mb = 1 << 20
	f := limitFollower{limit: defaultMemoryLimit}
	for i, live := range []uint64{66 * mb, 52 * mb, 66 * mb, 52 * mb} {
		if got, ok := f.check(live); ok {
			t.Fatalf("check %d (%d MiB) raised the limit to %d MiB", i, live/mb, got/mb)
		}
	}
	if _, ok := f.check(110 * mb); ok {
		t.Fatal("raised after one check above the share")
	}
	got, ok := f.check(110 * mb)
	if want, _ := raisedLimit(110*mb, defaultMemoryLimit); !ok || got != want || f.limit != got {
		t.Fatalf("second check above the share: %d MiB, %v (limit %d MiB)", got/mb, ok, f.limit/mb)
	}
	if _, ok := f.check(110 * mb); ok {
		t.Fatal("raised again for the same heap")
	}
}
