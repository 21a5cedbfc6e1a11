package main

import (
	"context"
	"math"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"time"

	"k8s.io/klog/v2"
)

// defaultMemoryLimit is the agent's soft memory limit when GOMEMLIMIT is
// not set. Without one, the Go runtime lets the heap grow to twice the live
// data before collecting (GOGC=100), and keeps the pages of the largest
// heap it has grown to: at 10k Services × 10 endpoints the agent, ≈ 55 MB
// live, stayed ≈ 130 MB resident and peaked at the 160 MiB limit of the
// time (on a restart, when the rules read back from the kernel were alive
// beside everything else). Near the limit the collector runs more often
// instead: at 88 MiB, over a ≈ 52 MB live heap, every ≈ 4 s under the
// fleet test's churn and every ≈ 0.5 s while the agent relists, and the
// resident set of a node at 10k stays near 110 MB (docs/BENCHMARKS.md,
// ninth round). The limit is soft: a larger cluster's
// agent goes above it, and followMemoryLimit raises it so that such an
// agent does not collect back to back. kubeadm's kube-proxy DaemonSet,
// which svcnat replaces, sets no memory limit, hence a default here.
const defaultMemoryLimit = 88 << 20

// applyMemoryLimit sets defaultMemoryLimit unless GOMEMLIMIT is set (the
// runtime has applied it; "off" disables any limit). It returns the limit
// in force, for the log, and whether it is svcnat's default.
func applyMemoryLimit(logger klog.Logger) (int64, bool) {
	_, set := os.LookupEnv("GOMEMLIMIT")
	if !set {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
	limit := debug.SetMemoryLimit(-1) // -1 reads without changing
	logger.V(2).Info("Go memory limit", "bytes", limit)
	return limit, !set
}

// Raising the default limit: when the live heap stays above liveShare of
// the limit, the limit becomes live / raisedShare. At 10k Services the
// live heap is ≈ 52 MB of 92 (0.56): left alone. At 20k it is ≈ 110 MB:
// raised to ≈ 183 MB. The heap must be above the share at two checks in a
// row, followEvery apart: a start, a restart or a relist lifts it 10-15 MB
// for seconds (at 10k, to 66 MB, above the share), and those peaks are
// what the limit is there to bound.
const (
	liveShare   = 0.7
	raisedShare = 0.6
	followEvery = 15 * time.Second
)

// followMemoryLimit raises svcnat's default limit as the cluster grows,
// until ctx ends. It never lowers it: a cluster that shrank needs no
// collector working harder. An operator's GOMEMLIMIT is left alone.
func followMemoryLimit(ctx context.Context, logger klog.Logger, limit int64) {
	tick := time.NewTicker(followEvery)
	defer tick.Stop()
	f := limitFollower{limit: limit}
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		from := f.limit
		if raised, ok := f.check(liveHeap()); ok {
			logger.Info("Raising the Go memory limit: the cluster's state needs more than the default leaves to the collector (set GOMEMLIMIT to choose)",
				"liveHeapBytes", f.before, "from", from, "to", raised)
			debug.SetMemoryLimit(raised)
		}
	}
}

// limitFollower decides at each check whether the limit is raised.
type limitFollower struct {
	limit  int64
	before uint64 // the live heap at the last check
}

// check takes the live heap now; it returns the new limit when the heap
// was above the share at this check and the one before.
func (f *limitFollower) check(now uint64) (int64, bool) {
	live := min(f.before, now)
	f.before = now
	raised, ok := raisedLimit(live, f.limit)
	if ok {
		f.limit = raised
	}
	return raised, ok
}

// collectAtTheLimitUntil turns the collector's GOGC pacing off until
// ready closes (the agent's first sync is applied), when a memory limit is
// in force and GOGC is not set: until then only the limit starts a
// collection. At 10k Services the heap grows from 4 MB to ≈ 60 MB while
// the agent lists the cluster and builds its first rules; GOGC=100
// collected ≈ 25 times on the way, ≈ 10% of the CPU of a node's start,
// which is what a rebooted node waits for. The limit bounds the heap
// anyway; a small cluster's start never reaches it. The channel closes
// once the pacing is back (at once when it was left alone).
func collectAtTheLimitUntil(ctx context.Context, ready <-chan struct{}) <-chan struct{} {
	restored := make(chan struct{})
	if _, set := os.LookupEnv("GOGC"); set || debug.SetMemoryLimit(-1) == math.MaxInt64 {
		close(restored)
		return restored
	}
	prev := debug.SetGCPercent(-1)
	go func() {
		defer close(restored)
		select {
		case <-ready:
		case <-ctx.Done():
		}
		debug.SetGCPercent(prev)
	}()
	return restored
}

// raisedLimit returns the limit for a live heap of live bytes under limit,
// and whether that is a raise.
func raisedLimit(live uint64, limit int64) (int64, bool) {
	if float64(live) <= liveShare*float64(limit) {
		return limit, false
	}
	return int64(float64(live) / raisedShare), true
}

// liveHeap is the heap the last collection found alive, in bytes.
func liveHeap() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}
