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
	if got := applyMemoryLimit(klog.Background()); got != defaultMemoryLimit {
		t.Fatalf("limit = %d, want the default %d", got, defaultMemoryLimit)
	}
}

// GOMEMLIMIT (from a pod's memory limit, or "off") is the runtime's to
// apply: the agent leaves it alone.
func TestGOMEMLIMITOverridesTheDefault(t *testing.T) {
	restoreMemoryLimit(t)
	t.Setenv("GOMEMLIMIT", "off")
	debug.SetMemoryLimit(math.MaxInt64) // what the runtime made of "off"
	if got := applyMemoryLimit(klog.Background()); got != math.MaxInt64 {
		t.Fatalf("limit = %d, want GOMEMLIMIT's (none)", got)
	}
}
