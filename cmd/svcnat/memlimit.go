package main

import (
	"os"
	"runtime/debug"

	"k8s.io/klog/v2"
)

// defaultMemoryLimit is the agent's soft memory limit when GOMEMLIMIT is
// not set. Without one, the Go runtime lets the heap grow to twice the live
// data before collecting (GOGC=100): at 10k Services × 10 endpoints the
// agent held ≈ 115 MB live and ≈ 295 MB resident (now ≈ 53 MB live). Near
// the limit the collector runs more often instead; the limit is soft, so a
// larger cluster's agent goes above it (spending at most the runtime's cap
// of half a CPU on collection) rather than failing. It is not lower because
// a relist after an API server outage briefly holds the list being decoded
// besides everything else: with 128 MiB the fleet test's relists at 10k
// took 11 and 23 s instead of 3 s, and with 100 MiB (8 nodes, informers
// streaming their lists) 41 s instead of 7 s and a restarted agent's first
// sync 34 s instead of 4.4 s: the collector ran without pause. A lower
// GOGC instead (25) kept the steady state near 126 MB but slowed the same
// relists to 23-27 s (docs/BENCHMARKS.md). kubeadm's
// kube-proxy DaemonSet, which svcnat replaces, sets no memory limit, hence
// a default here.
const defaultMemoryLimit = 160 << 20

// applyMemoryLimit sets defaultMemoryLimit unless GOMEMLIMIT is set (the
// runtime has applied it; "off" disables any limit). It returns the limit
// in force, for the log.
func applyMemoryLimit(logger klog.Logger) int64 {
	if _, set := os.LookupEnv("GOMEMLIMIT"); !set {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
	limit := debug.SetMemoryLimit(-1) // -1 reads without changing
	logger.V(2).Info("Go memory limit", "bytes", limit)
	return limit
}
